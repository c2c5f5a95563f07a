#!/usr/bin/env node
import { runService } from '@earshot/service';
import { loadEnv } from './env.js';
import { createLogger, startIngest } from './service.js';

// Entry point: `pnpm --filter @earshot/ingest start` (dist) or `dev` (tsx, from source). Signals,
// the 30 s shutdown deadline and the exit codes are @earshot/service's (see the README).
await runService({
  name: 'earshot-ingest',
  loadEnv: () => loadEnv(),
  createLogger: (env) => createLogger(env.LOG_LEVEL),
  start: startIngest,
  shutdownMs: 30_000,
});
