import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/cli.ts', 'src/read-thread.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  // Every command parses the environment with zod first. Loaded from node_modules, zod is about 95
  // files (0.15 s of CPU and 14 MB before `earshot report` reads a line); bundled and tree-shaken
  // with the environment schema it is one file of the parts in use. @earshot/contract is bundled so
  // that its schema shares this copy of zod.
  noExternal: ['zod', '@earshot/contract'],
});
