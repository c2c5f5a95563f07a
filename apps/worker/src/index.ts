/**
 * @earshot/worker: the finalization worker. `createWorker` for in-process use (tests, the embedded
 * all-in-one start); `startWorker` for the service (`pnpm --filter @earshot/worker start`).
 */
export { type BatcherOptions, FinalizeBatcher } from './batcher.js';
export { loadWorkerEnv, type WorkerEnv, workerEnvSchema } from './env.js';
export { type HttpServerHandle, startHttpServer } from './http.js';
export { createMetrics, type WorkerMetrics } from './metrics.js';
export { createLogger, startWorker } from './service.js';
export {
  type CreateWorkerOptions,
  createWorker,
  type FinalizeWorker,
  type WorkerHealth,
} from './worker.js';
