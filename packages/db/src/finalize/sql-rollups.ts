// SQL that applies a batch's deltas to the rollups (stream_minutes, stream_quarter_hours) and its
// cume keys' bits to stream_listener_months. Every statement sorts its rows the same way, so
// finalizers touching the same keys take their row locks in one order and cannot deadlock.
import { QUARTER_HOUR_MS } from '@earshot/core';
import { QUALIFIER_MINUTES, SESSION_LENGTH_BOUNDS_S } from '../schema.js';
import { epochMs as ms, toTimestamp as ts } from './sql-time.js';

// Deltas in (stream, minute) order, the same order in every finalizer, so two of them touching the
// same minutes take the row locks in one order and cannot deadlock.
export const UPSERT_MINUTES_SQL = `insert into stream_minutes as m (stream, minute, ms, sessions)
  select stream, ${ts('minute_ms')}, ms, sessions
  from unnest($1::text[], $2::float8[], $3::bigint[], $4::int[]) as d(stream, minute_ms, ms, sessions)
  order by stream, minute_ms
  on conflict (stream, minute) do update set ms = m.ms + excluded.ms, sessions = m.sessions + excluded.sessions`;

// A minute no counted session listens in any more is removed, so the table equals a fresh computation.
export const DELETE_EMPTY_MINUTES_SQL = `delete from stream_minutes m using unnest($1::text[], $2::float8[]) as d(stream, minute_ms)
  where m.stream = d.stream and m.minute = ${ts('d.minute_ms')} and m.ms = 0 and m.sessions = 0`;

// Element-wise sums of the stored and the new `qualified` arrays, one per qualifier minute.
const QUALIFIED_SUMS = Array.from(
  { length: QUALIFIER_MINUTES },
  (_, i) => `t.qualified[${i + 1}] + excluded.qualified[${i + 1}]`,
).join(', ');

// And of the `lengths` arrays, one per session-length bin.
const LENGTH_SUMS = Array.from(
  { length: SESSION_LENGTH_BOUNDS_S.length + 1 },
  (_, i) => `t.lengths[${i + 1}] + excluded.lengths[${i + 1}]`,
).join(', ');

// The quarter-hour rollup's deltas, sorted after every stream_minutes delta (one lock order for all
// finalizers), then rows left with no session and no start removed.
export const UPSERT_QUARTER_HOURS_SQL = `insert into stream_quarter_hours as t (stream, quarter_hour, ms, sessions, continuing, starts,
    qualified, lengths, short_starts)
  select stream, ${ts('qh_ms')}, ms, sessions, continuing, starts, qualified::int[], lengths::int[], short_starts
  from unnest($1::text[], $2::float8[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::text[], $8::text[], $9::int[])
    as d(stream, qh_ms, ms, sessions, continuing, starts, qualified, lengths, short_starts)
  order by stream, qh_ms
  on conflict (stream, quarter_hour) do update set ms = t.ms + excluded.ms, sessions = t.sessions + excluded.sessions,
    continuing = t.continuing + excluded.continuing, starts = t.starts + excluded.starts,
    qualified = array[${QUALIFIED_SUMS}], lengths = array[${LENGTH_SUMS}],
    short_starts = t.short_starts + excluded.short_starts`;

export const DELETE_EMPTY_QUARTER_HOURS_SQL = `delete from stream_quarter_hours t using unnest($1::text[], $2::float8[]) as d(stream, qh_ms)
  where t.stream = d.stream and t.quarter_hour = ${ts('d.qh_ms')} and t.sessions = 0 and t.starts = 0
    and t.short_starts = 0`;

// Cume keys, numbered. Only keys not stored yet are inserted: an identity draws its value before
// ON CONFLICT looks, so inserting every key would burn one value per key per finalization. (Two
// finalizers adding the same new key at once still burn one: rare, and the id is a bigint.) Sorted,
// so that finalizers adding the same new keys wait on each other in one order.
export const INSERT_KEYS_SQL = `insert into listener_keys (key) select k.key from unnest($1::text[]) as k(key)
  where not exists (select 1 from listener_keys x where x.key = k.key) order by k.key
  on conflict (key) do nothing`;

// When a session row is removed, its key's months are rebuilt from the human rows that remain (a bit
// may have been the removed row's alone; the months hold net cume keys): delete, then OR back every remaining row's QHs of the month,
// found through sessions_listener (a listener's sessions) or the session id (a key without listener).
// Two finalizers rebuilding one key's month would each rebuild from a snapshot without the other's
// removal, and the OR on conflict would keep a bit that neither should. So every key whose months a
// finalization writes is locked first, sorted, before any stream_listener_months row: one lock order
// (keys, then their months) for every finalizer, and a key's months are written by one
// transaction at a time (a rebuild starts after the other's commit; no two transactions ever wait
// on each other's month rows, which could deadlock when their adds and rebuilds crossed).
export const LOCK_KEYS_SQL = `select id from listener_keys where key = any($1::text[]) order by key for update`;

