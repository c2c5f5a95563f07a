import type { IncomingMessage } from 'node:http';
import { createEnricher, type Enricher, geoInfo, openGeoDatabase } from '@earshot/audience';
import { type Db, insertTracks } from '@earshot/db';
import { bearerAuth, httpError, jsonErrors, withTimeout } from '@earshot/service';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import pino, { type Logger } from 'pino';
import { Gauge } from 'prom-client';
import { BodyError, bodyFormatOf, isGzip, parseItems, readBody } from './body.js';
import { type BatchLimits, checkBatch } from './check-batch.js';
import { checkTracks } from './check-tracks.js';
import { GroupCommitter, QueueFullError, StoreUnavailableError } from './group-commit.js';
import { createMetrics, type IngestMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { Scheduler } from './schedule.js';

export interface IngestDeps {
  db: Db;
  /** Bearer tokens that may POST events, and read /metrics (compared in constant time). */
  tokens: readonly string[];
  /** Further bearer tokens that may read /metrics only (EARSHOT_METRICS_TOKENS). */
  metricsTokens?: readonly string[];
  /** Session idle time, seconds (EARSHOT_IDLE_S): finalize jobs are delayed by it. */
  idleS: number;
  /** Secret for listener keys derived from `ip` (EARSHOT_LISTENER_SALT). */
  listenerSalt?: string | undefined;
  /**
   * Sets each event's country (IP database) and origin (relay and monitor ranges) from its ip before
   * the ip is dropped. Default: the shipped IP database, no ranges.
   */
  enrich?: Enricher;
  /** Largest body in bytes, compressed and inflated (413 beyond). Default 5 MiB. */
  maxBodyBytes?: number;
  /** Most events per request (413 beyond). Default 10000. */
  maxBatch?: number;
  /**
   * Group commit: window, size, transactions in flight, how long a request may wait for its commit
   * (503 beyond), and the bound on what is held for the database (events and request bytes waiting
   * or being written; 503 at once beyond). Defaults 3 ms, 2000, 4, 10 s, 50 000 events, 64 MiB.
   */
  group?: {
    windowMs?: number;
    maxEvents?: number;
    concurrency?: number;
    timeoutMs?: number;
    maxQueueEvents?: number;
    maxQueueBytes?: number;
  };
  /** BullMQ producer for finalize jobs; without it the worker's sweep schedules. */
  scheduler?: Scheduler | undefined;
  metrics?: IngestMetrics;
  logger?: Logger;
  /** Seconds a client should wait after a 503. Default 2. */
  retryAfterS?: number;
  /**
   * Oldest event accepted, seconds before now (400 beyond; EARSHOT_MAX_EVENT_AGE_S). Keeps replays
   * of events retention has already dropped out, and bounds the day partitions a batch can create.
   * 0: no limit. Default 0 here; the service's environment defaults to 7 days.
   */
  maxEventAgeS?: number;
  /** Latest event accepted, seconds after now (clock skew; 400 beyond). Default 300. */
  maxEventAheadS?: number;
  /** Most distinct UTC days (day partitions) one batch may touch (400 beyond). Default 31. */
  maxBatchDays?: number;
  /**
   * Most bytes an event may carry per second of its duration, plus SHORT_EVENT_ALLOWANCE_BYTES
   * (400 beyond; EARSHOT_MAX_BYTES_PER_S). Default 1 000 000 (8 Mbit/s; FLAC is about 175 kB/s).
   */
  maxBytesPerS?: number;
  /** Bound on a session's summed bytes and ms in one batch (tests only). Default Number.MAX_SAFE_INTEGER. */
  maxSessionTotal?: number;
  /** The clock, epoch ms (tests). Default Date.now. */
  now?: () => number;
}

/** The ingest service for one process: the Hono app plus the parts main() and the tests drive. */
export interface IngestApp {
  app: Hono<{ Bindings: { incoming?: IncomingMessage } }>;
  committer: GroupCommitter;
  metrics: IngestMetrics;
  /** Refuses new batches (503), writes the pending ones and waits for every group in flight. */
  drain(): Promise<void>;
}

const MAX_ISSUES = 1000;

/** JSON error response; every 4xx says what was wrong and where. */
// `never`: lets the checks below read as statements that end the request.
function fail(status: number, body: object, headers: Record<string, string> = {}): never {
  throw httpError(status as ContentfulStatusCode, body, headers);
}

/**
 * Builds the ingest HTTP service (DESIGN sections 5, 6, 9): POST /v1/events and /v1/tracks, health,
 * readiness, metrics, OpenAPI.
 */
export function createApp(deps: IngestDeps): IngestApp {
  const logger = deps.logger ?? pino({ level: 'silent' });
  const metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
  const maxBodyBytes = deps.maxBodyBytes ?? 5 * 1024 * 1024;
  const maxBatch = deps.maxBatch ?? 10_000;
  const retryAfter = String(deps.retryAfterS ?? 2);
  const limits: BatchLimits = {
    maxAgeMs: (deps.maxEventAgeS ?? 0) * 1000,
    maxAheadMs: (deps.maxEventAheadS ?? 300) * 1000,
    maxDays: deps.maxBatchDays ?? 31,
    maxBytesPerS: deps.maxBytesPerS ?? 1_000_000,
    maxSessionTotal: deps.maxSessionTotal,
    now: deps.now ?? Date.now,
  };
  const auth = (tokens: readonly string[]) =>
    bearerAuth({
      tokens,
      realm: 'earshot-ingest',
      body: () => ({ error: 'missing or unknown bearer token' }),
    });
  const enrich =
    deps.enrich ?? createEnricher({ geo: openGeoDatabase(), ranges: { relay: [], monitor: [] } });
  const geo = geoInfo(enrich.geo);
  if (geo && !metrics.registry.getSingleMetric('earshot_geo_database_info')) {
    new Gauge({
      name: 'earshot_geo_database_info',
      help: 'The IP-to-country database ingest looks countries up in: its npm package, version and build time (value 1).',
      labelNames: ['package', 'version', 'built_at'],
      registers: [metrics.registry],
    }).set({ package: geo.package, version: geo.version, built_at: geo.builtAt }, 1);
  }
  const eventsAuth = auth(deps.tokens);
  const metricsAuth = auth([...deps.tokens, ...(deps.metricsTokens ?? [])]);
  const committer = new GroupCommitter({
    db: deps.db,
    idleS: deps.idleS,
    windowMs: deps.group?.windowMs ?? 3,
    maxEvents: deps.group?.maxEvents ?? 2_000,
    concurrency: deps.group?.concurrency ?? 4,
    timeoutMs: deps.group?.timeoutMs ?? 10_000,
    maxQueueEvents: deps.group?.maxQueueEvents ?? 50_000,
    maxQueueBytes: deps.group?.maxQueueBytes ?? 64 * 1024 * 1024,
    scheduler: deps.scheduler,
    metrics,
    logger,
  });
  const trackTimeoutMs = deps.group?.timeoutMs ?? 10_000;
  let draining = false;
  const { scheduler } = deps;
  if (scheduler && !metrics.registry.getSingleMetric('earshot_ingest_redis_up')) {
    metrics.registry.registerMetric(metrics.redisUp);
  }
  /** Redis as readiness and /metrics report it: scheduling degrades without it, ingest does not. */
  const redisState = async (): Promise<string> => {
    if (!scheduler) return 'off';
    const health = await scheduler.ping();
    metrics.redisUp.set(health.ok ? 1 : 0);
    return health.ok ? 'ok' : `degraded: ${health.reason}; the worker's sweep finalizes sessions`;
  };
  const queueFull = (events?: number): never => {
    metrics.queueFull.inc();
    if (events !== undefined) metrics.eventsRejected.inc({ reason: 'queue_full' }, events);
    return fail(
      503,
      {
        error: `ingest queue is full (the database is not keeping up); nothing was written, retry after ${retryAfter} s`,
      },
      { 'retry-after': retryAfter },
    );
  };

  const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();

  app.use(async (c, next) => {
    await next();
    metrics.requests.inc({
      route: c.req.routePath === '/*' ? 'other' : c.req.routePath,
      status: String(c.res.status),
    });
  });

  app.onError(jsonErrors(logger));

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  // Readiness means "can take events" (DESIGN section 6): the database and room in the queue.
  // Redis only schedules finalization, which the worker's sweep covers: it degrades, never fails,
  // readiness. The body is open to load balancers: states only, no addresses or counts.
  app.get('/readyz', async (c) => {
    const [db, redis] = await Promise.all([
      withTimeout(deps.db.ping(), 2000, 'database ping').then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      redisState(),
    ]);
    const status = draining
      ? 'draining'
      : db !== 'ok'
        ? 'database down'
        : committer.full()
          ? 'queue full'
          : 'ready';
    const ok = status === 'ready';
    return c.json({ ok, status, db, redis }, ok ? 200 : 503);
  });

  app.get('/metrics', metricsAuth, async (c) => {
    await redisState();
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  app.get('/openapi.json', (c) => c.json(openApiDocument));

  /**
   * The checks both POST routes share, in order: draining, the events queue full (refused before
   * the body is read: Node discards the unread rest and keeps the connection), Content-Type, then
   * the body read (gzip, size) and split into items. Counts refused bodies in `rejected`.
   */
  const readItems = async (
    c: Context<{ Bindings: { incoming?: IncomingMessage } }>,
    what: 'listen events' | 'track events',
    rejected: IngestMetrics['eventsRejected'],
  ): Promise<{ items: unknown[]; bodyBytes: number }> => {
    if (draining)
      fail(
        503,
        { error: 'ingest is shutting down; retry' },
        { 'retry-after': retryAfter, connection: 'close' },
      );
    if (committer.full()) queueFull();
    const format = bodyFormatOf(c.req.header('content-type'));
    if (!format) {
      fail(415, {
        error: `Content-Type must be application/json (an array of ${what}) or application/x-ndjson`,
      });
    }
    try {
      const gzip = isGzip(c.req.header('content-encoding'));
      const body = await readBody(c.req.raw, c.env?.incoming, maxBodyBytes, gzip);
      return { items: parseItems(body, format, maxBatch, what), bodyBytes: body.length };
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      if (err.status !== 415) rejected.inc({ reason: err.status === 413 ? 'too_large' : 'invalid' });
      const headers: Record<string, string> = err.status === 413 ? { connection: 'close' } : {};
      return fail(err.status, { error: err.message, issues: err.issues }, headers);
    }
  };

  const badBatch = (issues: readonly { index: number }[], count: number, what: string): never =>
    fail(400, {
      error: `invalid batch: ${new Set(issues.map((i) => i.index)).size} of ${count} ${what} are bad; nothing was written`,
      issues: issues.slice(0, MAX_ISSUES),
      ...(issues.length > MAX_ISSUES ? { truncated: true, issueCount: issues.length } : {}),
    });

  app.post('/v1/events', eventsAuth, async (c: Context<{ Bindings: { incoming?: IncomingMessage } }>) => {
    const { items, bodyBytes } = await readItems(c, 'listen events', metrics.eventsRejected);

    const { events, issues } = checkBatch(items, deps.listenerSalt, limits, enrich);
    if (issues.length > 0) {
      metrics.eventsRejected.inc({ reason: 'invalid' }, items.length);
      badBatch(issues, items.length, 'events');
    }

    try {
      const outcome = await committer.submit(events, bodyBytes);
      metrics.batchEvents.observe(events.length);
      return c.json({ accepted: outcome.accepted, duplicates: outcome.duplicates }, 200, {
        'earshot-schedule': outcome.schedule,
      });
    } catch (err) {
      if (err instanceof QueueFullError) queueFull(events.length);
      if (!(err instanceof StoreUnavailableError)) throw err;
      metrics.eventsRejected.inc({ reason: 'unavailable' }, events.length);
      fail(
        503,
        {
          error: err.maybeWritten
            ? 'the event store did not commit in time; retry later (a retry stores nothing twice)'
            : 'the event store is unavailable; nothing was written, retry later',
        },
        { 'retry-after': retryAfter },
      );
    }
  });

  // Track writes in flight: drain() waits for them, so every acknowledged track is committed.
  const trackWrites = new Set<Promise<unknown>>();

  // Track events (DESIGN 9) are a few per stream per hour: one upsert per request, no group commit.
  app.post('/v1/tracks', eventsAuth, async (c: Context<{ Bindings: { incoming?: IncomingMessage } }>) => {
    const { items } = await readItems(c, 'track events', metrics.tracksRejected);
    const { tracks, issues } = checkTracks(items, limits);
    if (issues.length > 0) {
      metrics.tracksRejected.inc({ reason: 'invalid' }, items.length);
      badBatch(issues, items.length, 'track events');
    }
    const write = insertTracks(deps.db, tracks);
    trackWrites.add(write);
    void write.catch(() => {}).finally(() => trackWrites.delete(write));
    let result: Awaited<typeof write>;
    try {
      result = await withTimeout(write, trackTimeoutMs, 'track write');
    } catch (err) {
      logger.error({ err, tracks: tracks.length }, 'track write failed');
      metrics.tracksRejected.inc({ reason: 'unavailable' }, tracks.length);
      return fail(
        503,
        {
          error: 'the track store did not commit; retry later (a retry stores nothing twice)',
        },
        { 'retry-after': retryAfter },
      );
    }
    metrics.tracksAccepted.inc(result.inserted);
    metrics.tracksReplaced.inc(result.replaced);
    metrics.tracksDuplicate.inc(result.unchanged);
    return c.json(
      { accepted: result.inserted, replaced: result.replaced, duplicates: result.unchanged },
      200,
    );
  });

  return {
    app,
    committer,
    metrics,
    async drain() {
      draining = true;
      await Promise.all([committer.drain(), ...[...trackWrites].map((w) => w.catch(() => {}))]);
    },
  };
}
