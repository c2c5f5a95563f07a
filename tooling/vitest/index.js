// Shared vitest setup: unit tests (`*.test.ts`) and integration tests that need
// PostgreSQL or Redis (`*.int.test.ts`) run as two projects, so `vitest --project unit`
// works on a machine without services.
import { defineConfig } from 'vitest/config';

/** @param {{ testTimeout?: number }} [options] */
export function createVitestConfig(options = {}) {
  return defineConfig({
    test: {
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      projects: [
        {
          extends: true,
          test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['**/*.int.test.ts', '**/node_modules/**'] },
        },
        {
          extends: true,
          test: { name: 'int', include: ['src/**/*.int.test.ts', 'test/**/*.int.test.ts'], fileParallelism: false },
        },
      ],
    },
  });
}
