import { createVitestConfig } from '@earshot/vitest-config';

export default createVitestConfig({ testTimeout: 120_000 });
