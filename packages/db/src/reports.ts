import {
  bucketStart,
  type Daypart,
  inDaypart,
  isoTime,
  localTime,
  MINUTE_MS,
  periodQuarterHours,
  QUARTER_HOUR_MS,
  type Report,
  type ReportMinute,
  type ReportOptions,
  type ReportQuarterHour,
  type ReportSession,
  type ReportSummary,
  resolveSettings,
} from '@earshot/core';
import type { Queryable } from './client.js';

/**
 * Reports from the database (DESIGN sections 4 and 7): the same `Report` that core's `buildReport`
 * makes from raw events, computed from the rows the worker writes (`sessions`,
 * `session_quarter_hours`, `stream_minutes`). Sums are integer milliseconds in SQL; every division
 * happens here, in the same order core does it, so the figures are equal bit for bit.
 *
 * The session settings (idle, maxSession, minSession) are baked into the stored rows by the worker:
 * pass the values it finalized with (they are echoed in `config`, they cannot change the rows).
 * The AQH qualifier is applied at query time, so any value works.
 */

/** The four row lists of a report; a report may be asked for only some of them. */
export type ReportPart = 'sessions' | 'minutes' | 'quarterHours' | 'summary';

/** Every part, in report order. */
export const REPORT_PARTS: readonly ReportPart[] = ['sessions', 'minutes', 'quarterHours', 'summary'];

export interface DbReportOptions extends ReportOptions {
  /**
   * Report the selected streams as ONE stream with this key (a station): sessions, minutes and
   * quarter-hours are summed across them and cume counts a listener once across them. Equal to core's
   * report over the same events with every selected stream key renamed to `groupAs`.
   */
  groupAs?: string | undefined;
  /** Which lists to compute; the others come back empty. Default all. */
  parts?: readonly ReportPart[] | undefined;
}

/** Epoch ms of a timestamptz column, exactly (timestamps are stored with millisecond precision). */
const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Consecutive runs of bucket starts of `sizeMs` as `[start, end)` pairs (ISO strings, for SQL arrays). */
function toRanges(starts: readonly number[], sizeMs: number): { from: string[]; to: string[] } {
  const from: string[] = [];
  const to: string[] = [];
  let runStart = Number.NaN;
  let runEnd = Number.NaN;
  for (const start of starts) {
    if (start === runEnd) {
      runEnd = start + sizeMs;
      continue;
    }
    if (!Number.isNaN(runStart)) {
      from.push(isoTime(runStart));
      to.push(isoTime(runEnd));
    }
    runStart = start;
    runEnd = start + sizeMs;
  }
  if (!Number.isNaN(runStart)) {
    from.push(isoTime(runStart));
    to.push(isoTime(runEnd));
  }
  return { from, to };
}

/**
 * The minutes of `[from, to)` a report's minute series covers (core's rule: a minute is in when it
 * starts inside the period and, with a daypart, its local start falls in the daypart), as runs.
 */
export function periodMinuteRanges(
  from: number,
  to: number,
  tz: string,
  daypart: Daypart | null,
): { from: string[]; to: string[] } {
  if (!(to > from)) return { from: [], to: [] };
  if (!daypart) {
    const first = Math.ceil(from / MINUTE_MS) * MINUTE_MS;
    return first < to
      ? { from: [isoTime(first)], to: [isoTime(Math.ceil(to / MINUTE_MS) * MINUTE_MS)] }
      : { from: [], to: [] };
  }
  const minutes: number[] = [];
  for (let qh = bucketStart(from, QUARTER_HOUR_MS); qh < to; qh += QUARTER_HOUR_MS) {
    const local = localTime(qh, tz);
    for (let minute = qh; minute < qh + QUARTER_HOUR_MS && minute < to; minute += MINUTE_MS) {
      if (minute < from) continue;
      if (
        inDaypart(
          { weekday: local.weekday, minuteOfDay: local.minuteOfDay + (minute - qh) / MINUTE_MS },
          daypart,
        )
      ) {
        minutes.push(minute);
      }
    }
  }
  return toRanges(minutes, MINUTE_MS);
}

