import { createHash, timingSafeEqual } from 'node:crypto';
import { DEFAULT_DAYPARTS, REPORT_COLUMNS, type Report, type ReportSummary, reportCsv } from '@earshot/core';
import {
  type DbReportOptions,
  listStreams,
  type Queryable,
  type ReportPart,
  reportFromDb,
  reportPeriod,
  sessionLengthHistogram,
  sessionsBy,
} from '@earshot/db';
import { type Context, Hono } from 'hono';
import { accepts } from 'hono/accepts';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import { clientFamily } from './clients.js';
import { reportFileName } from './file-name.js';
import { labelHistogram } from './histogram.js';
import { LiveFeed } from './live.js';
import { openApiDocument } from './openapi.js';
import {
  badParameter,
  checkPeriodLength,
  type PeriodQuery,
  parseChoice,
  parseParts,
  parsePeriodQuery,
  type ReportDefaults,
  rejectParameters,
  shiftLocalDays,
} from './params.js';
import { serveDashboard } from './routes/static.js';
import type { Station } from './stations.js';

/** Minimal logger (pino's shape). */
export interface AppLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child?(bindings: object): AppLogger;
}

export interface CreateAppOptions {
  db: Queryable & { ping?(): Promise<void> };
  /** Read-scope bearer tokens (EARSHOT_READ_TOKENS). */
  tokens: readonly string[];
  /** The worker's session settings, the default AQH qualifier and the default zone. */
  defaults: ReportDefaults;
  stations?: readonly Station[];
  logger?: AppLogger;
  /** Live feed refresh (cache and SSE period), ms. Default 5000. */
  liveRefreshMs?: number;
  /** The live feed's clock (epoch ms), for tests. Default `Date.now`. */
  liveClock?: () => number;
}

/** A period query whose period is settled: `from` and `to` are always set. */
type SettledPeriod = PeriodQuery & { options: PeriodQuery['options'] & { from: number; to: number } };

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares a presented token with every configured one in constant time (no early exit, no length leak). */
export function tokenMatches(presented: string, tokens: readonly Buffer[]): boolean {
  const d = digest(presented);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(d, t) || ok;
  return ok;
}

// The summary's figures (every column but the stream), in report order.
const SUMMARY_FIELDS = REPORT_COLUMNS.summary.filter((c) => c !== 'stream') as readonly Exclude<
  keyof ReportSummary,
  'stream'
>[];

function compareSummaries(current: readonly ReportSummary[], previous: readonly ReportSummary[]) {
  const streams = [...new Set([...current.map((s) => s.stream), ...previous.map((s) => s.stream)])].sort();
  return streams.map((stream) => {
    const cur = current.find((s) => s.stream === stream) ?? null;
    const prev = previous.find((s) => s.stream === stream) ?? null;
    const delta: Record<string, { change: number; ratio: number | null }> = {};
    for (const field of SUMMARY_FIELDS) {
      const a = cur?.[field] ?? 0;
      const b = prev?.[field] ?? 0;
      delta[field] = { change: a - b, ratio: b !== 0 ? (a - b) / b : null };
    }
    return { stream, current: cur, previous: prev, delta };
  });
}

function grouped(rows: { key: string; sessions: number; durationMs: number }[]) {
  const merged = new Map<string, { sessions: number; durationMs: number }>();
  for (const r of rows) {
    const m = merged.get(r.key) ?? { sessions: 0, durationMs: 0 };
    m.sessions += r.sessions;
    m.durationMs += r.durationMs;
    merged.set(r.key, m);
  }
  const total = [...merged.values()].reduce((sum, m) => sum + m.sessions, 0);
  return [...merged]
    .map(([key, m]) => ({
      key,
      sessions: m.sessions,
      share: total > 0 ? m.sessions / total : 0,
      listeningHours: m.durationMs / 3_600_000,
      atsl: m.sessions > 0 ? m.durationMs / 1000 / m.sessions : 0,
    }))
    .sort((a, b) => b.sessions - a.sessions || (a.key < b.key ? -1 : 1));
}

/**
 * The reports app: the section 7 report API (JSON and CSV), dayparts, breakdowns, live listeners
 * (JSON and SSE), OpenAPI, health, and the dashboard at `/`. `/v1/*` needs a read-scope bearer token.
 */
