import { createVitestConfig } from '@earshot/vitest-config';

export default createVitestConfig({ testTimeout: 60_000 });
