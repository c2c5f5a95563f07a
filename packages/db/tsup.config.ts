import { defineConfig } from 'tsup';

export default defineConfig({
  // The testing entry keeps its dist name (dist/testing.js), which the exports map points at.
  entry: { index: 'src/index.ts', schema: 'src/schema.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
});