export function createApp(options: CreateAppOptions): { app: Hono; live: LiveFeed; close(): void } {
  const { db, defaults } = options;
  const stations = options.stations ?? [];
  const tokenDigests = options.tokens.map(digest);
  if (tokenDigests.length === 0) throw new Error('createApp: at least one read token is required');
  const live = new LiveFeed(db, {
    refreshMs: options.liveRefreshMs ?? 5000,
    ...(options.liveClock ? { now: options.liveClock } : {}),
    onError: (error) => options.logger?.error({ err: error }, 'live listeners query failed'),
  });
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    options.logger?.error({ err: error, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));

  app.get('/healthz', async (c) => {
    try {
      await (db.ping ? db.ping() : db.query('select 1'));
      return c.json({ ok: true });
    } catch {
      return c.json({ ok: false, error: 'database unreachable' }, 503);
    }
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  serveDashboard(app);

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !tokenMatches(match[1]!, tokenDigests)) {
      return c.json(
        {
          error: 'unauthorized',
          reason: match ? 'unknown token' : 'send Authorization: Bearer <read token>',
        },
        401,
        { 'www-authenticate': 'Bearer realm="earshot-reports"' },
      );
    }
    await next();
  });

  // Parses the period parameters and settles the period: without from or to it is the data's extent
  // (core's default, so the report still equals the offline one), resolved here once so that the
  // length cap applies to it too and every query of the request sees the same period.
  const period = async (c: Context, extra: readonly string[] = []): Promise<SettledPeriod> => {
    const parsed = parsePeriodQuery(c.req.queries(), defaults, stations, extra);
    const opts = parsed.options;
    if (opts.from !== undefined && opts.to !== undefined) return parsed as SettledPeriod;
    const settled = await reportPeriod(db, opts);
    checkPeriodLength(settled, opts);
    return { ...parsed, options: { ...opts, ...settled } };
  };
  const stationInfo = (s: Station | undefined) =>
    s ? { station: { key: s.key, name: s.name, streams: s.streams } } : {};
  const configHeader = (report: Report) => ({ 'earshot-config': JSON.stringify(report.config) });

  app.get('/v1/report', async (c) => {
    const q = c.req.queries();
    const format =
      parseChoice(q, 'format', ['json', 'csv'] as const) ??
      (accepts(c, {
        header: 'Accept',
        supports: ['application/json', 'text/csv'],
        default: 'application/json',
      }) === 'text/csv'
        ? 'csv'
        : 'json');
    if (format === 'csv') {
      if (q.parts) throw badParameter('parts', 'parts is for JSON; a CSV holds one part: use part=...');
      const part =
        parseChoice<ReportPart>(q, 'part', ['summary', 'sessions', 'minutes', 'quarterHours']) ?? 'summary';
      const { options: opts, station } = await period(c, ['format', 'part']);
      const report = await reportFromDb(db, { ...opts, parts: [part] });
      const name = reportFileName(report, part, {
        station: station?.key,
        streams: opts.streams,
        daypartName: opts.daypart?.name,
      });
      return c.body(reportCsv(report, part), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        ...configHeader(report),
      });
    }
    if (q.part) throw badParameter('part', 'part is for CSV; use parts=... for JSON');
    const parts = parseParts(q);
    const { options: opts, station } = await period(c, ['format', 'parts']);
    const report = await reportFromDb(db, { ...opts, ...(parts ? { parts } : {}) });
    return c.json({ ...report, ...stationInfo(station) }, 200, configHeader(report));
  });

  app.get('/v1/dayparts', async (c) => {
    if (c.req.query('daypart') !== undefined)
      throw badParameter('daypart', 'this endpoint reports every daypart');
    const { options: opts, station, dayparts } = await period(c);
    const each: DbReportOptions = { ...opts, parts: ['summary'] };
    const [all, ...rows] = await Promise.all([
      reportFromDb(db, { ...each, daypart: null }),
      ...dayparts.map(async (d) => ({
        name: d.name,
        spec: d.spec,
        summary: (await reportFromDb(db, { ...each, daypart: d })).summary,
      })),
    ]);
    return c.json({
      config: all.config,
      ...stationInfo(station),
      dayparts: [{ name: 'All hours', spec: null, summary: all.summary }, ...rows],
    });
  });

  app.get('/v1/breakdowns', async (c) => {
    const { options: opts, station } = await period(c);
    const { from, to } = opts;
    const sel = { from, to, tz: opts.tz, daypart: opts.daypart, streams: opts.streams };
    const previousFrom = shiftLocalDays(from, opts.tz, -7);
    const previousTo = shiftLocalDays(to, opts.tz, -7);
    const [head, previous, histogram, byOutput, byUa] = await Promise.all([
      reportFromDb(db, { ...opts, parts: ['summary'] }),
      reportFromDb(db, { ...opts, from: previousFrom, to: previousTo, parts: ['summary'] }),
      sessionLengthHistogram(db, sel),
      sessionsBy(db, 'output', sel),
      sessionsBy(db, 'ua', sel),
    ]);
    return c.json({
      config: head.config,
      ...stationInfo(station),
      basis: `histogram, byOutput and byClient: counted sessions that start in the period's quarter-hours (daypart applied), with their whole listening time; the histogram's first bin holds the short sessions (tune-outs: under minSession, ${defaults.minSessionS} s), which are not counted anywhere else`,
      histogram: labelHistogram(histogram, defaults.minSessionS),
      comparison: {
        current: { from: head.config.from, to: head.config.to },
        previous: { from: previous.config.from, to: previous.config.to },
        streams: compareSummaries(head.summary, previous.summary),
      },
      byOutput: grouped(
        byOutput.map((g) => ({ key: g.value ?? 'unknown', sessions: g.sessions, durationMs: g.durationMs })),
      ).map(({ key, ...rest }) => ({ output: key, ...rest })),
      byClient: grouped(
        byUa.map((g) => ({ key: clientFamily(g.value), sessions: g.sessions, durationMs: g.durationMs })),
      ).map(({ key, ...rest }) => ({ client: key, ...rest })),
    });
  });

  app.get('/v1/streams', async (c) => {
    rejectParameters(c.req.queries());
    const streams = await listStreams(db);
    return c.json({
      streams: streams.map((s) => ({
        stream: s.stream,
        firstMinute: new Date(s.firstMinuteMs).toISOString(),
        lastMinute: new Date(s.lastMinuteMs).toISOString(),
      })),
      stations: stations.map((s) => ({
        key: s.key,
        name: s.name,
        tz: s.tz,
        streams: s.streams,
        dayparts: s.dayparts.map((d) => ({ name: d.name, spec: d.spec })),
      })),
      dayparts: DEFAULT_DAYPARTS.map((d) => ({ name: d.name, spec: d.spec })),
      settings: {
        tz: defaults.tz,
        idle: defaults.idleS,
        minSession: defaults.minSessionS,
        maxSession: defaults.maxSessionS,
        aqhQualifier: defaults.aqhQualifierS,
      },
    });
  });

  /** Ends each open SSE response (unsubscribes it and lets the handler return). */
  const openStreams = new Set<() => void>();
  const liveConfig = {
    idle: defaults.idleS,
    minSession: defaults.minSessionS,
    maxSession: defaults.maxSessionS,
    aqhQualifier: defaults.aqhQualifierS,
    tz: 'UTC',
    daypart: null,
  };

  app.get('/v1/live', async (c) => {
    rejectParameters(c.req.queries());
    return c.json({ ...(await live.get()), config: liveConfig });
  });

  app.get('/v1/live/stream', (c) => {
    rejectParameters(c.req.queries());
    return streamSSE(c, async (stream) => {
      // Abort handling comes first: a client may leave while the first snapshot is being queried,
      // and hono calls only the abort listeners registered by then.
      let unsubscribe: (() => void) | undefined;
      let ended = false;
      let end = () => {};
      const left = new Promise<void>((resolve) => {
        end = () => {
          ended = true;
          unsubscribe?.();
          openStreams.delete(end);
          resolve();
        };
        stream.onAbort(end);
      });
      openStreams.add(end);
      let id = 0;
      const send = (s: unknown) =>
        stream.writeSSE({
          event: 'live',
          id: String(++id),
          data: JSON.stringify({ ...(s as object), config: liveConfig }),
        });
      try {
        await send(await live.get());
      } catch (error) {
        // The timer below retries the query; the client keeps its connection.
        options.logger?.warn({ err: error }, 'first live snapshot failed');
      }
      if (ended || stream.aborted) return end();
      // A client that reads slower than the feed gets the latest snapshot, not a growing backlog.
      let writing = false;
      unsubscribe = live.subscribe((s) => {
        if (writing) return;
        writing = true;
        send(s)
          .catch(() => {})
          .finally(() => {
            writing = false;
          });
      });
      await left;
    });
  });

  return {
    app,
    live,
    close: () => {
      // End the SSE responses too, so that a server's close() is not held open by them.
      for (const end of [...openStreams]) end();
      live.close();
    },
  };
}
