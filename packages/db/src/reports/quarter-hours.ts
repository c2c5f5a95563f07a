import { isoTime } from '@earshot/core';
import type { Queryable } from '../client.js';
import type { ResolvedReport } from './options.js';
import { byText, epochMs } from './sql.js';

/** One stream's (or group's) quarter-hour: listening ms and sessions qualified, by stream, QH. */
export interface QuarterHourRow {
  stream: string;
  qh_ms: number;
  ms: number;
  qualified: number;
}

/**
 * The period's quarter-hours from the per-session rows (`session_quarter_hours`): no rollup needed;
 * human sessions only unless the report is gross.
 */
export async function queryQuarterHours(db: Queryable, r: ResolvedReport): Promise<QuarterHourRow[]> {
  if (r.qhList.length === 0) return [];
  const rows = await db.query<QuarterHourRow & Record<string, unknown>>(
    `select coalesce($4::text, t.stream) as stream, ${epochMs('t.quarter_hour')} as qh_ms,
      sum(t.ms)::float8 as ms, (count(*) filter (where t.ms >= $3::int))::float8 as qualified
      from session_quarter_hours t
      join unnest(($1::text[])::timestamptz[]) as p(qh) on t.quarter_hour = p.qh
      where ($2::text[] is null or t.stream = any($2::text[])) and (t.class = 'human' or $5::boolean)
      group by 1, t.quarter_hour`,
    [r.qhList.map(isoTime), r.streams, r.qualifierMs, r.groupAs ?? null, r.basis === 'gross'],
  );
  rows.sort((a, b) => byText(a.stream, b.stream) || a.qh_ms - b.qh_ms);
  return rows;
}