// A finalization that only adds bits (no rebuild) locks its keys in KEY SHARE mode: adders do not
// wait for each other (an OR commutes with an OR, and on a month row they serialize by the row's
// own lock), but they do wait for a rebuilder's FOR UPDATE, and it for them, as above.
export const SHARE_KEYS_SQL = `select id from listener_keys where key = any($1::text[]) order by key for key share`;

// A month's bit string, all zeros: the cast of 0 to the longest month (31 days of quarter-hours)
// cut to the month's length, cheaper than parsing a string of 2,900 '0's for every bit.
const MONTH_ZEROS = (n: string) => `substring(0::bit(${31 * 96})::varbit from 1 for ${n})`;

// A key's month gains the QHs of its new session rows (bits are only ever added here). One row per
// bit to set (a session sets a few of a month's ~2,900): the strings are built in PostgreSQL, not
// sent as 2,900-character text per key and month.
export const OR_LISTENER_MONTHS_SQL = `insert into stream_listener_months as t (stream, month, key_id, qhs)
  select d.stream, ${ts('d.month_ms')}, k.id, bit_or(set_bit(${MONTH_ZEROS('d.n')}, d.i, 1))
  from unnest($1::text[], $2::float8[], $3::text[], $4::int[], $5::int[]) as d(stream, month_ms, key, n, i)
  join listener_keys k on k.key = d.key
  group by d.stream, d.month_ms, k.id, d.n
  order by d.stream, d.month_ms, k.id
  on conflict (stream, month, key_id) do update set qhs = t.qhs | excluded.qhs`;

export const DELETE_LISTENER_MONTHS_SQL = `delete from stream_listener_months t
  using unnest($1::text[], $2::float8[], $3::text[]) as d(stream, month_ms, key), listener_keys k
  where k.key = d.key and t.stream = d.stream and t.month = ${ts('d.month_ms')} and t.key_id = k.id`;

export const REBUILD_LISTENER_MONTHS_SQL = `insert into stream_listener_months as t (stream, month, key_id, qhs)
  select d.stream, ${ts('d.month_ms')}, k.id,
    bit_or(set_bit(${MONTH_ZEROS('d.n')}, ((x.qh_ms - d.month_ms) / ${QUARTER_HOUR_MS})::int, 1))
  from unnest($1::text[], $2::float8[], $3::text[], $4::float8[], $5::int[]) as d(stream, month_ms, key, end_ms, n)
  join listener_keys k on k.key = d.key
  cross join lateral (
    select ${ms('q.quarter_hour')} as qh_ms from sessions s
      join session_quarter_hours q on q.session = s.session and q.session_start = s.start
      where s.listener = d.key and s.stream = d.stream and s.class = 'human'
        and s.start >= ${ts('(d.month_ms - $6::float8)')} and s.start < ${ts('(d.end_ms + $7::float8)')}
        and q.quarter_hour >= ${ts('d.month_ms')} and q.quarter_hour < ${ts('d.end_ms')}
    union all
    select ${ms('q.quarter_hour')} from session_quarter_hours q
      where d.key like 'session:%' and q.session = substr(d.key, 9) and q.listener is null and q.stream = d.stream
        and q.class = 'human'
        and q.quarter_hour >= ${ts('d.month_ms')} and q.quarter_hour < ${ts('d.end_ms')}
  ) x
  group by d.stream, d.month_ms, k.id, d.n
  order by d.stream, d.month_ms, k.id
  on conflict (stream, month, key_id) do update set qhs = t.qhs | excluded.qhs`;

// The audience rollups (stream_audience_quarter_hours, stream_audience_months): the same deltas and
// bits split by the sessions' audience (country, device, os, player, output), written after the
// tables above in one sorted order, so their locks too are taken in one order by every finalizer.
const AUDIENCE = 'country, device, os, player, output';

