import { isoTime, type ListenEvent, MAX_DURATION_S } from '@earshot/core';
import type { Queryable } from '../client.js';
import { EVENT_COLUMNS } from '../finalize/sql-state.js';

/**
 * The raw events of every stored session (counted or short) of the streams that has audio in
 * `[from, to)`: for figures that need each event's interval, not the rollups (the track figures of
 * DESIGN section 9). Each session's events are read between its first event's `time` and its
 * `end`, exactly the events the worker cut it from, so core cuts them into the same sessions
 * again. Raw events are kept for the retention's days: a session whose events were dropped
 * contributes nothing (its rows stay in `sessions`, its events are gone).
 *
 * A session's audio lies in `(first event's time - its duration, end]`, and an event's duration is
 * at most a day, so sessions that start up to a day before `from` are looked at.
 */
export async function sessionEvents(
  db: Queryable,
  options: { from: number; to: number; streams?: readonly string[] | null | undefined },
): Promise<ListenEvent[]> {
  const streams = options.streams && options.streams.length > 0 ? [...new Set(options.streams)] : null;
  const rows = await db.query<ListenEvent & Record<string, unknown>>(
    `with s as (
        select session, first_time, "end" from sessions
          where start < $2::timestamptz and "end" > $1::timestamptz - interval '${MAX_DURATION_S} seconds'
            and start >= $1::timestamptz - interval '2 days' and ($3::text[] is null or stream = any($3::text[]))
        union all
        select session, first_time, coalesce("end", first_time) from short_sessions
          where start < $2::timestamptz and coalesce("end", first_time) > $1::timestamptz - interval '${MAX_DURATION_S} seconds'
            and start >= $1::timestamptz - interval '2 days' and ($3::text[] is null or stream = any($3::text[]))
      )
      select ${EVENT_COLUMNS}
        from s join listen_events e on e.session = s.session and e.time >= s.first_time and e.time <= s."end"
        where e.time >= $1::timestamptz - interval '3 days' and e.time < $2::timestamptz + interval '2 days'`,
    [isoTime(options.from), isoTime(options.to), streams],
  );
  // A null listener, ua, country or origin reads as absent everywhere in core.
  return rows as ListenEvent[];
}