/** The data extent core uses when `from` or `to` is not given (see core's `dataExtent`). */
async function dataExtent(
  db: Queryable,
  streams: readonly string[] | null,
): Promise<{ from: number; to: number } | undefined> {
  const rows = await db.query<{ lo: number | null; hi: number | null }>(
    `select ${epochMs('min(least(first_minute, start))')} as lo, ${epochMs('max("end")')} as hi
      from sessions where ($1::text[] is null or stream = any($1::text[]))`,
    [streams],
  );
  const lo = rows[0]?.lo;
  const hi = rows[0]?.hi;
  if (lo === null || lo === undefined || hi === null || hi === undefined) return undefined;
  // first_minute is the first placed minute, or the start's minute for a session without listening:
  // both land in the quarter-hour core takes.
  return {
    from: bucketStart(lo, QUARTER_HOUR_MS),
    to: bucketStart(hi - 1, QUARTER_HOUR_MS) + QUARTER_HOUR_MS,
  };
}

interface Resolved {
  from: number;
  to: number;
  tz: string;
  daypart: Daypart | null;
  streams: string[] | null;
  groupAs: string | undefined;
  qhList: number[];
  qualifierMs: number;
  settings: ReturnType<typeof resolveSettings>;
}

async function resolveOptions(db: Queryable, options: DbReportOptions): Promise<Resolved> {
  const settings = resolveSettings(options);
  const tz = options.tz ?? 'UTC';
  const daypart = options.daypart ?? null;
  const streams = options.streams && options.streams.length > 0 ? [...new Set(options.streams)] : null;
  const extent =
    options.from === undefined || options.to === undefined ? await dataExtent(db, streams) : undefined;
  const from = options.from ?? extent?.from ?? 0;
  const to = options.to ?? extent?.to ?? from;
  return {
    from,
    to,
    tz,
    daypart,
    streams,
    groupAs: options.groupAs,
    qhList: periodQuarterHours(from, to, tz, daypart),
    qualifierMs: Math.round(settings.aqhQualifierS * 1000),
    settings,
  };
}

async function querySessions(db: Queryable, r: Resolved): Promise<ReportSession[]> {
  if (!(r.to > r.from)) return [];
  const rows = await db.query<{
    session: string;
    stream: string;
    start_ms: number;
    end_ms: number;
    elapsed_ms: number;
    duration_ms: number;
    bytes: number;
    listener: string | null;
  }>(
    `select session, stream, ${epochMs('start')} as start_ms, ${epochMs('"end"')} as end_ms, elapsed_ms::float8 as elapsed_ms,
      duration_ms::float8 as duration_ms, bytes::float8 as bytes, listener
      from sessions where start >= $1::timestamptz and start < $2::timestamptz
      and ($3::text[] is null or stream = any($3::text[]))`,
    [isoTime(r.from), isoTime(r.to), r.streams],
  );
  const stream = (s: string) => r.groupAs ?? s;
  rows.sort(
    (a, b) =>
      byText(stream(a.stream), stream(b.stream)) || a.start_ms - b.start_ms || byText(a.session, b.session),
  );
  return rows.map((s) => ({
    session: s.session,
    stream: stream(s.stream),
    start: isoTime(s.start_ms),
    end: isoTime(s.end_ms),
    elapsed: s.elapsed_ms / 1000,
    duration: s.duration_ms / 1000,
    bytes: s.bytes,
    listener: s.listener,
  }));
}

async function queryMinutes(db: Queryable, r: Resolved): Promise<ReportMinute[]> {
  const ranges = periodMinuteRanges(r.from, r.to, r.tz, r.daypart);
  if (ranges.from.length === 0) return [];
  const rows = await db.query<{ stream: string; minute_ms: number; ms: number; sessions: number }>(
    `select coalesce($4::text, m.stream) as stream, ${epochMs('m.minute')} as minute_ms,
      sum(m.ms)::float8 as ms, sum(m.sessions)::float8 as sessions
      from stream_minutes m
      join unnest(($1::text[])::timestamptz[], ($2::text[])::timestamptz[]) as r(lo, hi) on m.minute >= r.lo and m.minute < r.hi
      where ($3::text[] is null or m.stream = any($3::text[]))
      group by 1, m.minute`,
    [ranges.from, ranges.to, r.streams, r.groupAs ?? null],
  );
  rows.sort((a, b) => byText(a.stream, b.stream) || a.minute_ms - b.minute_ms);
  return rows.map((m) => ({
    stream: m.stream,
    minute: isoTime(m.minute_ms),
    listeners: m.ms / MINUTE_MS,
    sessions: m.sessions,
  }));
}

