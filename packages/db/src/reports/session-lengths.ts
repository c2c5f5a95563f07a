import type { Queryable } from '../client.js';
import { type SessionSelection, START_IN_PERIOD, startSelection } from './selection.js';

/** Upper bounds (exclusive, seconds) of the session-length histogram's bins; the last is open. */
export const SESSION_LENGTH_BINS: readonly { label: string; fromS: number; toS: number | null }[] = [
  { label: 'under 1 min', fromS: 0, toS: 60 },
  { label: '1-10 min', fromS: 60, toS: 600 },
  { label: '10-30 min', fromS: 600, toS: 1800 },
  { label: '30-90 min', fromS: 1800, toS: 5400 },
  { label: '90 min-4 h', fromS: 5400, toS: 14_400 },
  { label: 'over 4 h', fromS: 14_400, toS: null },
];

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
  const params = [s.qhs, s.lo, s.hi, s.streams, s.gross, bounds];
  const [counted, short] = await Promise.all([
    db.query<{ bin: number; n: number }>(
      `select width_bucket(duration_ms, $6::bigint[]) as bin, count(*)::float8 as n from sessions
        where ${START_IN_PERIOD} group by 1`,
      params,
    ),
    db.query<{ n: number }>(
      `select count(*)::float8 as n from short_sessions where ${START_IN_PERIOD}`,
      params.slice(0, 5),
    ),
  ]);
  for (const row of counted) counts[row.bin]!.sessions += row.n;
  counts[0]!.short = short[0]?.n ?? 0;
  return counts;
}
