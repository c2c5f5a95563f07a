import { isoTime, MINUTE_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import { byText, epochMs } from './sql.js';

/** Listeners right now on one stream: listening seconds placed in the last minute / 60. */
export interface LiveStream {
  stream: string;
  listeners: number;
}

/**
 * Live listeners (DESIGN section 4): per event `stream`, the listening seconds of raw
 * listen_events (counted or not, finalized or not) placed in `(now - 60 s, now]`, / 60. An event's
 * seconds are spread evenly over `(time - duration, time]`, as everywhere else.
 */
export async function liveListeners(db: Queryable, now: number | Date = Date.now()): Promise<LiveStream[]> {
  const nowMs = typeof now === 'number' ? now : now.getTime();
  // Each event's seconds count for its session's stream, as in reports: the stream of the session
  // id's first event (in the last day), so HLS segments of variants count for the group key of the
  // master playlist's start event. (A session resumed after a pause over `idle` is its own session
  // in reports, with its own first event; live still files it under the id's first stream.)
  const rows = await db.query<{ stream: string; ms: number }>(
    `select f.stream,
      sum(greatest(0, least(e.t_ms, $3::float8) - greatest(e.t_ms - e.duration_ms, $3::float8 - 60000)))::float8 as ms
      from (select session, ${epochMs('time')} as t_ms, duration_ms from listen_events
        where time > $1::timestamptz and time < $2::timestamptz + interval '1 day' and duration_ms > 0) e
      join lateral (select stream from listen_events s
        where s.session = e.session and s.time > $2::timestamptz - interval '1 day' and s.time <= $2::timestamptz + interval '1 day'
        order by s.time, (s.duration_ms > 0), s.id collate "C" limit 1) f on true
      group by f.stream`,
    [isoTime(nowMs - MINUTE_MS), isoTime(nowMs), nowMs],
  );
  return rows
    .filter((row) => row.ms > 0)
    .map((row) => ({ stream: row.stream, listeners: row.ms / MINUTE_MS }))
    .sort((a, b) => byText(a.stream, b.stream));
}