interface QuarterHourRow {
  stream: string;
  qh_ms: number;
  ms: number;
  qualified: number;
}

async function queryQuarterHours(db: Queryable, r: Resolved): Promise<QuarterHourRow[]> {
  if (r.qhList.length === 0) return [];
  const rows = await db.query<QuarterHourRow & Record<string, unknown>>(
    `select coalesce($4::text, stream) as stream, ${epochMs('quarter_hour')} as qh_ms,
      sum(ms)::float8 as ms, (count(*) filter (where ms >= $3::int))::float8 as qualified
      from session_quarter_hours
      where quarter_hour = any(($1::text[])::timestamptz[]) and ($2::text[] is null or stream = any($2::text[]))
      group by 1, quarter_hour`,
    [r.qhList.map(isoTime), r.streams, r.qualifierMs, r.groupAs ?? null],
  );
  rows.sort((a, b) => byText(a.stream, b.stream) || a.qh_ms - b.qh_ms);
  return rows;
}

interface TotalsRow {
  stream: string;
  ms: number;
  active: number;
  cume: number;
}

async function queryTotals(
  db: Queryable,
  r: Resolved,
): Promise<{ totals: TotalsRow[]; starts: Map<string, number> }> {
  if (r.qhList.length === 0) return { totals: [], starts: new Map() };
  const qhs = r.qhList.map(isoTime);
  const group = 'coalesce($3::text, stream)';
  const [totals, starts] = await Promise.all([
    db.query<TotalsRow & Record<string, unknown>>(
      `select ${group} as stream, sum(ms)::float8 as ms,
        count(distinct (session, session_start))::float8 as active,
        count(distinct coalesce(listener, 'session:' || session))::float8 as cume
        from session_quarter_hours
        where quarter_hour = any(($1::text[])::timestamptz[]) and ($2::text[] is null or stream = any($2::text[]))
        group by 1`,
      [qhs, r.streams, r.groupAs ?? null],
    ),
    db.query<{ stream: string; starts: number }>(
      `select ${group} as stream, count(*)::float8 as starts
        from sessions
        where start >= $4::timestamptz and start < $5::timestamptz
          and date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') = any(($1::text[])::timestamptz[])
          and ($2::text[] is null or stream = any($2::text[]))
        group by 1`,
      [qhs, r.streams, r.groupAs ?? null, qhs[0], isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS)],
    ),
  ]);
  return { totals, starts: new Map(starts.map((s) => [s.stream, s.starts])) };
}

/** Headline figures exactly as core computes them from integer-ms totals. */
function summarize(
  stream: string,
  ms: number,
  qualified: number,
  qhCount: number,
  active: number,
  starts: number,
  cume: number,
): ReportSummary {
  const seconds = ms / 1000;
  const aqh = qualified / qhCount;
  return {
    stream,
    quarterHours: qhCount,
    aqh,
    aas: seconds / (qhCount * 900),
    tlh: seconds / 3600,
    cume,
    activeSessions: active,
    sessionStarts: starts,
    atsl: seconds / active,
    tsl: seconds / 3600 / cume,
    tslNielsen: (aqh * qhCount * 0.25) / cume,
  };
}

/**
 * The section 7 report from the database: equal to core's `buildReport` on the events the worker
 * finalized (same config echo, sessions, minutes, quarter-hours and summary, bit for bit). Without
 * `from`/`to` the period is core's default: whole quarter-hours around the data of the selected
 * streams.
 */
