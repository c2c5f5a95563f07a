import {
  bucketStart,
  type Daypart,
  inDaypart,
  isoTime,
  localTime,
  MINUTE_MS,
  periodQuarterHours,
  QUARTER_HOUR_MS,
  REPORT_PARTS,
  type Report,
  type ReportMinute,
  type ReportOptions,
  type ReportPart,
  type ReportQuarterHour,
  type ReportSession,
  type ReportSummary,
  resolvePeriod,
  resolveSettings,
} from '@earshot/core';
import type { Db, Queryable } from './client.js';
import { addMonthBits, bitText } from './months.js';
import { QUALIFIER_MINUTES } from './schema.js';

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

// The four row lists of a report (a report may be asked for only some of them) are core's.
export { REPORT_PARTS, type ReportPart };

export interface DbReportOptions extends ReportOptions {
  /**
   * Report the selected streams as ONE stream with this key (a station): sessions, minutes and
   * quarter-hours are summed across them and cume counts a listener once across them. Equal to core's
   * report over the same events with every selected stream key renamed to `groupAs`.
   */
  groupAs?: string | undefined;
  /** Which lists to compute; the others come back empty. Default all. */
  parts?: readonly ReportPart[] | undefined;
  /**
   * Read the quarter-hour rollup (`stream_quarter_hours`, see {@link rebuildQuarterHourRollup}); default
   * true. `false` computes the same figures from the per-session rows alone (slower; for checks).
   */
  rollup?: boolean | undefined;
  /**
   * Which stored rows cume is counted from: `runs` (each session's first quarter-hour in the
   * period, cheap for short periods), `months` (`stream_listener_months`, one row per listener and
   * month, cheap for long ones) or `auto` (default: months beyond a week). Same figures either way.
   */
  cume?: 'auto' | 'runs' | 'months' | undefined;
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

/**
 * The data extent core uses when `from` or `to` is not given (see core's `dataExtent`): from the
 * first placed minute or session start to the last session end of the selected streams. Index
 * lookups only: per stream the first and last start (`sessions_stream_start`) and first minute
 * (`stream_minutes`), then the last end among sessions that start within `maxSession` of the last
 * start (a session is never longer, so no other session can end later).
 */
async function dataExtent(
  db: Queryable,
  streams: readonly string[] | null,
  maxSessionS: number,
): Promise<{ from: number; to: number } | undefined> {
  const perStream = await db.query<{
    stream: string;
    first_ms: number;
    last_start_ms: number;
    first_minute_ms: number | null;
  }>(
    `with recursive known(stream) as (
        select min(stream) from sessions
        union all
        select (select min(s.stream) from sessions s where s.stream > known.stream) from known where known.stream is not null
      )
      select stream, ${epochMs('(select min(start) from sessions s where s.stream = known.stream)')} as first_ms,
        ${epochMs('(select max(start) from sessions s where s.stream = known.stream)')} as last_start_ms,
        ${epochMs('(select min(minute) from stream_minutes m where m.stream = known.stream)')} as first_minute_ms
      from known where stream is not null and ($1::text[] is null or stream = any($1::text[]))`,
    [streams],
  );
  if (perStream.length === 0) return undefined;
  let lo = Number.POSITIVE_INFINITY;
  for (const p of perStream) lo = Math.min(lo, p.first_ms, p.first_minute_ms ?? Number.POSITIVE_INFINITY);
  // One query per stream with its own bound, so PostgreSQL sees the bound and scans the index.
  const ends = await Promise.all(
    perStream.map((p) =>
      db.query<{ hi: number | null }>(
        `select ${epochMs('max("end")')} as hi from sessions where stream = $1 and start >= $2::timestamptz`,
        [p.stream, isoTime(p.last_start_ms - maxSessionS * 1000)],
      ),
    ),
  );
  let hi = Number.NEGATIVE_INFINITY;
  for (const e of ends) if (e[0]?.hi != null) hi = Math.max(hi, e[0].hi);
  // The first minute with listening, or a start: both land in the quarter-hour core takes.
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
  cume: 'auto' | 'runs' | 'months';
}

const selectedStreams = (options: DbReportOptions) =>
  options.streams && options.streams.length > 0 ? [...new Set(options.streams)] : null;

/**
 * The period `[from, to)` (epoch ms) that {@link reportFromDb} reports for `options`: the bounds
 * given, the stored data's extent (whole quarter-hours) for a bound not given, as core's
 * `resolvePeriod` settles it offline.
 */
export async function reportPeriod(
  db: Queryable,
  options: DbReportOptions,
): Promise<{ from: number; to: number }> {
  const extent =
    options.from === undefined || options.to === undefined
      ? await dataExtent(db, selectedStreams(options), resolveSettings(options).maxSessionS)
      : undefined;
  return resolvePeriod(options, extent);
}

async function resolveOptions(db: Queryable, options: DbReportOptions): Promise<Resolved> {
  const settings = resolveSettings(options);
  const tz = options.tz ?? 'UTC';
  const daypart = options.daypart ?? null;
  const streams = selectedStreams(options);
  const { from, to } = await reportPeriod(db, options);
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
    cume: options.cume ?? 'auto',
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
  // One row per stream with the series as one text of `minute,ms,sessions,...` (minute as whole
  // minutes after the period's first): far cheaper to produce, transfer and parse than a row per
  // minute or three arrays. stream_minutes has one row per (stream, minute): only a group of streams
  // needs summing. (date_part of a whole-second interval is an exact float8.)
  const inPeriod = `m.minute >= $5::timestamptz and m.minute < $6::timestamptz
    and m.minute <@ (select range_agg(tstzrange(lo, hi, '[)'))
      from unnest(($1::text[])::timestamptz[], ($2::text[])::timestamptz[]) as r(lo, hi))
    and ($3::text[] is null or m.stream = any($3::text[]))`;
  const offset = (column: string) => `(date_part('epoch', ${column} - $5::timestamptz)::bigint / 60)`;
  const sql =
    r.groupAs === undefined
      ? `select m.stream, string_agg(${offset('m.minute')} || ',' || m.ms || ',' || m.sessions, ',' order by m.minute) as series
          from stream_minutes m where ${inPeriod} and $4::text is null group by m.stream`
      : `select $4::text as stream, string_agg(${offset('minute')} || ',' || ms || ',' || sessions, ',' order by minute) as series
          from (select m.minute, sum(m.ms) as ms, sum(m.sessions) as sessions
            from stream_minutes m where ${inPeriod} group by m.minute) x`;
  const first = ranges.from[0]!;
  const rows = (
    await db.query<{ stream: string | null; series: string | null }>(sql, [
      ranges.from,
      ranges.to,
      r.streams,
      r.groupAs ?? null,
      first,
      ranges.to[ranges.to.length - 1],
    ])
  ).filter((row): row is { stream: string; series: string } => row.series !== null);
  rows.sort((a, b) => byText(a.stream, b.stream));
  const firstMs = Date.parse(first);
  const out: ReportMinute[] = [];
  for (const row of rows) {
    const values = row.series.split(',');
    for (let i = 0; i + 2 < values.length; i += 3) {
      out.push({
        stream: row.stream,
        minute: isoTime(firstMs + Number(values[i]) * MINUTE_MS),
        listeners: Number(values[i + 1]) / MINUTE_MS,
        sessions: Number(values[i + 2]),
      });
    }
  }
  return out;
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
    `select coalesce($4::text, t.stream) as stream, ${epochMs('t.quarter_hour')} as qh_ms,
      sum(t.ms)::float8 as ms, (count(*) filter (where t.ms >= $3::int))::float8 as qualified
      from session_quarter_hours t
      join unnest(($1::text[])::timestamptz[]) as p(qh) on t.quarter_hour = p.qh
      where ($2::text[] is null or t.stream = any($2::text[]))
      group by 1, t.quarter_hour`,
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
  const [totals, starts] = await Promise.all([
    // Hash aggregates only (no DISTINCT sort): listening per session, then per listener key, then
    // per stream. A session's listener is the same on each of its rows.
    withWorkMem(db, (q) =>
      q.query<TotalsRow & Record<string, unknown>>(
        `with per_session as (
          select t.stream, t.session, min(t.listener) as listener, sum(t.ms) as ms
          from session_quarter_hours t
          join unnest(($1::text[])::timestamptz[]) as p(qh) on t.quarter_hour = p.qh
          where ($2::text[] is null or t.stream = any($2::text[]))
          group by t.stream, t.session, t.session_start
        ), per_key as (
          select coalesce($3::text, stream) as stream, coalesce(listener, 'session:' || session) as key,
            sum(ms) as ms, count(*) as sessions
          from per_session group by 1, 2
        )
        select stream, sum(ms)::float8 as ms, sum(sessions)::float8 as active, count(*)::float8 as cume
        from per_key group by stream`,
        [qhs, r.streams, r.groupAs ?? null],
      ),
    ),
    db.query<{ stream: string; starts: number }>(
      `select coalesce($3::text, s.stream) as stream, count(*)::float8 as starts
        from sessions s
        join unnest(($1::text[])::timestamptz[]) as p(qh)
          on date_bin('15 minutes', s.start, timestamptz '1970-01-01 00:00:00+00') = p.qh
        where s.start >= $4::timestamptz and s.start < $5::timestamptz
          and ($2::text[] is null or s.stream = any($2::text[]))
        group by 1`,
      [qhs, r.streams, r.groupAs ?? null, qhs[0], isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS)],
    ),
  ]);
  return { totals, starts: new Map(starts.map((s) => [s.stream, s.starts])) };
}

