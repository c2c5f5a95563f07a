import type { Queryable } from '../client.js';
import { SESSION_LENGTH_BOUNDS_S } from '../schema.js';
import { type SessionSelection, START_IN_PERIOD, startSelection } from './selection.js';

const BIN_LABELS = ['under 1 min', '1-10 min', '10-30 min', '30-90 min', '90 min-4 h', 'over 4 h'];

/** The session-length histogram's bins ({@link SESSION_LENGTH_BOUNDS_S}): `[fromS, toS)`, the last open. */
export const SESSION_LENGTH_BINS: readonly { label: string; fromS: number; toS: number | null }[] =
  BIN_LABELS.map((label, i) => ({
    label,
    fromS: i === 0 ? 0 : SESSION_LENGTH_BOUNDS_S[i - 1]!,
    toS: SESSION_LENGTH_BOUNDS_S[i] ?? null,
  }));

/**
 * Session-length histogram of the sessions starting in the period's quarter-hours (daypart
 * applied): the counted sessions by listening time, plus the short sessions (tune-outs) in the
 * first bin. Counts in {@link SESSION_LENGTH_BINS} order. Net (human sessions) from the quarter-hour
 * rollup's `lengths` and `short_starts` (one row per stream and QH); gross from `sessions` and
 * `short_sessions` (the rollup holds human sessions only). Both give the same counts for humans.
 */
export async function sessionLengthHistogram(
  db: Queryable,
  sel: SessionSelection,
  options: { rollup?: boolean } = {},
): Promise<{ label: string; fromS: number; toS: number | null; sessions: number; short: number }[]> {
  const s = startSelection(sel);
  const counts = SESSION_LENGTH_BINS.map((bin) => ({ ...bin, sessions: 0, short: 0 }));
  if (!s) return counts;
  if (!s.gross && options.rollup !== false) {
    const sums = SESSION_LENGTH_BINS.map((_, i) => `sum(t.lengths[${i + 1}])::float8 as b${i}`).join(', ');
    const rows = await db.query<Record<string, number | null>>(
      `select ${sums}, sum(t.short_starts)::float8 as short from stream_quarter_hours t
        where t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
          and ($2::text[] is null or t.stream = any($2::text[]))`,
      [s.qhs, s.streams],
    );
    const row = rows[0];
    for (const [i, bin] of counts.entries()) bin.sessions = row?.[`b${i}`] ?? 0;
    counts[0]!.short = row?.short ?? 0;
    return counts;
  }
  const bounds = SESSION_LENGTH_BOUNDS_S.map((b) => b * 1000);
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
