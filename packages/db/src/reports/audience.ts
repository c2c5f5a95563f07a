import {
  type BreakdownDimension,
  type BreakdownRow,
  breakdownRows,
  EXCLUSION_REASONS,
  type ExclusionReason,
  isoTime,
  MAX_DURATION_S,
  MINUTE_MS,
  periodMinuteRanges,
  QUARTER_HOUR_MS,
  type ReportSummary,
  summarizeTotals,
} from '@earshot/core';
import type { Queryable } from '../client.js';
import type { ResolvedReport } from './options.js';
import { byText, epochMs, withWorkMem } from './sql.js';

// Net and gross (DESIGN 4) from the stored rows: the rollups hold human sessions only, so what a
// net report needs beyond them (the excluded counts, the sessions left running) and what a gross
// report adds (the excluded sessions' minutes) come from the per-session rows here. A session's
// class is the same on its `sessions` row and every one of its `session_quarter_hours` rows.

/** Whether the report counts every class (gross) rather than humans only (net). */
const gross = (r: ResolvedReport) => r.basis === 'gross';

/** Active sessions of another class than human, per stream (or group) and reason. */
export async function excludedCounts(
  db: Queryable,
  r: ResolvedReport,
): Promise<Map<string, Record<ExclusionReason, number>>> {
  const out = new Map<string, Record<ExclusionReason, number>>();
  if (r.qhList.length === 0) return out;
  const rows = await db.query<{ stream: string; class: ExclusionReason; n: number }>(
    `select coalesce($3::text, stream) as stream, class, count(*)::float8 as n from (
        select distinct t.stream, t.session, t.session_start, t.class from session_quarter_hours t
        where t.class <> 'human' and t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
          and ($2::text[] is null or t.stream = any($2::text[]))
      ) x group by 1, 2`,
    [r.qhList.map(isoTime), r.streams, r.groupAs ?? null],
  );
  for (const row of rows) {
    let counts = out.get(row.stream);
    if (!counts) {
      counts = { bot: 0, relay: 0, monitor: 0 };
      out.set(row.stream, counts);
    }
    if (EXCLUSION_REASONS.includes(row.class)) counts[row.class] += row.n;
  }
  return out;
}

/** The bound of the partial index `sessions_long`: a query that states it can use the index. */
const LONG_MS = 3_600_000;

/**
 * The sessions {@link leftRunningCounts} counts, as a subquery with their `session`, `start` and
 * `stream` (parameters: {@link leftRunningParameters}). The long sessions of the period come from
 * the partial index `sessions_long` alone when the threshold is an hour or more (its INCLUDE columns; a session with listening in the
 * period starts at most maxSession + a day's event before it); each is then checked for a row in
 * the period's QHs by its own key (a correlated EXISTS, which stops at the first such row, so
 * PostgreSQL never hashes the whole period's rows for a few sessions).
 */
export const leftRunningSql = (r: ResolvedReport) => `select s.session, s.start, s.stream from sessions s
      where s.duration_ms >= $4::bigint ${leftRunningMs(r) >= LONG_MS ? `and s.duration_ms >= ${LONG_MS}` : ''}
        and (s.class = 'human' or $5::boolean)
        and s.start < $7::timestamptz and s.start >= $8::timestamptz and s."end" >= $6::timestamptz
        and ($2::text[] is null or s.stream = any($2::text[]))
        and exists (select 1 from session_quarter_hours q where q.session = s.session and q.session_start = s.start
          and q.quarter_hour >= $6::timestamptz and q.quarter_hour < $7::timestamptz
          and ($9::int[])[(extract(epoch from (q.quarter_hour - $6::timestamptz)) / 900)::int + 1] = 1
          and $1::text[] is not null)`;

const leftRunningMs = (r: ResolvedReport) => Math.round(r.settings.leftRunningS * 1000);

/** The parameters of {@link leftRunningSql} ($3 is the group key, unused by it). */
export function leftRunningParameters(r: ResolvedReport): unknown[] {
  const lo = r.qhList[0]!;
  // The period as a 0/1 array from its first QH: a row's membership is one subscript.
  const inSet = new Array<number>((r.qhList[r.qhList.length - 1]! - lo) / QUARTER_HOUR_MS + 1).fill(0);
  for (const q of r.qhList) inSet[(q - lo) / QUARTER_HOUR_MS] = 1;
  return [
    r.qhList.map(isoTime),
    r.streams,
    r.groupAs ?? null,
    leftRunningMs(r),
    gross(r),
    isoTime(lo),
    isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS),
    isoTime(lo - (r.settings.maxSessionS + MAX_DURATION_S) * 1000),
    inSet,
  ];
}

/**
 * Sessions counted in the report (human unless gross) with listening in the period and at least
 * `leftRunning` seconds of listening in all, per stream (or group).
 */
export async function leftRunningCounts(db: Queryable, r: ResolvedReport): Promise<Map<string, number>> {
  if (r.qhList.length === 0) return new Map();
  const rows = await db.query<{ stream: string; n: number }>(
    `select coalesce($3::text, s.stream) as stream, count(*)::float8 as n from (${leftRunningSql(r)}) s group by 1`,
    leftRunningParameters(r),
  );
  return new Map(rows.map((row) => [row.stream, row.n]));
}

/**
 * The minutes the excluded sessions add to a gross report's series (the rollup has the humans'):
 * per stream (or group) and minute, their listening ms and sessions, from their `minute_ms` arrays.
 */
