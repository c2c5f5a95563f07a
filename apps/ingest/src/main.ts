#!/usr/bin/env node
import { loadEnv } from './env.js';
import { createLogger, startIngest } from './server.js';

// Entry point: `pnpm --filter @earshot/ingest start` (dist) or `dev` (tsx, from source).
async function main(): Promise<void> {
  let env: ReturnType<typeof loadEnv>;
  try {
    env = loadEnv();
  } catch (err) {
    console.error(`earshot-ingest: ${(err as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger(env.LOG_LEVEL);
  const running = await startIngest(env, logger);
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(1); // a second signal: do not wait
    logger.info({ signal }, 'signal received');
    // A database that stops answering must not keep the process forever: nothing unacknowledged
    // is lost by exiting (clients retry what got no 2xx).
    setTimeout(() => {
      logger.error('shutdown did not finish in 30 s (database not answering?); exiting');
      process.exit(1);
    }, 30_000).unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error('earshot-ingest failed to start:', err);
  process.exit(1);
});
