// SQL of a finalization's state: session_state locks and marks, the receipt check, the reads of
// an id's events and stored rows, and finalize_failures. Parameters are arrays (one statement per
// batch, whatever its size).
import { epochMs as ms } from './sql-time.js';

const STATE_COLUMNS = `session, ${ms('first_time')} as first_ms, ${ms('now()')} as now_ms,
  ${ms('changed_from')} as changed_from_ms,
  change_seq::text as change_seq, finalized_seq::text as finalized_seq,
  (extract(epoch from (due_at - now())) * 1000)::float8 as wait_ms,
  ${ms('coalesce(check_from, changed_from, first_time)')} as check_ms, ${ms('last_received_at')} as received_ms`;

// Every statement of a finalization is a key lookup (state rows, the (session, time) index, stored
// rows by session id). Without statistics (a young table) or with a long id list as a parameter,
// the planner can prefer scanning whole tables and comparing each row with every id, which grows
// with the table; in these transactions a scan is never the right plan.
export const NO_SEQSCAN_SQL = 'set local enable_seqscan = off';

// Session ids in byte order (`collate "C"`): every finalizer and ingest take session_state row locks
// in that order, so they cannot deadlock. Not the database's collation: under a libc locale (even
// C.UTF-8) each comparison is a strcoll call, and sorting a big ingest group by it cost as much as
// locking its rows.
export const LOCK_IDS_SQL = `select ${STATE_COLUMNS} from session_state
  where session = any($1::text[]) order by session collate "C" for update`;

export const LOCK_IDS_SKIP_SQL = `${LOCK_IDS_SQL} skip locked`;

/**
 * Selects and locks due, unfinalized session ids (the sweep). SKIP LOCKED: rows another finalizer
 * or an in-flight ingest holds are left to them, so sweepers spread out and never wait on a row.
 * Uses the partial index `session_state_pending`.
 */
export const LOCK_DUE_SQL = `select ${STATE_COLUMNS} from session_state
  where finalized_seq < change_seq and due_at <= now()
  order by due_at limit $1 for update skip locked`;

// The receipt check: per id, the latest receipt and the latest event time among the events from
// its check point on. Every event received since the id's last check (re-arm) has a time at or
// after that point (ingest lowers check_from for an earlier one), so this reads the events of the
// last idle, not the id's history. A nested loop of (session, time) index range scans, one per id.
export const RECEIPTS_SQL = `select d.session, r.received_ms, r.time_ms
  from unnest($1::text[], $2::float8[]) as d(session, from_ms)
  cross join lateral (select ${ms('max(e.received_at)')} as received_ms, ${ms('max(e.time)')} as time_ms
    from listen_events e where e.session = d.session and e.time >= to_timestamp(d.from_ms / 1000)) r`;

// Ids found still active: due again at idle after their last receipt; the next check reads from
// the latest event time seen now, and keeps the latest receipt seen.
export const REARM_SQL = `update session_state s set due_at = to_timestamp(d.due_ms / 1000),
    check_from = coalesce(to_timestamp(d.check_ms / 1000), s.check_from),
    last_received_at = greatest(s.last_received_at, to_timestamp(d.received_ms / 1000))
  from unnest($1::text[], $2::float8[], $3::float8[], $4::float8[]) as d(session, due_ms, check_ms, received_ms)
  where s.session = d.session`;

// The ids' events through the (session, time) index. The batch's lower time bound (the least
// first_time of the locked rows, which is at or before every event of these ids) is a constant, so
// PostgreSQL prunes listen_events' older day partitions. (A join to session_state for per-id bounds made the planner
// hash-join whole partitions.)
// Rows come back shaped as core's ListenEvent (time in epoch ms, duration in seconds: duration_ms / 1000
// as a double, which durationMsOf rounds back exactly), so they go to core without a copy.
/** listen_events columns (table alias `e`) as core's ListenEvent fields; null reads as absent in core. */
export const EVENT_COLUMNS = `e.session, e.id, e.stream, e.output, ${ms('e.time')} as time,
  e.duration_ms::float8 / 1000 as duration, e.bytes::float8 as bytes, e.listener, e.ua, e.country, e.origin`;

export const EVENTS_SQL = `select ${EVENT_COLUMNS}
  from listen_events e
  where e.session = any($1::text[]) and e.time >= $2::timestamptz`;

// The same with each event's receipt, for ids whose receipt check is done on the events read (see
// locked.ts): one pass over their events instead of two.
export const EVENTS_RECEIVED_SQL = `select ${EVENT_COLUMNS}, ${ms('e.received_at')} as received_ms
  from listen_events e
  where e.session = any($1::text[]) and e.time >= $2::timestamptz`;

export const OLD_SESSIONS_SQL = `select session, ${ms('start')} as start_ms, ${ms('first_time')} as first_time_ms, stream, output, ${ms('"end"')} as end_ms,
  elapsed_ms::float8 as elapsed_ms, duration_ms::float8 as duration_ms, bytes::float8 as bytes, listener, ua,
  country, class, device, os, player, ${ms('first_minute')} as first_minute_ms, minute_ms::float8[] as minute_ms
  from sessions where session = any($1::text[])`;

export const OLD_SHORTS_SQL = `select session, ${ms('start')} as start_ms, ${ms('first_time')} as first_time_ms,
  ${ms('"end"')} as end_ms, stream,
  duration_ms::float8 as duration_ms, class
  from short_sessions where session = any($1::text[])`;

export const MARK_FINALIZED_SQL = `update session_state s set finalized_seq = u.seq, finalized_at = now()
  from unnest($1::text[], $2::bigint[]) as u(session, seq)
  where s.session = u.session
  returning s.session, (extract(epoch from (clock_timestamp() - s.due_at)) * 1000)::float8 as lag_ms`;

export const CLEAR_FAILURES_SQL = 'delete from finalize_failures where session = any($1::text[])';

// A set-aside id: recorded with its error and backoff; its due_at moves to the retry time, which is
// when the sweep takes it again (the job path leaves it to the sweep).
export const SET_ASIDE_SQL = `with f as (
  insert into finalize_failures as f (session, error, code, attempts, retry_at)
  values ($1, $2, $3, 1, now() + $4::float8 * interval '1 millisecond')
  on conflict (session) do update set error = excluded.error, code = excluded.code, attempts = f.attempts + 1,
    last_failed_at = now(),
    retry_at = now() + least($5::float8, $4::float8 * power(2, f.attempts)) * interval '1 millisecond'
  returning session, attempts, retry_at
), moved as (
  update session_state s set due_at = f.retry_at from f where s.session = f.session returning s.session
)
select f.attempts, (extract(epoch from (f.retry_at - now())) * 1000)::float8 as retry_ms,
  (select count(*) from moved)::int as moved from f`;
