#!/usr/bin/env node
import { runService } from '@earshot/service';
import { loadWorkerEnv } from './env.js';
import { createLogger, startWorker } from './service.js';

// Entry point: `pnpm --filter @earshot/worker start`. Signals, the shutdown deadline and the exit
// codes are @earshot/service's (see the README). 60 s: the BullMQ worker alone may take 30 s to
// finish its jobs, then the queue, Redis and the database close.
await runService({
  name: 'earshot-worker',
  loadEnv: () => loadWorkerEnv(),
  createLogger: (env) => createLogger(env.LOG_LEVEL),
  start: startWorker,
  shutdownMs: 60_000,
});
