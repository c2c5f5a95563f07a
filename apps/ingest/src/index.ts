export { createApp, type IngestApp, type IngestDeps } from './app.js';
export { type IngestEnv, ingestEnvSchema, loadEnv } from './env.js';
export { type CommitOutcome, GroupCommitter, StoreUnavailableError } from './group-commit.js';
export { listenerKey, listenerNetwork } from './listener.js';
export { createMetrics, type IngestMetrics } from './metrics.js';
export { openApiDocument } from './openapi.js';
export { createScheduler, type Scheduler } from './schedule.js';
export { createLogger, type RunningIngest, startIngest } from './server.js';
