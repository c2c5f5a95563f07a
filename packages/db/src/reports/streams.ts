import type { Queryable } from '../client.js';
import { byText, epochMs } from './sql.js';

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