export async function reportFromDb(db: Queryable, options: DbReportOptions = {}): Promise<Report> {
  const r = await resolveOptions(db, options);
  const parts = new Set(options.parts ?? REPORT_PARTS);
  const wantQh = parts.has('quarterHours') || parts.has('summary');
  const [sessions, minutes, qhRows, totals] = await Promise.all([
    parts.has('sessions') ? querySessions(db, r) : Promise.resolve([]),
    parts.has('minutes') ? queryMinutes(db, r) : Promise.resolve([]),
    wantQh ? queryQuarterHours(db, r) : Promise.resolve([]),
    parts.has('summary') ? queryTotals(db, r) : Promise.resolve(undefined),
  ]);

  const quarterHours: ReportQuarterHour[] = parts.has('quarterHours')
    ? qhRows.map((q) => ({
        stream: q.stream,
        start: isoTime(q.qh_ms),
        qualified: q.qualified,
        seconds: q.ms / 1000,
      }))
    : [];

  const summary: ReportSummary[] = [];
  if (totals) {
    const qualified = new Map<string, number>();
    for (const q of qhRows) qualified.set(q.stream, (qualified.get(q.stream) ?? 0) + q.qualified);
    for (const t of [...totals.totals].sort((a, b) => byText(a.stream, b.stream))) {
      if (t.ms === 0) continue;
      summary.push(
        summarize(
          t.stream,
          t.ms,
          qualified.get(t.stream) ?? 0,
          r.qhList.length,
          t.active,
          totals.starts.get(t.stream) ?? 0,
          t.cume,
        ),
      );
    }
  }

  return {
    config: {
      from: isoTime(r.from),
      to: isoTime(r.to),
      tz: r.tz,
      daypart: r.daypart ? r.daypart.spec : null,
      idle: r.settings.idleS,
      minSession: r.settings.minSessionS,
      aqhQualifier: r.settings.aqhQualifierS,
      maxSession: r.settings.maxSessionS,
    },
    sessions,
    minutes,
    quarterHours,
    summary,
  };
}

/** Listeners right now on one stream: listening seconds placed in the last minute / 60. */
export interface LiveStream {
  stream: string;
  listeners: number;
}

/**
 * Live listeners (DESIGN section 4): per event `stream`, the listening seconds of raw
 * listen_events (counted or not, finalized or not) placed in `(now - 60 s, now]`, / 60. An event's
 * seconds are spread evenly over `(time - duration, time]`, as everywhere else.
 */
export async function liveListeners(db: Queryable, now: number | Date = Date.now()): Promise<LiveStream[]> {
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const rows = await db.query<{ stream: string; ms: number }>(
    `select stream,
      sum(greatest(0, least(t_ms, $3::float8) - greatest(t_ms - duration_ms, $3::float8 - 60000)))::float8 as ms
      from (select stream, ${epochMs('time')} as t_ms, duration_ms from listen_events
        where time > $1::timestamptz and time < $2::timestamptz + interval '1 day' and duration_ms > 0) e
      group by stream`,
    [isoTime(nowMs - MINUTE_MS), isoTime(nowMs), nowMs],
  );
  return rows
    .filter((row) => row.ms > 0)
    .map((row) => ({ stream: row.stream, listeners: row.ms / MINUTE_MS }))
    .sort((a, b) => byText(a.stream, b.stream));
}

/** Upper bounds (exclusive, seconds) of the session-length histogram's bins; the last is open. */
export const SESSION_LENGTH_BINS: readonly { label: string; fromS: number; toS: number | null }[] = [
  { label: 'under 1 min', fromS: 0, toS: 60 },
  { label: '1-10 min', fromS: 60, toS: 600 },
  { label: '10-30 min', fromS: 600, toS: 1800 },
  { label: '30-90 min', fromS: 1800, toS: 5400 },
  { label: '90 min-4 h', fromS: 5400, toS: 14_400 },
  { label: 'over 4 h', fromS: 14_400, toS: null },
];

/** Selection shared by the breakdown queries: sessions that START in the period's quarter-hours. */
export interface SessionSelection {
  from: number;
  to: number;
  tz?: string | undefined;
  daypart?: Daypart | null | undefined;
  streams?: readonly string[] | undefined;
}

function startSelection(
  sel: SessionSelection,
): { qhs: string[]; lo: string; hi: string; streams: string[] | null } | undefined {
  const qhList = periodQuarterHours(sel.from, sel.to, sel.tz ?? 'UTC', sel.daypart ?? null);
  if (qhList.length === 0) return undefined;
  return {
    qhs: qhList.map(isoTime),
    lo: isoTime(qhList[0]!),
    hi: isoTime(qhList[qhList.length - 1]! + QUARTER_HOUR_MS),
    streams: sel.streams && sel.streams.length > 0 ? [...new Set(sel.streams)] : null,
  };
}

const START_IN_PERIOD = `start >= $2::timestamptz and start < $3::timestamptz
  and date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') = any(($1::text[])::timestamptz[])
  and ($4::text[] is null or stream = any($4::text[]))`;

