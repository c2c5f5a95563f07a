import type { Queryable } from '../client.js';
import { type SessionSelection, START_IN_PERIOD, startSelection } from './selection.js';
import { byText } from './sql.js';

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
