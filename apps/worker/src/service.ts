import { createDb, readComponentSettings, writeComponentSettings } from '@earshot/db';
import { pino } from 'pino';
import { loadWorkerEnv } from './env.js';
import { startHttpServer } from './http.js';
import { createWorker } from './worker.js';

/**
 * Runs the worker as a service: reads the environment, opens the database (migrating it), starts
 * BullMQ consumption (when REDIS_URL is set) and the sweep, serves /healthz and /metrics on PORT,
 * and shuts down cleanly on SIGTERM or SIGINT (a second signal exits at once).
 */
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = loadWorkerEnv(env);
  const logger = pino({ name: 'earshot-worker', level: config.LOG_LEVEL, redact: ['*.password', '*.token'] });
  const db = await createDb({
    url: config.DATABASE_URL,
    dataDir: config.EARSHOT_DATA_DIR,
    maxConnections: config.EARSHOT_DB_POOL,
    logger: logger.child({ component: 'db' }),
  });
  const settings = {
    idleS: config.EARSHOT_IDLE_S,
    maxSessionS: config.EARSHOT_MAX_SESSION_S,
    minSessionS: config.EARSHOT_MIN_SESSION_S,
  };
  // The stored rows were cut with the settings recorded here: a worker with others would mix two
  // definitions of a session in one table without anyone noticing.
  const stored = await readComponentSettings<typeof settings>(db, 'finalize');
  const differs =
    stored !== undefined &&
    (stored.settings.idleS !== settings.idleS ||
      stored.settings.maxSessionS !== settings.maxSessionS ||
      stored.settings.minSessionS !== settings.minSessionS);
  if (differs && config.EARSHOT_SETTINGS_CHANGE !== 'accept') {
    logger.fatal(
      { stored: stored.settings, running: settings },
      'the stored sessions were finalized with other session settings; start with the same EARSHOT_IDLE_S, EARSHOT_MIN_SESSION_S and EARSHOT_MAX_SESSION_S, or set EARSHOT_SETTINGS_CHANGE=accept to record the new ones (rows already stored keep the old ones)',
    );
    await db.close();
    process.exitCode = 2;
    return;
  }
  if (!stored || differs) await writeComponentSettings(db, 'finalize', settings);
  const worker = createWorker({
    db,
    settings,
    setAsideRetryMs: config.EARSHOT_SET_ASIDE_RETRY_S * 1000,
    redisUrl: config.REDIS_URL,
    queueName: config.EARSHOT_FINALIZE_QUEUE,
    prefix: config.EARSHOT_QUEUE_PREFIX,
    concurrency: config.EARSHOT_WORKER_CONCURRENCY,
    batchSize: config.EARSHOT_FINALIZE_BATCH,
    transactions: config.EARSHOT_FINALIZE_TRANSACTIONS,
    sweepIntervalMs: config.EARSHOT_SWEEP_S * 1000,
    logger,
  });
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const results = await Promise.allSettled([worker.close(), http?.close()]);
    process.exitCode = results.some((r) => r.status === 'rejected') ? 1 : 0;
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    await worker.start();
    http = await startHttpServer(worker, config.PORT);
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'worker failed to start');
    await worker.close();
    process.exitCode = 1;
    return;
  }
  logger.info(
    { port: http.port, db: db.location, redis: config.REDIS_URL ? 'on' : 'off (sweep only)' },
    `worker listening on :${http.port}`,
  );
}
