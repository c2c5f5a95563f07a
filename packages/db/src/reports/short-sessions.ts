import { isoTime } from '@earshot/core';
import type { Queryable } from '../client.js';
import { selectedStreams } from './sql.js';

/**
 * Short sessions (tune-outs, under minSession) whose start lies in `[from, to)`, by stream (the
 * CLI's table shows them beside the report).
 */
export async function shortSessionCounts(
  db: Queryable,
  sel: { from: number; to: number; streams?: readonly string[] | undefined },
): Promise<Map<string, number>> {
  if (!(sel.to > sel.from)) return new Map();
  const rows = await db.query<{ stream: string; n: number }>(
    `select stream, count(*)::float8 as n from short_sessions
      where start >= $1::timestamptz and start < $2::timestamptz and ($3::text[] is null or stream = any($3::text[]))
      group by stream`,
    [isoTime(sel.from), isoTime(sel.to), selectedStreams(sel.streams)],
  );
  return new Map(rows.map((r) => [r.stream, r.n]));
}