/**
 * The quarter-hour rollup (`stream_quarter_hours`, with `session_quarter_hours.prev_quarter_hour`
 * and `continues`): the QH series, AQH, TLH, AAS, ATSL, active sessions and session starts come
 * from one row per stream and QH instead of one per session and QH, and cume from the sessions'
 * first rows in each run of the period. Same figures, bit for bit (tested against core).
 *
 * The worker keeps it current in each finalization transaction (see finalize.ts): for every counted
 * session row it inserts (+1) or removes (-1), `ms`, `sessions`, `continuing` and `qualified[k]`
 * at each (stream, QH) with listening, and `starts` at the QH of its start. This rebuilds all of it
 * from `sessions` and `session_quarter_hours` (a repair, and the reference the tests compare the
 * worker's deltas with); the migration that added the rollup ran the same backfill.
 */
export async function rebuildQuarterHourRollup(db: Queryable): Promise<void> {
  await db.query(`update session_quarter_hours t set prev_quarter_hour = p.prev,
      continues = coalesce(p.prev = t.quarter_hour - interval '15 minutes', false)
    from (select session, session_start, quarter_hour,
        lag(quarter_hour) over (partition by session, session_start order by quarter_hour) as prev
      from session_quarter_hours) p
    where p.session = t.session and p.session_start = t.session_start and p.quarter_hour = t.quarter_hour
      and (t.prev_quarter_hour is distinct from p.prev
        or t.continues <> coalesce(p.prev = t.quarter_hour - interval '15 minutes', false))`);
  await db.query('delete from stream_quarter_hours');
  const qualified = Array.from(
    { length: QUALIFIER_MINUTES },
    (_, k) => `count(*) filter (where ms >= ${(k + 1) * MINUTE_MS})`,
  ).join(', ');
  await db.query(`insert into stream_quarter_hours (stream, quarter_hour, ms, sessions, continuing, starts, qualified)
    select coalesce(a.stream, b.stream), coalesce(a.qh, b.qh), coalesce(a.ms, 0), coalesce(a.n, 0), coalesce(a.c, 0),
      coalesce(b.starts, 0), coalesce(a.q, array_fill(0, array[${QUALIFIER_MINUTES}]))
    from (select stream, quarter_hour as qh, sum(ms) as ms, count(*) as n, count(*) filter (where continues) as c,
        array[${qualified}]::int[] as q
      from session_quarter_hours group by 1, 2) a
    full join (select stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') as qh, count(*) as starts
      from sessions group by 1, 2) b on a.stream = b.stream and a.qh = b.qh`);
}

