import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  // The CommonJS build finds the IP database's package through `import.meta.url` too.
  shims: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'node',
});
