import { isoTime, MINUTE_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import { QUALIFIER_MINUTES } from '../schema.js';
import type { ResolvedReport } from './options.js';
import type { QuarterHourRow } from './quarter-hours.js';
import { byText, epochMs } from './sql.js';

/** The rollup's whole-minute qualifier column for a qualifier, or undefined when it has none. */
export function rollupQualifier(qualifierMs: number): number | undefined {
  if (qualifierMs === 0) return 0;
  return qualifierMs % MINUTE_MS === 0 &&
    qualifierMs >= MINUTE_MS &&
    qualifierMs <= QUALIFIER_MINUTES * MINUTE_MS
    ? qualifierMs / MINUTE_MS
    : undefined;
}

/** The period's quarter-hours from `stream_quarter_hours` (qualifier column `k`, 0 = any listening). */
export async function rollupQuarterHours(
  db: Queryable,
  r: ResolvedReport,
  k: number,
): Promise<QuarterHourRow[]> {
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