/** The rollup's whole-minute qualifier column for a qualifier, or undefined when it has none. */
function rollupQualifier(qualifierMs: number): number | undefined {
  if (qualifierMs === 0) return 0;
  return qualifierMs % MINUTE_MS === 0 &&
    qualifierMs >= MINUTE_MS &&
    qualifierMs <= QUALIFIER_MINUTES * MINUTE_MS
    ? qualifierMs / MINUTE_MS
    : undefined;
}

async function rollupQuarterHours(db: Queryable, r: Resolved, k: number): Promise<QuarterHourRow[]> {
  if (r.qhList.length === 0) return [];
  const rows = await db.query<QuarterHourRow & Record<string, unknown>>(
    `select coalesce($4::text, t.stream) as stream, ${epochMs('t.quarter_hour')} as qh_ms, sum(t.ms)::float8 as ms,
      sum(case when $3::int = 0 then t.sessions else t.qualified[$3::int] end)::float8 as qualified
      from stream_quarter_hours t
      where t.quarter_hour in (select unnest(($1::text[])::timestamptz[])) and t.sessions > 0
        and ($2::text[] is null or t.stream = any($2::text[]))
      group by 1, t.quarter_hour`,
    [r.qhList.map(isoTime), r.streams, k, r.groupAs ?? null],
  );
  rows.sort((a, b) => byText(a.stream, b.stream) || a.qh_ms - b.qh_ms);
  return rows;
}

