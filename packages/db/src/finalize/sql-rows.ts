// SQL that deletes and inserts an id's rows in sessions, session_quarter_hours and short_sessions,
// keyed by (session, start).
import { QUARTER_HOUR_MS } from '@earshot/core';
import { toTimestamp as ts } from './sql-time.js';

export const DELETE_SESSIONS_SQL = `delete from sessions t using unnest($1::text[], $2::float8[]) as k(session, start_ms)
  where t.session = k.session and t.start = ${ts('k.start_ms')}`;

export const DELETE_QUARTER_HOURS_SQL = `delete from session_quarter_hours t
  using unnest($1::text[], $2::float8[]) as k(session, start_ms)
  where t.session = k.session and t.session_start = ${ts('k.start_ms')}`;

export const DELETE_SHORTS_SQL = `delete from short_sessions t using unnest($1::text[], $2::float8[]) as k(session, start_ms)
  where t.session = k.session and t.start = ${ts('k.start_ms')}`;

export const INSERT_SESSIONS_SQL = `insert into sessions (session, start, first_time, stream, output, "end", elapsed_ms, duration_ms,
    bytes, listener, ua, first_minute, minute_ms, country, class, device, os, player)
  select session, ${ts('start_ms')}, ${ts('first_time_ms')}, stream, output, ${ts('end_ms')}, elapsed_ms, duration_ms, bytes,
    listener, ua, ${ts('first_minute_ms')}, minute_ms::bigint[], country, class, device, os, player
  from unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::float8[], $6::bigint[], $7::bigint[],
    $8::bigint[], $9::text[], $10::text[], $11::float8[], $12::text[], $13::float8[], $14::text[], $15::text[],
    $16::text[], $17::text[], $18::text[])
    as r(session, start_ms, stream, output, end_ms, elapsed_ms, duration_ms, bytes, listener, ua, first_minute_ms, minute_ms,
      first_time_ms, country, class, device, os, player)`;

export const INSERT_QUARTER_HOURS_SQL = `insert into session_quarter_hours (session, session_start, stream, quarter_hour, ms, listener,
    prev_quarter_hour, continues, class)
  select session, ${ts('start_ms')}, stream, ${ts('quarter_hour_ms')}, ms, listener, ${ts('prev_ms')},
    coalesce(prev_ms = quarter_hour_ms - ${QUARTER_HOUR_MS}, false), class
  from unnest($1::text[], $2::float8[], $3::text[], $4::float8[], $5::bigint[], $6::text[], $7::float8[], $8::text[])
    as r(session, start_ms, stream, quarter_hour_ms, ms, listener, prev_ms, class)`;

export const INSERT_SHORTS_SQL = `insert into short_sessions (session, start, first_time, "end", stream, duration_ms, class)
  select session, ${ts('start_ms')}, ${ts('first_time_ms')}, ${ts('end_ms')}, stream, duration_ms, class
  from unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::bigint[], $6::float8[], $7::text[])
    as r(session, start_ms, end_ms, stream, duration_ms, first_time_ms, class)`;