/**
 * Session-length histogram of the sessions starting in the period's quarter-hours (daypart
 * applied): the counted sessions by listening time, plus the short sessions (tune-outs, from
 * `short_sessions`) in the first bin. Counts in {@link SESSION_LENGTH_BINS} order.
 */
export async function sessionLengthHistogram(
  db: Queryable,
  sel: SessionSelection,
): Promise<{ label: string; fromS: number; toS: number | null; sessions: number; short: number }[]> {
  const s = startSelection(sel);
  const counts = SESSION_LENGTH_BINS.map((bin) => ({ ...bin, sessions: 0, short: 0 }));
  if (!s) return counts;
  const bounds = SESSION_LENGTH_BINS.slice(1).map((b) => b.fromS * 1000);
  const params = [s.qhs, s.lo, s.hi, s.streams, bounds];
  const [counted, short] = await Promise.all([
    db.query<{ bin: number; n: number }>(
      `select width_bucket(duration_ms, $5::bigint[]) as bin, count(*)::float8 as n from sessions
        where ${START_IN_PERIOD} group by 1`,
      params,
    ),
    db.query<{ n: number }>(
      `select count(*)::float8 as n from short_sessions where ${START_IN_PERIOD}`,
      params.slice(0, 4),
    ),
  ]);
  for (const row of counted) counts[row.bin]!.sessions += row.n;
  counts[0]!.short = short[0]?.n ?? 0;
  return counts;
}

/** Counted sessions starting in the period, grouped by a column of `sessions`. */
export interface SessionGroup {
  /** The column's value (null when absent). */
  value: string | null;
  sessions: number;
  /** Their listening time (whole sessions), integer ms. */
  durationMs: number;
}

/**
 * Counted sessions that start in the period's quarter-hours (daypart applied), grouped by `output`
 * or by `ua` (the first user agent of the session), with their total listening time.
 */
export async function sessionsBy(
  db: Queryable,
  column: 'output' | 'ua',
  sel: SessionSelection,
): Promise<SessionGroup[]> {
  const s = startSelection(sel);
  if (!s) return [];
  const rows = await db.query<{ value: string | null; sessions: number; duration_ms: number }>(
    `select ${column === 'output' ? 'output' : 'ua'} as value, count(*)::float8 as sessions, sum(duration_ms)::float8 as duration_ms
      from sessions where ${START_IN_PERIOD} group by 1`,
    [s.qhs, s.lo, s.hi, s.streams],
  );
  return rows
    .map((row) => ({ value: row.value, sessions: row.sessions, durationMs: row.duration_ms }))
    .sort((a, b) => byText(a.value ?? '', b.value ?? ''));
}

/**
 * The streams with counted listening, with their first and last minute of listening (epoch ms; the
 * last is the minute's start). From `stream_minutes`, so it stays cheap on a large station.
 */
export async function listStreams(
  db: Queryable,
): Promise<{ stream: string; firstMinuteMs: number; lastMinuteMs: number }[]> {
  const rows = await db.query<{ stream: string; first_ms: number; last_ms: number }>(
    `select stream, ${epochMs('min(minute)')} as first_ms, ${epochMs('max(minute)')} as last_ms from stream_minutes group by stream`,
  );
  return rows
    .map((row) => ({ stream: row.stream, firstMinuteMs: row.first_ms, lastMinuteMs: row.last_ms }))
    .sort((a, b) => byText(a.stream, b.stream));
}

/**
 * Short sessions (tune-outs, under minSession) whose start lies in `[from, to)`, by stream (the
 * CLI's table shows them beside the report).
 */
export async function shortSessionCounts(
  db: Queryable,
  sel: { from: number; to: number; streams?: readonly string[] | undefined },
): Promise<Map<string, number>> {
  if (!(sel.to > sel.from)) return new Map();
  const rows = await db.query<{ stream: string; n: number }>(
    `select stream, count(*)::float8 as n from short_sessions
      where start >= $1::timestamptz and start < $2::timestamptz and ($3::text[] is null or stream = any($3::text[]))
      group by stream`,
    [isoTime(sel.from), isoTime(sel.to), sel.streams && sel.streams.length > 0 ? [...sel.streams] : null],
  );
  return new Map(rows.map((r) => [r.stream, r.n]));
}