/**
 * Runs `fn` in a transaction with more `work_mem` when `db` can open one, so that a large hash
 * aggregate (cume over millions of rows) stays in memory instead of spilling to disk.
 */
async function withWorkMem<T>(db: Queryable, fn: (q: Queryable) => Promise<T>): Promise<T> {
  const transaction = (db as Partial<Db>).transaction?.bind(db) as Db['transaction'] | undefined;
  if (!transaction) return fn(db);
  return transaction<T>(async (tx) => {
    await tx.query(`set local work_mem = '128MB'`);
    return fn(tx);
  });
}

async function rollupTotals(
  db: Queryable,
  r: Resolved,
): Promise<{ totals: TotalsRow[]; starts: Map<string, number> }> {
  if (r.qhList.length === 0) return { totals: [], starts: new Map() };
  // A concrete stream list lets PostgreSQL use the (stream, quarter_hour) index.
  const streams =
    r.streams ??
    (await db.query<{ stream: string }>('select distinct stream from stream_quarter_hours')).map(
      (x) => x.stream,
    );
  const qhs = r.qhList.map(isoTime);
  const set = new Set(r.qhList);
  // Quarter-hours of the period whose previous QH is in it too, and those that start a run.
  const follows = r.qhList.map((q) => (set.has(q - QUARTER_HOUR_MS) ? 1 : 0));
  const runStarts = r.qhList.filter((q) => !set.has(q - QUARTER_HOUR_MS)).map(isoTime);
  // Run starts after the first, each with the last QH of the period before it; and the period as a
  // 0/1 array from its first QH, so a row's membership is one subscript (no per-row set lookup).
  const laterRunStarts: { qh: string; prevIn: string }[] = [];
  for (let i = 1; i < r.qhList.length; i++) {
    const q = r.qhList[i]!;
    const previous = r.qhList[i - 1]!;
    if (previous !== q - QUARTER_HOUR_MS) laterRunStarts.push({ qh: isoTime(q), prevIn: isoTime(previous) });
  }
  const first = r.qhList[0]!;
  const inSet = new Array<number>((r.qhList[r.qhList.length - 1]! - first) / QUARTER_HOUR_MS + 1).fill(0);
  for (const q of r.qhList) inSet[(q - first) / QUARTER_HOUR_MS] = 1;
  const lo = qhs[0];
  const hi = isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS);
  const params = [qhs, streams, r.groupAs ?? null, follows];
  const [sums, gaps, cumeByStream] = await Promise.all([
    // Active sessions = rows in the period - rows whose session's previous row is in the period too.
    db.query<{ stream: string; ms: number; rows: number; continuing: number; starts: number }>(
      `select coalesce($3::text, t.stream) as stream, sum(t.ms)::float8 as ms, sum(t.sessions)::float8 as rows,
        (sum(t.continuing) filter (where p.follows = 1))::float8 as continuing, sum(t.starts)::float8 as starts
        from stream_quarter_hours t
        join unnest(($1::text[])::timestamptz[], $4::int[]) as p(qh, follows) on t.quarter_hour = p.qh
        where ($2::text[] is null or t.stream = any($2::text[]))
        group by 1`,
      params.slice(0, 4),
    ),
    // The rollup counts runs of consecutive quarter-hours of a session inside the period. A session
    // with several runs (it left the period, by a daypart or a gap, and came back) is one active
    // session: subtract every run start that has an earlier row of its session in the period. Run
    // starts with a predecessor are rare: rows after a gap, and rows in a QH that starts a run of the
    // period (the day's first QH of a daypart) whose session listened just before it.
    db.query<{ stream: string; n: number }>(
      `select coalesce($3::text, t.stream) as stream, count(*)::float8 as n
        from (
          select stream, session, session_start, quarter_hour as before_qh from session_quarter_hours
            where not continues and prev_quarter_hour is not null
              and quarter_hour >= $4::timestamptz and quarter_hour < $5::timestamptz
              and quarter_hour in (select unnest(($1::text[])::timestamptz[])) and stream = any($2::text[])
          union all
          select s.stream, s.session, s.session_start, r.prev_in + interval '15 minutes'
            from unnest(($6::text[])::timestamptz[], ($7::text[])::timestamptz[]) as r(qh, prev_in)
            join session_quarter_hours s on s.quarter_hour = r.qh and s.continues and s.stream = any($2::text[])
        ) t
        where exists (select 1 from session_quarter_hours x
          where x.session = t.session and x.session_start = t.session_start
            and x.quarter_hour >= $4::timestamptz and x.quarter_hour < t.before_qh
            and ($8::int[])[(extract(epoch from (x.quarter_hour - $4::timestamptz)) / 900)::int + 1] = 1)
        group by 1`,
      [
        qhs,
        streams,
        r.groupAs ?? null,
        lo,
        hi,
        laterRunStarts.map((x) => x.qh),
        laterRunStarts.map((x) => x.prevIn),
        inSet,
      ],
    ),
    cumeOf(db, r, streams, runStarts, lo!, hi),
  ]);
  const gapByStream = new Map(gaps.map((g) => [g.stream, g.n]));
  return {
    totals: sums.map((s) => ({
      stream: s.stream,
      ms: s.ms,
      active: s.rows - (s.continuing ?? 0) - (gapByStream.get(s.stream) ?? 0),
      cume: cumeByStream.get(s.stream) ?? 0,
    })),
    starts: new Map(sums.map((s) => [s.stream, s.starts])),
  };
}

