export { createApp, type IngestApp, type IngestDeps } from './app.js';
export { SHORT_EVENT_ALLOWANCE_BYTES } from './check-batch.js';
export { type IngestEnv, ingestEnvSchema, loadEnv } from './env.js';
export {
  type CommitOutcome,
  GroupCommitter,
  QueueFullError,
  type QueueLoad,
  StoreUnavailableError,
} from './group-commit.js';
export { listenerKey, listenerNetwork } from './listener.js';
export { createMetrics, type IngestMetrics } from './metrics.js';
export { openApiDocument } from './openapi.js';
export { createScheduler, type RedisHealth, type Scheduler } from './schedule.js';
export { createLogger, type RunningIngest, startIngest } from './service.js';
