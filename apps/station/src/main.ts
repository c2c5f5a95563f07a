#!/usr/bin/env node
import { runService } from '@earshot/service';
import { loadEnv } from './env.js';
import { createLogger, startStation } from './service.js';

// Entry point: `pnpm --filter @earshot/station start`. Signals, the 30 s shutdown deadline and the
// exit codes are @earshot/service's (see the README).
await runService({
  name: 'earshot-station',
  loadEnv: () => loadEnv(),
  createLogger: (env) => createLogger(env.LOG_LEVEL),
  start: startStation,
});
