import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type BatchIssue, type ListenEvent, parseEvent } from '@earshot/core';
import { type Db, utcDayOf } from '@earshot/db';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import pino, { type Logger } from 'pino';
import { BodyError, bodyFormatOf, isGzip, parseItems, readBody } from './body.js';
import { GroupCommitter, StoreUnavailableError } from './group-commit.js';
import { listenerKey } from './listener.js';
import { createMetrics, type IngestMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { Scheduler } from './schedule.js';

export interface IngestDeps {
  db: Db;
  /** Bearer tokens that may POST events (compared in constant time). */
  tokens: readonly string[];
  /** Session idle time, seconds (EARSHOT_IDLE_S): finalize jobs are delayed by it. */
  idleS: number;
  /** Secret for listener keys derived from `ip` (EARSHOT_LISTENER_SALT). */
  listenerSalt?: string | undefined;
  /** Largest body in bytes, compressed and inflated (413 beyond). Default 5 MiB. */
  maxBodyBytes?: number;
  /** Most events per request (413 beyond). Default 10000. */
  maxBatch?: number;
  /** Group commit: window, size, transactions in flight, and how long a request may wait for its commit (503 beyond). */
  group?: { windowMs?: number; maxEvents?: number; concurrency?: number; timeoutMs?: number };
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

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Checks a bearer token against every known token in constant time (hashes make the lengths equal). */
function tokenChecker(tokens: readonly string[]): (header: string | undefined) => boolean {
  const known = tokens.map(sha256);
  return (header) => {
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const presented = sha256(match?.[1] ?? '');
    let ok = false;
    for (const k of known) ok = timingSafeEqual(k, presented) || ok;
    return ok && match !== null;
  };
}

/** JSON error response; every 4xx says what was wrong and where. */
function fail(status: number, body: object, headers: Record<string, string> = {}): never {
  throw new HTTPException(status as 400, {
    res: new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    }),
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Turns `ip` into `listener` (unless the event has one) and drops it: no raw IP goes further than
 * this function. Adds an issue for an ip that cannot be used.
 */
function applyListener(
  event: ListenEvent,
  index: number,
  salt: string | undefined,
  issues: BatchIssue[],
): void {
  if (event.ip === undefined) return;
  const ip = event.ip;
  delete event.ip;
  if (event.listener !== undefined) return;
  if (salt === undefined) {
    issues.push({
      index,
      field: 'ip',
      reason:
        'cannot be turned into a listener key: EARSHOT_LISTENER_SALT is not set on ingest (send listener, or omit ip)',
    });
    return;
  }
  const key = listenerKey(ip, event.ua, salt);
  if (key === undefined) issues.push({ index, field: 'ip', reason: 'must be an IPv4 or IPv6 address' });
  else event.listener = key;
}

interface TimeLimits {
  maxAgeMs: number;
  maxAheadMs: number;
  maxDays: number;
  now: () => number;
}

/**
 * Validates a batch whole: core's checks of each event, then ingest's own (the ip, the time window,
 * the number of days). Every issue of every event is listed, with its index.
 */
function checkBatch(
  items: readonly unknown[],
  salt: string | undefined,
  limits: TimeLimits,
): { events: ListenEvent[]; issues: BatchIssue[] } {
  const events: ListenEvent[] = [];
  const issues: BatchIssue[] = [];
  const now = limits.now();
  const days = new Set<number>();
  for (let index = 0; index < items.length; index++) {
    const result = parseEvent(items[index]);
    if (!result.ok) {
      for (const issue of result.issues) issues.push({ index, ...issue });
      continue;
    }
    const event = result.event;
    applyListener(event, index, salt, issues);
    if (limits.maxAgeMs > 0 && event.time < now - limits.maxAgeMs) {
      issues.push({
        index,
        field: 'time',
        reason: `is more than ${limits.maxAgeMs / 1000} s in the past (EARSHOT_MAX_EVENT_AGE_S)`,
      });
    } else if (event.time > now + limits.maxAheadMs) {
      issues.push({
        index,
        field: 'time',
        reason: `is more than ${limits.maxAheadMs / 1000} s in the future (check the sender's clock)`,
      });
    } else {
      const day = utcDayOf(event.time);
      if (!days.has(day) && days.size >= limits.maxDays) {
        issues.push({ index, field: 'time', reason: `the batch spans more than ${limits.maxDays} UTC days` });
      } else days.add(day);
    }
    events.push(event);
  }
  return { events, issues };
}

/** Builds the ingest HTTP service (DESIGN sections 5, 6): POST /v1/events, health, readiness, metrics, OpenAPI. */
export function createApp(deps: IngestDeps): IngestApp {
  const logger = deps.logger ?? pino({ level: 'silent' });
  const metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
  const maxBodyBytes = deps.maxBodyBytes ?? 5 * 1024 * 1024;
  const maxBatch = deps.maxBatch ?? 10_000;
  const retryAfter = String(deps.retryAfterS ?? 2);
  const limits: TimeLimits = {
    maxAgeMs: (deps.maxEventAgeS ?? 0) * 1000,
    maxAheadMs: (deps.maxEventAheadS ?? 300) * 1000,
    maxDays: deps.maxBatchDays ?? 31,
    now: deps.now ?? Date.now,
  };
  const checkToken = tokenChecker(deps.tokens);
  const committer = new GroupCommitter({
    db: deps.db,
    idleS: deps.idleS,
    windowMs: deps.group?.windowMs ?? 3,
    maxEvents: deps.group?.maxEvents ?? 2_000,
    concurrency: deps.group?.concurrency ?? 4,
    timeoutMs: deps.group?.timeoutMs ?? 10_000,
    scheduler: deps.scheduler,
    metrics,
    logger,
  });
  let draining = false;

  const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();

  app.use(async (c, next) => {
    await next();
    metrics.requests.inc({
      route: c.req.routePath === '/*' ? 'other' : c.req.routePath,
      status: String(c.res.status),
    });
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    logger.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal error' }, 500);
  });

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const [database, redis] = await Promise.all([
      withTimeout(deps.db.ping(), 2000).then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      deps.scheduler ? deps.scheduler.ping().then((up) => (up ? ('ok' as const) : ('down' as const))) : 'off',
    ]);
    const ready = !draining && database === 'ok' && redis !== 'down';
    return c.json(
      { status: draining ? 'draining' : ready ? 'ready' : 'unavailable', database, redis },
      ready ? 200 : 503,
    );
  });

  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );

  app.get('/openapi.json', (c) => c.json(openApiDocument));

  app.post('/v1/events', async (c: Context<{ Bindings: { incoming?: IncomingMessage } }>) => {
    if (!checkToken(c.req.header('authorization'))) {
      fail(
        401,
        { error: 'missing or unknown bearer token' },
        { 'www-authenticate': 'Bearer realm="earshot-ingest"' },
      );
    }
    if (draining)
      fail(
        503,
        { error: 'ingest is shutting down; retry' },
        { 'retry-after': retryAfter, connection: 'close' },
      );
    const format = bodyFormatOf(c.req.header('content-type'));
    if (!format) {
      fail(415, {
        error: 'Content-Type must be application/json (an array of events) or application/x-ndjson',
      });
    }

    let items: unknown[];
    try {
      const gzip = isGzip(c.req.header('content-encoding'));
      const body = await readBody(c.req.raw, c.env?.incoming, maxBodyBytes, gzip);
      items = parseItems(body, format, maxBatch);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      if (err.status !== 415)
        metrics.eventsRejected.inc({ reason: err.status === 413 ? 'too_large' : 'invalid' });
      const headers: Record<string, string> = err.status === 413 ? { connection: 'close' } : {};
      fail(err.status, { error: err.message, issues: err.issues }, headers);
    }

    const { events, issues } = checkBatch(items, deps.listenerSalt, limits);
    if (issues.length > 0) {
      metrics.eventsRejected.inc({ reason: 'invalid' }, items.length);
      fail(400, {
        error: `invalid batch: ${new Set(issues.map((i) => i.index)).size} of ${items.length} events are bad; nothing was written`,
        issues: issues.slice(0, MAX_ISSUES),
        ...(issues.length > MAX_ISSUES ? { truncated: true, issueCount: issues.length } : {}),
      });
    }

    try {
      const outcome = await committer.submit(events);
      metrics.batchEvents.observe(events.length);
      return c.json({ accepted: outcome.accepted, duplicates: outcome.duplicates }, 200, {
        'earshot-schedule': outcome.schedule,
      });
    } catch (err) {
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

  return {
    app,
    committer,
    metrics,
    async drain() {
      draining = true;
      await committer.drain();
    },
  };
}
