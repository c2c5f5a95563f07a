import { isoTime, QUARTER_HOUR_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import { cumeOf } from './cume.js';
import type { ResolvedReport } from './options.js';
import type { ReportTotals } from './totals.js';

/** Below this, a gap between two quarter-hours of the period is short (see {@link GAP_ROWS}). */
const LONG_GAP_MS = 3_600_000;

/**
 * Run starts with an earlier row of their session in the period (see {@link rollupTotals}): the
 * rows a session with several runs in the period has too many in the rollup. As `from ... t where
 * ...`, with t's stream, session and session_start; parameters as {@link gapParameters} lists them.
 *
 * Three kinds: rows after a gap in their session (an index of their own); rows that continue into
 * a QH starting a run of the period after a short gap (under an hour: every row of that QH is
 * looked at); and after a long gap (a daypart's next day), only the sessions whose listening spans
 * it, from the partial GiST index `sessions_span_long`: a session with a row in the period before
 * the gap listened from before the period's previous QH ended, and one with a row after it until
 * after that QH began. Its listening starts at its first minute, not at `start`: a later event may
 * report listening from before the first event's (events of a session may overlap). The candidate's
 * row at the run start is looked up by a scalar subquery, which PostgreSQL runs per candidate (as
 * EXISTS it became a semi-join that scanned every continuing row of the table).
 */
export const GAP_ROWS = `from (
          select stream, session, session_start, quarter_hour as before_qh from session_quarter_hours
            where not continues and prev_quarter_hour is not null and class = 'human'
              and quarter_hour >= $4::timestamptz and quarter_hour < $5::timestamptz
              and quarter_hour in (select unnest(($1::text[])::timestamptz[])) and stream = any($2::text[])
          union all
          select s.stream, s.session, s.session_start, r.prev_in + interval '15 minutes'
            from unnest(($6::text[])::timestamptz[], ($7::text[])::timestamptz[]) as r(qh, prev_in)
            join session_quarter_hours s on s.quarter_hour = r.qh and s.continues and s.stream = any($2::text[])
              and s.class = 'human'
          union all
          select s.stream, s.session, s.start, r.prev_in + interval '15 minutes'
            from unnest(($9::text[])::timestamptz[], ($10::text[])::timestamptz[]) as r(qh, prev_in)
            join sessions s on s."end" - s.first_minute >= interval '1 hour'
              and tstzrange(s.first_minute, s."end", '[]') @> tstzrange(r.prev_in + interval '15 minutes', r.qh, '[]')
              and s.stream = any($2::text[]) and s.class = 'human'
            where (select c.continues from session_quarter_hours c
              where c.session = s.session and c.session_start = s.start and c.quarter_hour = r.qh)
        ) t
        where exists (select 1 from session_quarter_hours x
          where x.session = t.session and x.session_start = t.session_start
            and x.quarter_hour >= $4::timestamptz and x.quarter_hour < t.before_qh
            and ($8::int[])[(extract(epoch from (x.quarter_hour - $4::timestamptz)) / 900)::int + 1] = 1)`;

/** The parameters of {@link GAP_ROWS} from $4 on ($1 the period's QHs, $2 the streams, $3 free). */
export function gapParameters(
  r: ResolvedReport,
): [string, string, string[], string[], number[], string[], string[]] {
  // Run starts after the first, each with the last QH of the period before it, split by the gap's
  // length; and the period as a 0/1 array from its first QH, so a row's membership is one subscript
  // (no per-row set lookup).
  const short = { qh: [] as string[], prevIn: [] as string[] };
  const long = { qh: [] as string[], prevIn: [] as string[] };
  for (let i = 1; i < r.qhList.length; i++) {
    const q = r.qhList[i]!;
    const previous = r.qhList[i - 1]!;
    if (previous === q - QUARTER_HOUR_MS) continue;
    const to = q - (previous + QUARTER_HOUR_MS) >= LONG_GAP_MS ? long : short;
    to.qh.push(isoTime(q));
    to.prevIn.push(isoTime(previous));
  }
  const first = r.qhList[0]!;
  const inSet = new Array<number>((r.qhList[r.qhList.length - 1]! - first) / QUARTER_HOUR_MS + 1).fill(0);
  for (const q of r.qhList) inSet[(q - first) / QUARTER_HOUR_MS] = 1;
  return [
    isoTime(first),
    isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS),
    short.qh,
    short.prevIn,
    inSet,
    long.qh,
    long.prevIn,
  ];
}

/** The period's streams and quarter-hours as the rollup queries take them. */
export interface PeriodQuarterHours {
  /**
   * The report's streams, or every stream with rollup rows: a concrete list lets PostgreSQL use
   * the (stream, quarter_hour) index.
   */
  streams: readonly string[];
  /** The period's quarter-hours, ISO. */
  qhs: string[];
  /** 1 where the quarter-hour's previous one is in the period too, else 0 (one per `qhs`). */
  follows: number[];
  /** The quarter-hours that start a run of the period's quarter-hours, ISO. */
  runStarts: string[];
}

export async function periodQuarterHours(db: Queryable, r: ResolvedReport): Promise<PeriodQuarterHours> {
  const streams =
    r.streams ??
    (await db.query<{ stream: string }>('select distinct stream from stream_quarter_hours')).map(
      (x) => x.stream,
    );
  const set = new Set(r.qhList);
  return {
    streams,
    qhs: r.qhList.map(isoTime),
    follows: r.qhList.map((q) => (set.has(q - QUARTER_HOUR_MS) ? 1 : 0)),
    runStarts: r.qhList.filter((q) => !set.has(q - QUARTER_HOUR_MS)).map(isoTime),
  };
}

/**
 * The summary's totals (net: the rollups hold human sessions) from the rollup (`stream_quarter_hours`), corrected for sessions a daypart
 * or a gap cuts into several runs; cume from {@link cumeOf} unless given. Equal to `queryTotals`.
 */
export async function rollupTotals(
  db: Queryable,
  r: ResolvedReport,
  /** Cume by stream when already counted (several dayparts' at once, see `monthsCumeOfMany`). */
  cume?: Map<string, number>,
): Promise<ReportTotals> {
  if (r.qhList.length === 0) return { totals: [], starts: new Map() };
  const { streams, qhs, follows, runStarts } = await periodQuarterHours(db, r);
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
        ${GAP_ROWS}
        group by 1`,
      [qhs, streams, r.groupAs ?? null, ...gapParameters(r)],
    ),
    cume ?? cumeOf(db, r, streams, runStarts, lo!, hi),
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
