import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/cli.ts', 'src/read-thread.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
});
