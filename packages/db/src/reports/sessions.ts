import { isoTime, type ReportSession, type SessionClass } from '@earshot/core';
import type { Queryable } from '../client.js';
import type { ResolvedReport } from './options.js';
import { byText, epochMs } from './sql.js';

/**
 * The report's sessions: counted sessions that start in `[from, to)` (human ones unless gross), by
 * stream, start, session.
 */
export async function querySessions(db: Queryable, r: ResolvedReport): Promise<ReportSession[]> {
  if (!(r.to > r.from)) return [];
  const rows = await db.query<{
    session: string;
    stream: string;
    start_ms: number;
    end_ms: number;
    elapsed_ms: number;
    duration_ms: number;
    bytes: number;
    listener: string | null;
    output: string;
    class: SessionClass;
    country: string | null;
    device: string;
    os: string;
    player: string;
  }>(
    `select session, stream, ${epochMs('start')} as start_ms, ${epochMs('"end"')} as end_ms, elapsed_ms::float8 as elapsed_ms,
      duration_ms::float8 as duration_ms, bytes::float8 as bytes, listener, output, class, country, device, os, player
      from sessions where start >= $1::timestamptz and start < $2::timestamptz
      and ($3::text[] is null or stream = any($3::text[])) and (class = 'human' or $4::boolean)`,
    [isoTime(r.from), isoTime(r.to), r.streams, r.basis === 'gross'],
  );
  const stream = (s: string) => r.groupAs ?? s;
  rows.sort(
    (a, b) =>
      byText(stream(a.stream), stream(b.stream)) || a.start_ms - b.start_ms || byText(a.session, b.session),
  );
  return rows.map((s) => ({
    session: s.session,
    stream: stream(s.stream),
    start: isoTime(s.start_ms),
    end: isoTime(s.end_ms),
    elapsed: s.elapsed_ms / 1000,
    duration: s.duration_ms / 1000,
    bytes: s.bytes,
    listener: s.listener,
    output: s.output,
    class: s.class,
    country: s.country,
    device: s.device,
    os: s.os,
    player: s.player,
  }));
}
