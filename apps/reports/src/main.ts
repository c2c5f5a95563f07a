#!/usr/bin/env node
import { runService } from '@earshot/service';
import { loadReportsEnv } from './env.js';
import { createLogger, startReports } from './service.js';

// Entry point: `pnpm --filter @earshot/reports start`. Signals, the 30 s shutdown deadline and the
// exit codes are @earshot/service's (see the README).
await runService({
  name: 'earshot-reports',
  loadEnv: () => loadReportsEnv(),
  createLogger: (env) => createLogger(env.LOG_LEVEL),
  start: startReports,
});
