import { agentRulesOf } from '@earshot/contract';
import {
  createDb,
  type FinalizeSettings,
  readComponentSettings,
  sameFinalizeSettings,
  writeComponentSettings,
} from '@earshot/db';
import { ConfigError, type RunningService } from '@earshot/service';
import { type Logger, pino } from 'pino';
import type { WorkerEnv } from './env.js';
import { startHttpServer } from './http.js';
import { createWorker } from './worker.js';

/** The root logger of the worker service. */
export function createLogger(level: string): Logger {
  return pino({ name: 'earshot-worker', level, redact: ['*.password', '*.token'] });
}

/**
 * Runs the worker as a service (main.ts gives it the lifecycle): opens the database (migrating it),
 * starts BullMQ consumption (when REDIS_URL is set) and the sweep, and serves /healthz and /metrics
 * on PORT. Refuses (ConfigError: exit 2) session settings other than the stored rows were cut with.
 */
export async function startWorker(config: WorkerEnv, logger: Logger): Promise<RunningService> {
  const db = await createDb({
    url: config.DATABASE_URL,
    dataDir: config.EARSHOT_DATA_DIR,
    maxConnections: config.EARSHOT_DB_POOL,
    logger: logger.child({ component: 'db' }),
  });
  const settings: FinalizeSettings = {
    idleS: config.EARSHOT_IDLE_S,
    maxSessionS: config.EARSHOT_MAX_SESSION_S,
    minSessionS: config.EARSHOT_MIN_SESSION_S,
    agents: agentRulesOf(config),
  };
  // The stored rows were cut and classified with the settings recorded here: a worker with others
  // would mix two definitions of a session in one table without anyone noticing.
  const stored = await readComponentSettings<FinalizeSettings>(db, 'finalize');
  const differs = stored !== undefined && !sameFinalizeSettings(stored.settings, settings);
  if (differs && config.EARSHOT_SETTINGS_CHANGE !== 'accept') {
    await db.close();
    throw new ConfigError(
      'the stored sessions were finalized with other session settings; start with the same EARSHOT_IDLE_S, EARSHOT_MIN_SESSION_S, EARSHOT_MAX_SESSION_S and EARSHOT_BOT_AGENTS, EARSHOT_RELAY_AGENTS, EARSHOT_MONITOR_AGENTS, or set EARSHOT_SETTINGS_CHANGE=accept to record the new ones (rows already stored keep the old ones)',
      { stored: stored.settings, running: settings },
    );
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
  try {
    await worker.start();
    http = await startHttpServer(worker, config.PORT);
  } catch (error) {
    await worker.close();
    throw error;
  }
  logger.info(
    { port: http.port, db: db.location, redis: config.REDIS_URL ? 'on' : 'off (sweep only)' },
    `worker listening on :${http.port}`,
  );
  const server = http;
  return {
    // Both steps run even if the other fails; the close fails (exit 1) if either did.
    async close() {
      const results = await Promise.allSettled([worker.close(), server.close()]);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