export async function excludedMinutes(
  db: Queryable,
  r: ResolvedReport,
): Promise<{ stream: string; minute: number; ms: number; sessions: number }[]> {
  const ranges = periodMinuteRanges(r.from, r.to, r.tz, r.daypart);
  if (ranges.from.length === 0) return [];
  const lo = ranges.from[0]!;
  const hi = ranges.to[ranges.to.length - 1]!;
  const rows = await db.query<{ stream: string; minute_ms: number; ms: number; sessions: number }>(
    `select coalesce($4::text, s.stream) as stream, ${epochMs('s.first_minute')} + (m.i - 1) * ${MINUTE_MS} as minute_ms,
        sum(m.ms)::float8 as ms, count(*)::float8 as sessions
      from sessions s cross join lateral unnest(s.minute_ms) with ordinality as m(ms, i)
      where s.class <> 'human' and s.start < $6::timestamptz and s."end" >= $5::timestamptz and m.ms > 0
        and ($3::text[] is null or s.stream = any($3::text[]))
        and s.first_minute + (m.i - 1) * interval '1 minute' <@ (select range_agg(tstzrange(lo, hi, '[)'))
          from unnest(($1::text[])::timestamptz[], ($2::text[])::timestamptz[]) as x(lo, hi))
      group by 1, 2`,
    [
      ranges.from.map(isoTime),
      ranges.to.map(isoTime),
      r.streams,
      r.groupAs ?? null,
      isoTime(lo),
      isoTime(hi),
    ],
  );
  return rows.map((row) => ({
    stream: row.stream,
    minute: row.minute_ms,
    ms: row.ms,
    sessions: row.sessions,
  }));
}

/** The `sessions` column a dimension groups by (`unknown` for a missing country, as core has it). */
const GROUP_SQL: Record<BreakdownDimension, string> = {
  country: `coalesce(s.country, 'unknown')`,
  device: 's.device',
  os: 's.os',
  player: 's.player',
  output: 's.output',
  class: 's.class',
};

/**
 * The report's breakdown (core's `Report.breakdown`): the summary figures of all selected streams
 * together per value of `r.by`, from the per-session rows (`session_quarter_hours` for the period's
 * listening, `sessions` for the value and the starts).
 */
export async function breakdownFromDb(db: Queryable, r: ResolvedReport): Promise<BreakdownRow[]> {
  if (r.by === null || r.qhList.length === 0) return [];
  const group = GROUP_SQL[r.by];
  const qhs = r.qhList.map(isoTime);
  const lo = qhs[0]!;
  const hi = isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS);
  const leftMs = Math.round(r.settings.leftRunningS * 1000);
  const [figures, starts] = await Promise.all([
    withWorkMem(db, (q) =>
      q.query<{
        value: string;
        ms: number | null;
        active: number;
        qualified: number | null;
        cume: number;
        bot: number;
        relay: number;
        monitor: number;
        left_running: number;
      }>(
        `with per_session as (
            select t.session, t.session_start, min(t.listener) as listener, sum(t.ms) as ms,
              count(*) filter (where t.ms >= $3::bigint) as qualified
            from session_quarter_hours t
            where t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
              and ($2::text[] is null or t.stream = any($2::text[]))
            group by t.session, t.session_start
          ), classed as (
            select ${group} as value, s.class, s.duration_ms, p.ms, p.qualified,
              coalesce(p.listener, 'session:' || p.session) as key, (s.class = 'human' or $4::boolean) as counted
            from per_session p join sessions s on s.session = p.session and s.start = p.session_start
          )
          select value, (sum(ms) filter (where counted))::float8 as ms, (count(*) filter (where counted))::float8 as active,
            (sum(qualified) filter (where counted))::float8 as qualified,
            (count(distinct key) filter (where counted))::float8 as cume,
            (count(*) filter (where class = 'bot'))::float8 as bot,
            (count(*) filter (where class = 'relay'))::float8 as relay,
            (count(*) filter (where class = 'monitor'))::float8 as monitor,
            (count(*) filter (where counted and duration_ms >= $5::bigint))::float8 as left_running
          from classed group by value`,
        [qhs, r.streams, r.qualifierMs, gross(r), leftMs],
      ),
    ),
    db.query<{ value: string; starts: number }>(
      `select ${group} as value, count(*)::float8 as starts from sessions s
        where s.start >= $3::timestamptz and s.start < $4::timestamptz
          and date_bin('15 minutes', s.start, timestamptz '1970-01-01 00:00:00+00') in (select unnest(($1::text[])::timestamptz[]))
          and ($2::text[] is null or s.stream = any($2::text[])) and (s.class = 'human' or $5::boolean)
        group by 1`,
      [qhs, r.streams, lo, hi, gross(r)],
    ),
  ]);
  const startsBy = new Map(starts.map((s) => [s.value, s.starts]));
  const summary: ReportSummary[] = figures
    .filter((f) => (f.ms ?? 0) > 0)
    .sort((a, b) => byText(a.value, b.value))
    .map((f) =>
      summarizeTotals({
        stream: f.value,
        listeningMs: f.ms ?? 0,
        qualified: f.qualified ?? 0,
        quarterHours: r.qhList.length,
        activeSessions: f.active,
        sessionStarts: startsBy.get(f.value) ?? 0,
        cume: f.cume,
        excluded: { bot: f.bot, relay: f.relay, monitor: f.monitor },
        leftRunning: f.left_running,
      }),
    );
  return breakdownRows(summary);
}
