import {
  type BreakdownDimension,
  type BreakdownRow,
  breakdownRows,
  EXCLUSION_REASONS,
  type ExclusionReason,
  isoTime,
  QUARTER_HOUR_MS,
  type ReportSummary,
  summarizeTotals,
} from '@earshot/core';
import type { Queryable } from '../client.js';
import { addMonthBits, bitText } from '../months.js';
import { leftRunningParameters, leftRunningSql } from './audience.js';
import type { ResolvedReport } from './options.js';
import { GAP_ROWS, gapParameters, periodQuarterHours } from './rollup-totals.js';
import { byText, withWorkMem } from './sql.js';

/** The dimensions the audience rollups hold (class is not: they hold human sessions only). */
export type AudienceDimension = Exclude<BreakdownDimension, 'class'>;
export const AUDIENCE_DIMENSIONS: readonly AudienceDimension[] = [
  'country',
  'device',
  'os',
  'player',
  'output',
];

/** The audience of a session row in SQL, as the rollups store it (`s` the sessions row). */
const AUDIENCE_OF_SESSION = `coalesce(s.country, 'unknown') as country, s.device, s.os, s.player, s.output`;

type Audience = Record<AudienceDimension, string>;
interface Figures {
  ms: number;
  rows: number;
  continuing: number;
  starts: number;
  qualified: number;
  gaps: number;
  bot: number;
  relay: number;
  monitor: number;
  leftRunning: number;
}

/**
 * The net breakdowns by each of `dims` (core's `Report.breakdown` for `by` = each) from the audience
 * rollups: `stream_audience_quarter_hours` for the listening, qualified QHs, runs and starts, summed
 * per value over the audiences in JavaScript (every figure but cume adds up); cume from
 * `stream_audience_months` (or, with `cume: 'runs'`, the sessions' first rows in the period), one distinct
 * count per dimension. Active sessions are corrected as {@link rollupTotals} corrects them, and the
 * excluded and left-running counts come from the few per-session rows they concern. `k` is the
 * rollup's qualifier column. Equal to `breakdownFromDb` (tested).
 */
export async function rollupBreakdowns(
  db: Queryable,
  r: ResolvedReport,
  dims: readonly AudienceDimension[],
  k: number,
): Promise<Map<AudienceDimension, BreakdownRow[]>> {
  const out = new Map<AudienceDimension, BreakdownRow[]>(dims.map((d) => [d, []]));
  if (r.qhList.length === 0 || dims.length === 0) return out;
  const { streams, qhs, follows, runStarts } = await periodQuarterHours(db, r);
  const [sums, gaps, excluded, left, cume] = await Promise.all([
    db.query<
      Audience & { ms: number; rows: number; continuing: number | null; starts: number; qualified: number }
    >(
      `select t.country, t.device, t.os, t.player, t.output, sum(t.ms)::float8 as ms, sum(t.sessions)::float8 as rows,
        (sum(t.continuing) filter (where p.follows = 1))::float8 as continuing, sum(t.starts)::float8 as starts,
        sum(case when $3::int = 0 then t.sessions else t.qualified[$3::int] end)::float8 as qualified
        from stream_audience_quarter_hours t
        join unnest(($1::text[])::timestamptz[], $4::int[]) as p(qh, follows) on t.quarter_hour = p.qh
        where t.stream = any($2::text[])
        group by 1, 2, 3, 4, 5`,
      [qhs, streams, k, follows],
    ),
    db.query<Audience & { n: number }>(
      `select ${AUDIENCE_OF_SESSION}, count(*)::float8 as n
        from (select t.session, t.session_start ${GAP_ROWS}) g join sessions s on s.session = g.session and s.start = g.session_start
        where $3::text is null -- (no group key here)
        group by 1, 2, 3, 4, 5`,
      [qhs, streams, null, ...gapParameters(r)],
    ),
    db.query<Audience & { class: ExclusionReason; n: number }>(
      `select x.class, ${AUDIENCE_OF_SESSION}, count(*)::float8 as n from (
          select distinct t.session, t.session_start, t.class from session_quarter_hours t
          where t.class <> 'human' and t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
            and t.stream = any($2::text[])
        ) x join sessions s on s.session = x.session and s.start = x.session_start
        group by 1, 2, 3, 4, 5, 6`,
      [qhs, streams],
    ),
    db.query<Audience & { n: number }>(
      `with l as materialized (${leftRunningSql(r)})
        select ${AUDIENCE_OF_SESSION}, count(*)::float8 as n
        from l join sessions s on s.session = l.session and s.start = l.start
        where $3::text is null -- (no group key here)
        group by 1, 2, 3, 4, 5`,
      leftRunningParameters({ ...r, streams: [...streams], groupAs: undefined }),
    ),
    audienceCume(db, r, dims, streams, runStarts, qhs),
  ]);

  for (const dim of dims) {
    const byValue = new Map<string, Figures>();
    const at = (a: Audience) => {
      let f = byValue.get(a[dim]);
      if (!f) {
        f = {
          ms: 0,
          rows: 0,
          continuing: 0,
          starts: 0,
          qualified: 0,
          gaps: 0,
          bot: 0,
          relay: 0,
          monitor: 0,
          leftRunning: 0,
        };
        byValue.set(a[dim], f);
      }
      return f;
    };
    for (const s of sums) {
      const f = at(s);
      f.ms += s.ms;
      f.rows += s.rows;
      f.continuing += s.continuing ?? 0;
      f.starts += s.starts;
      f.qualified += s.qualified;
    }
    for (const g of gaps) at(g).gaps += g.n;
    for (const e of excluded) if (EXCLUSION_REASONS.includes(e.class)) at(e)[e.class] += e.n;
    for (const l of left) at(l).leftRunning += l.n;
    const cumeOf = cume.get(dim) ?? new Map<string, number>();
    const summary: ReportSummary[] = [...byValue]
      .filter(([, f]) => f.ms > 0)
      .sort((a, b) => byText(a[0], b[0]))
      .map(([value, f]) =>
        summarizeTotals({
          stream: value,
          listeningMs: f.ms,
          qualified: f.qualified,
          quarterHours: r.qhList.length,
          activeSessions: f.rows - f.continuing - f.gaps,
          sessionStarts: f.starts,
          cume: cumeOf.get(value) ?? 0,
          excluded: { bot: f.bot, relay: f.relay, monitor: f.monitor },
          leftRunning: f.leftRunning,
        }),
      );
    out.set(dim, breakdownRows(summary));
  }
  return out;
}

