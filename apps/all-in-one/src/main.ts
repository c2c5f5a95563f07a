#!/usr/bin/env node
import { runService } from '@earshot/service';
import { loadEnv } from './env.js';
import { createLogger, startEarshot } from './service.js';

// Entry point: `pnpm start` at the root. Signals, the shutdown deadline and the exit codes are
// @earshot/service's (see the README). 60 s: the close runs the station's, ingest's and the
// worker's in turn (the BullMQ worker alone may take 30 s).
await runService({
  name: 'earshot',
  loadEnv: () => loadEnv(),
  createLogger: (env) => createLogger(env.LOG_LEVEL),
  start: startEarshot,
  shutdownMs: 60_000,
});
