import { createEnricher, openGeoDatabase } from '@earshot/audience';
import { ipRangesOf } from '@earshot/contract';
import { createDb, type IngestSettings, writeComponentSettings } from '@earshot/db';
import { serveApp } from '@earshot/service';
import pino, { type Logger } from 'pino';
import { createApp, type IngestApp } from './app.js';
import type { IngestEnv } from './env.js';
import { createMetrics } from './metrics.js';

export interface RunningIngest {
  /** `http://host:port` the server listens on. */
  url: string;
  /** The address it listens on (HOST, resolved: `127.0.0.1` by default). */
  host: string;
  port: number;
  ingest: IngestApp;
  /** Graceful stop: refuse new work, finish in-flight batches, close HTTP, Redis and the database. Idempotent. */
  close(): Promise<void>;
}

/** The root logger: JSON lines, tokens and IPs redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'earshot-ingest' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token', 'tokens', 'ip', '*.ip'],
      censor: '[redacted]',
    },
  });
}

/** Opens the database and Redis from `env` and serves ingest until close(). */
export async function startIngest(env: IngestEnv, logger: Logger): Promise<RunningIngest> {
  const db = await createDb({
    url: env.DATABASE_URL,
    dataDir: env.EARSHOT_DATA_DIR,
    logger: logger.child({ component: 'db' }),
    maxConnections: env.EARSHOT_DB_POOL,
  });
  // Other processes (retention, the session_state prune) read the window ingest accepts events in
  // from the database rather than trusting their own environment. Not being able to record it
  // must not stop ingest: they fall back to their own settings.
  const settings: IngestSettings = {
    maxEventAgeS: env.EARSHOT_MAX_EVENT_AGE_S,
    maxEventAheadS: env.EARSHOT_MAX_EVENT_AHEAD_S,
  };
  try {
    await writeComponentSettings(db, 'ingest', settings);
  } catch (err) {
    logger.warn({ err, settings }, 'could not record ingest settings in earshot_settings; ingest goes on');
  }
  // BullMQ and ioredis are loaded only when there is a Redis to talk to.
  const scheduler = env.REDIS_URL
    ? (await import('./schedule.js')).createScheduler({
        redisUrl: env.REDIS_URL,
        idleS: env.EARSHOT_IDLE_S,
        timeoutMs: env.EARSHOT_SCHEDULE_TIMEOUT_MS,
        queueName: env.EARSHOT_FINALIZE_QUEUE,
        prefix: env.EARSHOT_QUEUE_PREFIX,
        logger,
      })
    : undefined;
  if (!env.EARSHOT_LISTENER_SALT) {
    logger.warn('EARSHOT_LISTENER_SALT is not set: batches with an ip but no listener will be refused (400)');
  }
  const ingest = createApp({
    db,
    tokens: env.EARSHOT_INGEST_TOKENS,
    metricsTokens: env.EARSHOT_METRICS_TOKENS,
    idleS: env.EARSHOT_IDLE_S,
    listenerSalt: env.EARSHOT_LISTENER_SALT,
    enrich: createEnricher({ geo: openGeoDatabase(), ranges: ipRangesOf(env) }),
    maxBodyBytes: env.EARSHOT_MAX_BODY_BYTES,
    maxBatch: env.EARSHOT_MAX_BATCH,
    maxEventAgeS: env.EARSHOT_MAX_EVENT_AGE_S,
    maxEventAheadS: env.EARSHOT_MAX_EVENT_AHEAD_S,
    maxBatchDays: env.EARSHOT_MAX_BATCH_DAYS,
    maxBytesPerS: env.EARSHOT_MAX_BYTES_PER_S,
    group: {
      windowMs: env.EARSHOT_GROUP_WINDOW_MS,
      maxEvents: env.EARSHOT_GROUP_MAX_EVENTS,
      concurrency: env.EARSHOT_GROUP_CONCURRENCY,
      timeoutMs: env.EARSHOT_COMMIT_TIMEOUT_MS,
      maxQueueEvents: env.EARSHOT_QUEUE_MAX_EVENTS,
      maxQueueBytes: env.EARSHOT_QUEUE_MAX_BYTES,
    },
    scheduler,
    metrics: createMetrics(),
    logger,
  });

  // Requests in flight get 15 s to finish (their groups commit) before their connections close.
  const http = await serveApp({ fetch: ingest.app.fetch, port: env.PORT, host: env.HOST, graceMs: 15_000 });
  const { url, host, port } = http;
  logger.info(
    { host, port, database: db.location, redis: env.REDIS_URL ? 'on' : 'off (the worker sweep schedules)' },
    `ingest listening on ${url}`,
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('ingest stopping: finishing in-flight batches');
      const steps: [string, () => Promise<unknown>][] = [
        ['http', () => Promise.all([http.close(), ingest.drain()])],
        ['redis', () => scheduler?.close() ?? Promise.resolve()],
        ['database', () => db.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          logger.error({ err, step: name }, 'shutdown step failed');
        }
      }
      logger.info('ingest stopped');
    })();
    return closing;
  };
  return { url, host, port, ingest, close };
}