/**
 * Cume per value of each dimension: distinct cume keys with listening in the period by that value,
 * in one statement (the active keys' audiences once, then a distinct count per dimension).
 */
async function audienceCume(
  db: Queryable,
  r: ResolvedReport,
  dims: readonly AudienceDimension[],
  streams: readonly string[],
  runStarts: readonly string[],
  qhs: readonly string[],
): Promise<Map<AudienceDimension, Map<string, number>>> {
  // By default from the audience months whatever the period's length: the sessions' first rows would
  // each need their session's audience (a join per row), which costs more than a month's keys.
  const source = r.cume === 'auto' ? 'months' : r.cume;
  let active: string;
  let params: unknown[];
  if (source === 'months') {
    const masks = [...addMonthBits(new Map(), r.qhList).values()];
    active = `select t.key_id as key, t.country, t.device, t.os, t.player, t.output from stream_audience_months t
        join unnest(($2::text[])::timestamptz[], $3::varbit[]) as p(month, mask) on t.month = p.month
        where t.stream = any($1::text[]) and bit_count(t.qhs & p.mask) > 0`;
    params = [streams, masks.map((m) => isoTime(m.month)), masks.map((m) => bitText(m.bits))];
  } else {
    // Each active session's first row in the period (as cume's runs), with its session's audience.
    active = `select coalesce(t.listener, 'session:' || t.session) as key, ${AUDIENCE_OF_SESSION}
        from (
          select t.session, t.session_start, t.listener from session_quarter_hours t
            where not t.continues and t.quarter_hour >= $4::timestamptz and t.quarter_hour < $5::timestamptz
              and t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
              and t.stream = any($2::text[]) and t.class = 'human'
          union
          select t.session, t.session_start, t.listener from session_quarter_hours t
            where t.continues and t.quarter_hour in (select unnest(($3::text[])::timestamptz[]))
              and t.stream = any($2::text[]) and t.class = 'human'
        ) t join sessions s on s.session = t.session and s.start = t.session_start`;
    params = [qhs, streams, runStarts, qhs[0], isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS)];
  }
  const rows = await withWorkMem(db, (q) =>
    q.query<{ dim: AudienceDimension; value: string; cume: number }>(
      `with a as materialized (${active})
      ${dims
        .map(
          (d) =>
            `select '${d}'::text as dim, ${d} as value, count(*)::float8 as cume from (select distinct ${d}, key from a) x group by 2`,
        )
        .join('\n      union all ')}`,
      params,
    ),
  );
  const out = new Map<AudienceDimension, Map<string, number>>();
  for (const row of rows) {
    let m = out.get(row.dim);
    if (!m) {
      m = new Map();
      out.set(row.dim, m);
    }
    m.set(row.value, row.cume);
  }
  return out;
}