/** Periods of more than a week count cume from the listener months (see {@link DbReportOptions.cume}). */
const CUME_MONTHS_FROM_QHS = 7 * 96;

/**
 * Cume by stream (or one figure for `groupAs`): distinct cume keys with listening in the period.
 * Both sources give the same numbers; which is cheaper depends on the period's length.
 */
async function cumeOf(
  db: Queryable,
  r: Resolved,
  streams: readonly string[],
  runStarts: readonly string[],
  lo: string,
  hi: string,
): Promise<Map<string, number>> {
  const source = r.cume === 'auto' ? (r.qhList.length > CUME_MONTHS_FROM_QHS ? 'months' : 'runs') : r.cume;
  if (source === 'runs') {
    // Each active session's first row in the period is a row that does not continue, or one in a QH
    // that starts a run of the period.
    const rows = await withWorkMem(db, (q) =>
      q.query<{ stream: string; cume: number }>(
        `select stream, count(*)::float8 as cume from (
          select coalesce($3::text, t.stream) as stream, coalesce(t.listener, 'session:' || t.session) as key
            from session_quarter_hours t
            where not t.continues and t.quarter_hour >= $5::timestamptz and t.quarter_hour < $6::timestamptz
              and t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
              and ($2::text[] is null or t.stream = any($2::text[]))
          union
          select coalesce($3::text, t.stream), coalesce(t.listener, 'session:' || t.session)
            from session_quarter_hours t
            where t.continues and t.quarter_hour in (select unnest(($4::text[])::timestamptz[]))
              and ($2::text[] is null or t.stream = any($2::text[]))
        ) k group by stream`,
        [r.qhList.map(isoTime), streams, r.groupAs ?? null, runStarts, lo, hi],
      ),
    );
    return new Map(rows.map((c) => [c.stream, c.cume]));
  }
  // Listener months: keys whose month bits meet the period's. A key has one row per stream and
  // month, so a one-month count per stream needs no DISTINCT; otherwise key numbers are grouped.
  const masks = [...addMonthBits(new Map(), r.qhList).values()];
  const months = masks.map((m) => isoTime(m.month));
  const bits = masks.map((m) => bitText(m.bits));
  const count = (stream: readonly string[]) =>
    withWorkMem(db, (q) =>
      q.query<{ cume: number }>(
        stream.length === 1 && masks.length === 1
          ? `select count(*)::float8 as cume from stream_listener_months t
              where t.stream = ($1::text[])[1] and t.month = ($2::text[])[1]::timestamptz
                and bit_count(t.qhs & ($3::varbit[])[1]) > 0`
          : `select count(*)::float8 as cume from (select t.key_id from stream_listener_months t
              join unnest(($2::text[])::timestamptz[], $3::varbit[]) as p(month, mask) on t.month = p.month
              where t.stream = any($1::text[]) and bit_count(t.qhs & p.mask) > 0 group by t.key_id) k`,
        [stream, months, bits],
      ),
    ).then((rows) => rows[0]?.cume ?? 0);
  if (r.groupAs !== undefined) return new Map([[r.groupAs, await count(streams)]]);
  // One query per stream: they run side by side on the pool's connections.
  const counts = await Promise.all(streams.map((stream) => count([stream])));
  return new Map(streams.map((stream, i) => [stream, counts[i]!]));
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
  const useRollup = options.rollup !== false;
  const k = rollupQualifier(r.qualifierMs);
  const [sessions, minutes, qhRows, totals] = await Promise.all([
    parts.has('sessions') ? querySessions(db, r) : Promise.resolve([]),
    parts.has('minutes') ? queryMinutes(db, r) : Promise.resolve([]),
    !wantQh
      ? Promise.resolve([])
      : useRollup && k !== undefined
        ? rollupQuarterHours(db, r, k)
        : queryQuarterHours(db, r),
    !parts.has('summary') ? Promise.resolve(undefined) : useRollup ? rollupTotals(db, r) : queryTotals(db, r),
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
  // Each event's seconds count for its session's stream, as in reports: the stream of the session
  // id's first event (in the last day), so HLS segments of variants count for the group key of the
  // master playlist's start event. (A session resumed after a pause over `idle` is its own session
  // in reports, with its own first event; live still files it under the id's first stream.)
  const rows = await db.query<{ stream: string; ms: number }>(
    `select f.stream,
      sum(greatest(0, least(e.t_ms, $3::float8) - greatest(e.t_ms - e.duration_ms, $3::float8 - 60000)))::float8 as ms
      from (select session, ${epochMs('time')} as t_ms, duration_ms from listen_events
        where time > $1::timestamptz and time < $2::timestamptz + interval '1 day' and duration_ms > 0) e
      join lateral (select stream from listen_events s
        where s.session = e.session and s.time > $2::timestamptz - interval '1 day' and s.time <= $2::timestamptz + interval '1 day'
        order by s.time, (s.duration_ms > 0), s.id collate "C" limit 1) f on true
      group by f.stream`,
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
  and date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') in (select unnest(($1::text[])::timestamptz[]))
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