export const UPSERT_AUDIENCE_QUARTER_HOURS_SQL = `insert into stream_audience_quarter_hours as t (stream, quarter_hour,
    ${AUDIENCE}, ms, sessions, continuing, starts, qualified)
  select stream, ${ts('qh_ms')}, ${AUDIENCE}, ms, sessions, continuing, starts, qualified::int[]
  from unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::int[],
    $10::int[], $11::int[], $12::text[])
    as d(stream, qh_ms, ${AUDIENCE}, ms, sessions, continuing, starts, qualified)
  order by stream, qh_ms, ${AUDIENCE}
  on conflict (stream, quarter_hour, ${AUDIENCE}) do update set ms = t.ms + excluded.ms,
    sessions = t.sessions + excluded.sessions, continuing = t.continuing + excluded.continuing,
    starts = t.starts + excluded.starts, qualified = array[${QUALIFIED_SUMS}]`;

export const DELETE_EMPTY_AUDIENCE_QUARTER_HOURS_SQL = `delete from stream_audience_quarter_hours t
  using unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
    as d(stream, qh_ms, ${AUDIENCE})
  where t.stream = d.stream and t.quarter_hour = ${ts('d.qh_ms')} and t.country = d.country and t.device = d.device
    and t.os = d.os and t.player = d.player and t.output = d.output and t.sessions = 0 and t.starts = 0`;

export const OR_AUDIENCE_MONTHS_SQL = `insert into stream_audience_months as t (stream, month, key_id, ${AUDIENCE}, qhs)
  select d.stream, ${ts('d.month_ms')}, k.id, d.country, d.device, d.os, d.player, d.output,
    bit_or(set_bit(repeat('0', d.n)::varbit, d.i, 1))
  from unnest($1::text[], $2::float8[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
    $10::text[]) as d(stream, month_ms, key, n, i, ${AUDIENCE})
  join listener_keys k on k.key = d.key
  group by d.stream, d.month_ms, k.id, d.n, d.country, d.device, d.os, d.player, d.output
  order by d.stream, d.month_ms, k.id, d.country, d.device, d.os, d.player, d.output
  on conflict (stream, month, key_id, ${AUDIENCE}) do update set qhs = t.qhs | excluded.qhs`;

export const DELETE_AUDIENCE_MONTHS_SQL = `delete from stream_audience_months t
  using unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
    as d(stream, month_ms, key, ${AUDIENCE}), listener_keys k
  where k.key = d.key and t.stream = d.stream and t.month = ${ts('d.month_ms')} and t.key_id = k.id
    and t.country = d.country and t.device = d.device and t.os = d.os and t.player = d.player and t.output = d.output`;

// As REBUILD_LISTENER_MONTHS_SQL, from the remaining human rows of the key with this audience.
export const REBUILD_AUDIENCE_MONTHS_SQL = `insert into stream_audience_months as t (stream, month, key_id, ${AUDIENCE}, qhs)
  select d.stream, ${ts('d.month_ms')}, k.id, d.country, d.device, d.os, d.player, d.output,
    bit_or(set_bit(repeat('0', d.n)::varbit, ((x.qh_ms - d.month_ms) / ${QUARTER_HOUR_MS})::int, 1))
  from unnest($1::text[], $2::float8[], $3::text[], $4::float8[], $5::int[], $8::text[], $9::text[], $10::text[],
    $11::text[], $12::text[]) as d(stream, month_ms, key, end_ms, n, ${AUDIENCE})
  join listener_keys k on k.key = d.key
  cross join lateral (
    select ${ms('q.quarter_hour')} as qh_ms from sessions s
      join session_quarter_hours q on q.session = s.session and q.session_start = s.start
      where s.listener = d.key and s.stream = d.stream and s.class = 'human'
        and coalesce(s.country, 'unknown') = d.country and s.device = d.device and s.os = d.os
        and s.player = d.player and s.output = d.output
        and s.start >= ${ts('(d.month_ms - $6::float8)')} and s.start < ${ts('(d.end_ms + $7::float8)')}
        and q.quarter_hour >= ${ts('d.month_ms')} and q.quarter_hour < ${ts('d.end_ms')}
    union all
    select ${ms('q.quarter_hour')} from session_quarter_hours q
      join sessions s on s.session = q.session and s.start = q.session_start
      where d.key like 'session:%' and q.session = substr(d.key, 9) and q.listener is null and q.stream = d.stream
        and q.class = 'human'
        and coalesce(s.country, 'unknown') = d.country and s.device = d.device and s.os = d.os
        and s.player = d.player and s.output = d.output
        and q.quarter_hour >= ${ts('d.month_ms')} and q.quarter_hour < ${ts('d.end_ms')}
  ) x
  group by d.stream, d.month_ms, k.id, d.n, d.country, d.device, d.os, d.player, d.output
  order by d.stream, d.month_ms, k.id, d.country, d.device, d.os, d.player, d.output
  on conflict (stream, month, key_id, ${AUDIENCE}) do update set qhs = t.qhs | excluded.qhs`;
