import { isoTime, QUARTER_HOUR_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import type { ResolvedReport } from './options.js';
import { withWorkMem } from './sql.js';

/** One stream's (or group's) listening ms, active sessions and cume over the period's quarter-hours. */
export interface TotalsRow {
  stream: string;
  ms: number;
  active: number;
  cume: number;
}

/** The totals a summary needs besides the qualified counts: per stream, and session starts by stream. */
export interface ReportTotals {
  totals: TotalsRow[];
  starts: Map<string, number>;
}

/** The summary's totals from the per-session rows (`sessions`, `session_quarter_hours`). */
export async function queryTotals(db: Queryable, r: ResolvedReport): Promise<ReportTotals> {
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
          where ($2::text[] is null or t.stream = any($2::text[])) and (t.class = 'human' or $4::boolean)
          group by t.stream, t.session, t.session_start
        ), per_key as (
          select coalesce($3::text, stream) as stream, coalesce(listener, 'session:' || session) as key,
            sum(ms) as ms, count(*) as sessions
          from per_session group by 1, 2
        )
        select stream, sum(ms)::float8 as ms, sum(sessions)::float8 as active, count(*)::float8 as cume
        from per_key group by stream`,
        [qhs, r.streams, r.groupAs ?? null, r.basis === 'gross'],
      ),
    ),
    db.query<{ stream: string; starts: number }>(
      `select coalesce($3::text, s.stream) as stream, count(*)::float8 as starts
        from sessions s
        join unnest(($1::text[])::timestamptz[]) as p(qh)
          on date_bin('15 minutes', s.start, timestamptz '1970-01-01 00:00:00+00') = p.qh
        where s.start >= $4::timestamptz and s.start < $5::timestamptz
          and ($2::text[] is null or s.stream = any($2::text[])) and (s.class = 'human' or $6::boolean)
        group by 1`,
      [
        qhs,
        r.streams,
        r.groupAs ?? null,
        qhs[0],
        isoTime(r.qhList[r.qhList.length - 1]! + QUARTER_HOUR_MS),
        r.basis === 'gross',
      ],
    ),
  ]);
  return { totals, starts: new Map(starts.map((s) => [s.stream, s.starts])) };
}
