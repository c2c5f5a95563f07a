import { createVitestConfig } from '@earshot/vitest-config';

export default createVitestConfig();
