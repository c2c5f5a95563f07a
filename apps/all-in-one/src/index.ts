export { type AllInOneEnv, allInOneEnvSchema, loadEnv } from './env.js';
export { type AllInOneOptions, loadOrCreateSalt, type RunningAllInOne, startAllInOne } from './start.js';
