import {
  bucketStart,
  type CountSettings,
  compareEvents,
  finalizeSessionId,
  type ListenEvent,
  MAX_DURATION_S,
  MINUTE_MS,
  planRowChanges,
  QUARTER_HOUR_MS,
  resumePoint,
  type SessionSettings,
} from '@earshot/core';
import type { Db, DbTx, Queryable } from './client.js';
import { utcMonth } from './months.js';

/**
 * Finalization: a session id's stored events become its rows in `sessions`,
 * `session_quarter_hours`, `short_sessions` and its share of `stream_minutes`,
 * `stream_quarter_hours` and `stream_listener_months`, in one transaction
 * that holds the id's `session_state` row lock (DESIGN section 3, "online = offline").
 *
 * Exactly-once effect: the rows written are a function of the id's committed events only (old rows
 * are read under the lock and replaced, the rollups get the difference), and the transaction
 * ends by setting `finalized_seq` to the `change_seq` it read under the same lock. Two finalizers of
 * one id serialize on the lock and the second finds nothing to do; a crash rolls everything back.
 *
 * A re-finalization recomputes only from core's `resumePoint`: the id's stored sessions that start
 * before the earliest new event's session stay as they are. The result is the same as recomputing
 * the whole id (cutting is memoryless at a session start), and sessions whose events retention has
 * dropped are never touched.
 */

/** Settings that cut and count sessions (seconds): idle, maximum and minimum session. */
export type FinalizeSettings = SessionSettings & CountSettings;

/** What a finalization did for one session id. */
export type FinalizeOutcome =
  | {
      session: string;
      status: 'finalized';
      /** Counted sessions of the id now stored. */
      counted: number;
      /** Short sessions (tune-outs) of the id now stored. */
      short: number;
      /** Session and short-session rows inserted, replaced or removed (0 when the events changed nothing). */
      written: number;
      /** How long after `due_at` this finalization committed, ms (negative when forced early). */
      lagMs: number;
    }
  /** Already finalized at its latest change: nothing to do. */
  | { session: string; status: 'current' }
  /** Events arrived less than `idle` ago; finalize again in `waitMs` (by the database's clock). */
  | { session: string; status: 'not-due'; waitMs: number }
  /** No session_state row: ingest never stored an event of this id. */
  | { session: string; status: 'missing' }
  /**
   * The id cannot be finalized (its events overflow what a row holds, or PostgreSQL refused its
   * rows): set aside in `finalize_failures` with the error, tried again in `retryInMs`.
   */
  | { session: string; status: 'set-aside'; error: string; attempts: number; retryInMs: number };

export interface FinalizeOptions {
  /** Finalize even when `due_at` is in the future (tests, an operator's "finalize now"). Default false. */
  force?: boolean;
  /**
   * How many times a transaction that PostgreSQL aborted as a deadlock or serialization failure is
   * tried again before the error is thrown. Default 4.
   */
  retries?: number;
  /**
   * Backoff of a set-aside id: its first retry after this many ms, doubling with each failure up to
   * {@link FinalizeOptions.setAsideMaxMs}. Default 60 000.
   */
  setAsideBaseMs?: number;
  /** Longest wait between two tries of a set-aside id, ms. Default 6 h. */
  setAsideMaxMs?: number;
}

/** The locked session_state row, as read by a finalizer. */
interface StateRow {
  session: string;
  first_ms: number;
  /** The database's clock (the transaction's start), epoch ms. */
  now_ms: number;
  /** Earliest event time since the last finalization; null: unknown (recompute everything). */
  changed_from_ms: number | null;
  change_seq: string;
  finalized_seq: string;
  wait_ms: number;
  /** Where the receipt check reads from: `coalesce(check_from, changed_from, first_time)`, epoch ms. */
  check_ms: number;
  /** The latest receipt known without reading events (ingest's last change, the last re-arm's find). */
  received_ms: number;
}

/**
 * An event row: core's ListenEvent, with SQL nulls where core has absent fields.
 */
type EventRow = Omit<ListenEvent, 'listener' | 'ua'> & {
  listener: string | null;
  ua: string | null;
};

interface SessionRowDb {
  session: string;
  start_ms: number;
  stream: string;
  output: string;
  end_ms: number;
  elapsed_ms: number;
  duration_ms: number;
  bytes: number;
  listener: string | null;
  ua: string | null;
  first_minute_ms: number;
  minute_ms: number[];
}

interface ShortRowDb {
  session: string;
  start_ms: number;
  end_ms: number | null;
  stream: string;
  duration_ms: number;
}

/** A `sessions` row in numbers: times epoch ms, durations ms. */
interface SessionRow {
  session: string;
  start: number;
  stream: string;
  output: string;
  end: number;
  elapsedMs: number;
  durationMs: number;
  bytes: number;
  listener: string | null;
  ua: string | null;
  firstMinute: number;
  minuteMs: number[];
  /** Listening ms by quarter-hour start; only for newly computed rows. */
  quarterHours?: Map<number, number>;
}

interface ShortRow {
  session: string;
  start: number;
  /** `time` of the last event; null for rows stored before it was recorded (migration 0003). */
  end: number | null;
  stream: string;
  durationMs: number;
}

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const iso = (epochMs: number) => new Date(epochMs).toISOString();

const STATE_COLUMNS = `session, ${ms('first_time')} as first_ms, ${ms('now()')} as now_ms,
  ${ms('changed_from')} as changed_from_ms,
  change_seq::text as change_seq, finalized_seq::text as finalized_seq,
  (extract(epoch from (due_at - now())) * 1000)::float8 as wait_ms,
  ${ms('coalesce(check_from, changed_from, first_time)')} as check_ms, ${ms('last_received_at')} as received_ms`;

// Session ids in the database's own order: every finalizer and ingest (`order by session`) take
// session_state row locks in that order.
const LOCK_IDS_SQL = `select ${STATE_COLUMNS} from session_state
  where session = any($1::text[]) order by session for update`;
const LOCK_IDS_SKIP_SQL = `${LOCK_IDS_SQL} skip locked`;

/**
 * Selects and locks due, unfinalized session ids (the sweep). SKIP LOCKED: rows another finalizer
 * or an in-flight ingest holds are left to them, so sweepers spread out and never wait on a row.
 * Uses the partial index `session_state_pending`.
 */
export const LOCK_DUE_SQL = `select ${STATE_COLUMNS} from session_state
  where finalized_seq < change_seq and due_at <= now()
  order by due_at limit $1 for update skip locked`;

// The ids' events through the (session, time) index. The batch's lower time bound (the least
// first_time of the locked rows, which is at or before every event of these ids) is a constant, so
// PostgreSQL prunes listen_events' older day partitions. (A join to session_state for per-id bounds made the planner
// hash-join whole partitions.)
// Rows come back shaped as core's ListenEvent (time in epoch ms, duration in seconds: duration_ms / 1000
// as a double, which durationMsOf rounds back exactly), so they go to core without a copy.
const EVENTS_SQL = `select e.session, e.id, e.stream, e.output, ${ms('e.time')} as time,
  e.duration_ms::float8 / 1000 as duration, e.bytes::float8 as bytes, e.listener, e.ua
  from listen_events e
  where e.session = any($1::text[]) and e.time >= $2::timestamptz`;

// The receipt check: per id, the latest receipt and the latest event time among the events from
// its check point on. Every event received since the id's last check (re-arm) has a time at or
// after that point (ingest lowers check_from for an earlier one), so this reads the events of the
// last idle, not the id's history. A nested loop of (session, time) index range scans, one per id.
const RECEIPTS_SQL = `select d.session, r.received_ms, r.time_ms
  from unnest($1::text[], $2::float8[]) as d(session, from_ms)
  cross join lateral (select ${ms('max(e.received_at)')} as received_ms, ${ms('max(e.time)')} as time_ms
    from listen_events e where e.session = d.session and e.time >= to_timestamp(d.from_ms / 1000)) r`;

// Ids found still active: due again at idle after their last receipt; the next check reads from
// the latest event time seen now, and keeps the latest receipt seen.
const REARM_SQL = `update session_state s set due_at = to_timestamp(d.due_ms / 1000),
    check_from = coalesce(to_timestamp(d.check_ms / 1000), s.check_from),
    last_received_at = greatest(s.last_received_at, to_timestamp(d.received_ms / 1000))
  from unnest($1::text[], $2::float8[], $3::float8[], $4::float8[]) as d(session, due_ms, check_ms, received_ms)
  where s.session = d.session`;

const OLD_SESSIONS_SQL = `select session, ${ms('start')} as start_ms, stream, output, ${ms('"end"')} as end_ms,
  elapsed_ms::float8 as elapsed_ms, duration_ms::float8 as duration_ms, bytes::float8 as bytes, listener, ua,
  ${ms('first_minute')} as first_minute_ms, minute_ms::float8[] as minute_ms
  from sessions where session = any($1::text[])`;

const OLD_SHORTS_SQL = `select session, ${ms('start')} as start_ms, ${ms('"end"')} as end_ms, stream,
  duration_ms::float8 as duration_ms
  from short_sessions where session = any($1::text[])`;

// Times travel as epoch-ms float8 arrays (exact: to_timestamp keeps microseconds) and become
// timestamptz in SQL, which is cheaper on both sides than ISO text.
const ts = (msColumn: string) => `to_timestamp(${msColumn} / 1000)`;

const DELETE_SESSIONS_SQL = `delete from sessions t using unnest($1::text[], $2::float8[]) as k(session, start_ms)
  where t.session = k.session and t.start = ${ts('k.start_ms')}`;
const DELETE_QUARTER_HOURS_SQL = `delete from session_quarter_hours t
  using unnest($1::text[], $2::float8[]) as k(session, start_ms)
  where t.session = k.session and t.session_start = ${ts('k.start_ms')}`;
const DELETE_SHORTS_SQL = `delete from short_sessions t using unnest($1::text[], $2::float8[]) as k(session, start_ms)
  where t.session = k.session and t.start = ${ts('k.start_ms')}`;

const INSERT_SESSIONS_SQL = `insert into sessions (session, start, stream, output, "end", elapsed_ms, duration_ms, bytes,
    listener, ua, first_minute, minute_ms)
  select session, ${ts('start_ms')}, stream, output, ${ts('end_ms')}, elapsed_ms, duration_ms, bytes, listener, ua,
    ${ts('first_minute_ms')}, minute_ms::bigint[]
  from unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::float8[], $6::bigint[], $7::bigint[],
    $8::bigint[], $9::text[], $10::text[], $11::float8[], $12::text[])
    as r(session, start_ms, stream, output, end_ms, elapsed_ms, duration_ms, bytes, listener, ua, first_minute_ms, minute_ms)`;

const INSERT_QUARTER_HOURS_SQL = `insert into session_quarter_hours (session, session_start, stream, quarter_hour, ms, listener,
    prev_quarter_hour, continues)
  select session, ${ts('start_ms')}, stream, ${ts('quarter_hour_ms')}, ms, listener, ${ts('prev_ms')},
    coalesce(prev_ms = quarter_hour_ms - ${QUARTER_HOUR_MS}, false)
  from unnest($1::text[], $2::float8[], $3::text[], $4::float8[], $5::bigint[], $6::text[], $7::float8[])
    as r(session, start_ms, stream, quarter_hour_ms, ms, listener, prev_ms)`;

const INSERT_SHORTS_SQL = `insert into short_sessions (session, start, "end", stream, duration_ms)
  select session, ${ts('start_ms')}, ${ts('end_ms')}, stream, duration_ms
  from unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::bigint[])
    as r(session, start_ms, end_ms, stream, duration_ms)`;

// Deltas in (stream, minute) order, the same order in every finalizer, so two of them touching the
// same minutes take the row locks in one order and cannot deadlock.
const UPSERT_MINUTES_SQL = `insert into stream_minutes as m (stream, minute, ms, sessions)
  select stream, ${ts('minute_ms')}, ms, sessions
  from unnest($1::text[], $2::float8[], $3::bigint[], $4::int[]) as d(stream, minute_ms, ms, sessions)
  order by stream, minute_ms
  on conflict (stream, minute) do update set ms = m.ms + excluded.ms, sessions = m.sessions + excluded.sessions`;

// A minute no counted session listens in any more is removed, so the table equals a fresh computation.
const DELETE_EMPTY_MINUTES_SQL = `delete from stream_minutes m using unnest($1::text[], $2::float8[]) as d(stream, minute_ms)
  where m.stream = d.stream and m.minute = ${ts('d.minute_ms')} and m.ms = 0 and m.sessions = 0`;

// The quarter-hour rollup's deltas, sorted after every stream_minutes delta (one lock order for all
// finalizers), then rows left with no session and no start removed.
const UPSERT_QUARTER_HOURS_SQL = `insert into stream_quarter_hours as t (stream, quarter_hour, ms, sessions, continuing, starts,
    qualified)
  select stream, ${ts('qh_ms')}, ms, sessions, continuing, starts, qualified::int[]
  from unnest($1::text[], $2::float8[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::text[])
    as d(stream, qh_ms, ms, sessions, continuing, starts, qualified)
  order by stream, qh_ms
  on conflict (stream, quarter_hour) do update set ms = t.ms + excluded.ms, sessions = t.sessions + excluded.sessions,
    continuing = t.continuing + excluded.continuing, starts = t.starts + excluded.starts,
    qualified = array[t.qualified[1] + excluded.qualified[1] ,
    t.qualified[2] + excluded.qualified[2] ,
    t.qualified[3] + excluded.qualified[3] ,
    t.qualified[4] + excluded.qualified[4] ,
    t.qualified[5] + excluded.qualified[5] ,
    t.qualified[6] + excluded.qualified[6] ,
    t.qualified[7] + excluded.qualified[7] ,
    t.qualified[8] + excluded.qualified[8] ,
    t.qualified[9] + excluded.qualified[9] ,
    t.qualified[10] + excluded.qualified[10] ,
    t.qualified[11] + excluded.qualified[11] ,
    t.qualified[12] + excluded.qualified[12] ,
    t.qualified[13] + excluded.qualified[13] ,
    t.qualified[14] + excluded.qualified[14] ,
    t.qualified[15] + excluded.qualified[15]]`;

const DELETE_EMPTY_QUARTER_HOURS_SQL = `delete from stream_quarter_hours t using unnest($1::text[], $2::float8[]) as d(stream, qh_ms)
  where t.stream = d.stream and t.quarter_hour = ${ts('d.qh_ms')} and t.sessions = 0 and t.starts = 0`;

// Cume keys, numbered. Only keys not stored yet are inserted: an identity draws its value before
// ON CONFLICT looks, so inserting every key would burn one value per key per finalization. (Two
// finalizers adding the same new key at once still burn one: rare, and the id is a bigint.) Sorted,
// so that finalizers adding the same new keys wait on each other in one order.
const INSERT_KEYS_SQL = `insert into listener_keys (key) select k.key from unnest($1::text[]) as k(key)
  where not exists (select 1 from listener_keys x where x.key = k.key) order by k.key
  on conflict (key) do nothing`;

// A key's month gains the QHs of its new session rows (bits are only ever added here). One row per
// bit to set (a session sets a few of a month's ~2,900): the strings are built in PostgreSQL, not
// sent as 2,900-character text per key and month.
const OR_LISTENER_MONTHS_SQL = `insert into stream_listener_months as t (stream, month, key_id, qhs)
  select d.stream, ${ts('d.month_ms')}, k.id, bit_or(set_bit(repeat('0', d.n)::varbit, d.i, 1))
  from unnest($1::text[], $2::float8[], $3::text[], $4::int[], $5::int[]) as d(stream, month_ms, key, n, i)
  join listener_keys k on k.key = d.key
  group by d.stream, d.month_ms, k.id, d.n
  order by d.stream, d.month_ms, k.id
  on conflict (stream, month, key_id) do update set qhs = t.qhs | excluded.qhs`;

// When a session row is removed, its key's months are rebuilt from the rows that remain (a bit may
// have been the removed row's alone): delete, then OR back every remaining row's QHs of the month,
// found through sessions_listener (a listener's sessions) or the session id (a key without listener).
// Two finalizers rebuilding one key's month would each rebuild from a snapshot without the other's
// removal, and the OR on conflict would keep a bit that neither should. So every key whose months a
// finalization writes is locked first, sorted, before any stream_listener_months row: one lock order
// (keys, then their months) for every finalizer, and a key's months are written by one
// transaction at a time (a rebuild starts after the other's commit; no two transactions ever wait
// on each other's month rows, which could deadlock when their adds and rebuilds crossed).
const LOCK_KEYS_SQL = `select id from listener_keys where key = any($1::text[]) order by key for update`;

const DELETE_LISTENER_MONTHS_SQL = `delete from stream_listener_months t
  using unnest($1::text[], $2::float8[], $3::text[]) as d(stream, month_ms, key), listener_keys k
  where k.key = d.key and t.stream = d.stream and t.month = ${ts('d.month_ms')} and t.key_id = k.id`;

const REBUILD_LISTENER_MONTHS_SQL = `insert into stream_listener_months as t (stream, month, key_id, qhs)
  select d.stream, ${ts('d.month_ms')}, k.id,
    bit_or(set_bit(repeat('0', d.n)::varbit, ((x.qh_ms - d.month_ms) / ${QUARTER_HOUR_MS})::int, 1))
  from unnest($1::text[], $2::float8[], $3::text[], $4::float8[], $5::int[]) as d(stream, month_ms, key, end_ms, n)
  join listener_keys k on k.key = d.key
  cross join lateral (
    select ${ms('q.quarter_hour')} as qh_ms from sessions s
      join session_quarter_hours q on q.session = s.session and q.session_start = s.start
      where s.listener = d.key and s.stream = d.stream
        and s.start >= ${ts('(d.month_ms - $6::float8)')} and s.start < ${ts('(d.end_ms + $7::float8)')}
        and q.quarter_hour >= ${ts('d.month_ms')} and q.quarter_hour < ${ts('d.end_ms')}
    union all
    select ${ms('q.quarter_hour')} from session_quarter_hours q
      where d.key like 'session:%' and q.session = substr(d.key, 9) and q.listener is null and q.stream = d.stream
        and q.quarter_hour >= ${ts('d.month_ms')} and q.quarter_hour < ${ts('d.end_ms')}
  ) x
  group by d.stream, d.month_ms, k.id, d.n
  order by d.stream, d.month_ms, k.id
  on conflict (stream, month, key_id) do update set qhs = t.qhs | excluded.qhs`;

const MARK_FINALIZED_SQL = `update session_state s set finalized_seq = u.seq, finalized_at = now()
  from unnest($1::text[], $2::bigint[]) as u(session, seq)
  where s.session = u.session
  returning s.session, (extract(epoch from (clock_timestamp() - s.due_at)) * 1000)::float8 as lag_ms`;

function denseMinutes(
  minutes: Map<number, number>,
  start: number,
): { firstMinute: number; minuteMs: number[] } {
  if (minutes.size === 0) return { firstMinute: Math.floor(start / MINUTE_MS) * MINUTE_MS, minuteMs: [] };
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const minute of minutes.keys()) {
    if (minute < first) first = minute;
    if (minute > last) last = minute;
  }
  const minuteMs = new Array<number>((last - first) / MINUTE_MS + 1).fill(0);
  for (const [minute, value] of minutes) minuteMs[(minute - first) / MINUTE_MS] = value;
  return { firstMinute: first, minuteMs };
}

/**
 * Runs core's `finalizeSessionId` on one id's events and shapes the rows the worker stores. A stored
 * row also needs the `output` of the session's first event and its first user agent, which core's
 * result does not carry: they are read from the events in core's order (`compareEvents`), where a
 * session's events are exactly those with `start <= time <= end` (sessions of one id never share a
 * time).
 */
export function computeSessionRows(
  events: readonly ListenEvent[],
  settings: FinalizeSettings,
): { counted: SessionRow[]; short: ShortRow[] } {
  const sorted = [...events].sort(compareEvents);
  const done = finalizeSessionId(sorted, settings);
  const counted: SessionRow[] = [];
  let i = 0;
  // Counted sessions come in start order, so one forward pass over the sorted events finds them all.
  for (const fact of done.counted) {
    const s = fact.session;
    while (i < sorted.length && sorted[i]!.time < s.start) i++;
    const output = sorted[i]?.output ?? 'shoutcast';
    let ua: string | null = null;
    for (let j = i; j < sorted.length && sorted[j]!.time <= s.end; j++) {
      const candidate = sorted[j]!.ua;
      if (candidate) {
        ua = candidate;
        break;
      }
    }
    counted.push({
      session: s.session,
      start: s.start,
      stream: s.stream,
      output,
      end: s.end,
      elapsedMs: s.end - s.start,
      durationMs: Math.round(s.duration * 1000),
      bytes: s.bytes,
      listener: s.listener,
      ua,
      ...denseMinutes(fact.minutes, s.start),
      quarterHours: fact.quarterHours,
    });
  }
  const short = done.short.map((s) => ({
    session: s.session,
    start: s.start,
    end: s.end,
    stream: s.stream,
    durationMs: Math.round(s.duration * 1000),
  }));
  for (const row of counted) {
    for (const [field, value] of [
      ['bytes', row.bytes],
      ['duration', row.durationMs],
    ] as const) {
      if (!Number.isSafeInteger(value))
        throw new SessionDataError(
          row.session,
          `session ${row.session} starting ${iso(row.start)}: its ${field} add up to ${value}, past 2^53 - 1, which no row can hold exactly`,
        );
    }
  }
  return { counted, short };
}

/** A session id whose events cannot make rows (sums past what a row holds exactly). */
export class SessionDataError extends Error {
  override readonly name = 'SessionDataError';
  readonly session: string;
  constructor(session: string, message: string) {
    super(message);
    this.session = session;
  }
}

// SQLSTATE classes an id's own data causes: data exception (a value out of range), integrity
// constraint violation, program limit exceeded. Anything else (connection, resources, shutdown,
// deadlock) is the database's state, not the id's, and is not worth setting an id aside for.
const SESSION_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * Whether a finalization failed because of what some id of the batch holds (and would fail again
 * the same way), rather than because of the database or the connection: such a batch is split
 * to find the id and set it aside.
 */
export function isSessionDataError(error: unknown): boolean {
  if (error instanceof SessionDataError || error instanceof RangeError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && SESSION_ERROR_CLASSES.has(code.slice(0, 2))
  );
}

function sameSessionRow(a: SessionRow, b: SessionRow): boolean {
  if (
    a.stream !== b.stream ||
    a.output !== b.output ||
    a.end !== b.end ||
    a.elapsedMs !== b.elapsedMs ||
    a.durationMs !== b.durationMs ||
    a.bytes !== b.bytes ||
    a.listener !== b.listener ||
    a.ua !== b.ua ||
    a.firstMinute !== b.firstMinute ||
    a.minuteMs.length !== b.minuteMs.length
  ) {
    return false;
  }
  for (let i = 0; i < a.minuteMs.length; i++) if (a.minuteMs[i] !== b.minuteMs[i]) return false;
  return true;
}

/** Adds a session row's minutes to the (stream, minute) deltas with `sign` +1 or -1. */
function addMinuteDeltas(
  deltas: Map<string, { stream: string; minute: number; ms: number; sessions: number }>,
  row: SessionRow,
  sign: 1 | -1,
): void {
  for (let i = 0; i < row.minuteMs.length; i++) {
    const value = row.minuteMs[i]!;
    if (value <= 0) continue;
    const minute = row.firstMinute + i * MINUTE_MS;
    const key = `${row.stream}\u0000${minute}`;
    const d = deltas.get(key);
    if (d) {
      d.ms += sign * value;
      d.sessions += sign;
    } else deltas.set(key, { stream: row.stream, minute, ms: sign * value, sessions: sign });
  }
}

/** Whole minutes a rollup row counts for AQH qualifiers: `qualified[k - 1]` for k = 1..15. */
export const QUALIFIER_MINUTES = 15;

interface QuarterHourDelta {
  stream: string;
  qh: number;
  ms: number;
  sessions: number;
  continuing: number;
  starts: number;
  qualified: number[];
}

/**
 * A counted session row's listening by quarter-hour, ascending, only QHs with listening: core's
 * placement for a new row, the sums of its stored `minute_ms` for a stored one (a QH holds whole
 * minutes, and both placements are exact integer ms, so the two agree).
 */
function rowQuarterHours(row: SessionRow): [number, number][] {
  if (row.quarterHours) {
    return [...row.quarterHours].filter(([, value]) => value > 0).sort((a, b) => a[0] - b[0]);
  }
  const out: [number, number][] = [];
  for (let i = 0; i < row.minuteMs.length; i++) {
    const value = row.minuteMs[i]!;
    if (value <= 0) continue;
    const qh = bucketStart(row.firstMinute + i * MINUTE_MS, QUARTER_HOUR_MS);
    const last = out[out.length - 1];
    if (last && last[0] === qh) last[1] += value;
    else out.push([qh, value]);
  }
  return out;
}

/**
 * Adds a session row to the quarter-hour rollup's (stream, QH) deltas with `sign` +1 or -1; returns
 * the row's quarter-hours with listening.
 */
function addQuarterHourDeltas(
  deltas: Map<string, QuarterHourDelta>,
  row: SessionRow,
  sign: 1 | -1,
): number[] {
  const at = (qh: number): QuarterHourDelta => {
    const key = `${row.stream}\u0000${qh}`;
    let d = deltas.get(key);
    if (!d) {
      d = {
        stream: row.stream,
        qh,
        ms: 0,
        sessions: 0,
        continuing: 0,
        starts: 0,
        qualified: new Array<number>(QUALIFIER_MINUTES).fill(0),
      };
      deltas.set(key, d);
    }
    return d;
  };
  let prev = Number.NaN;
  const listened: number[] = [];
  for (const [qh, value] of rowQuarterHours(row)) {
    listened.push(qh);
    const d = at(qh);
    d.ms += sign * value;
    d.sessions += sign;
    if (prev === qh - QUARTER_HOUR_MS) d.continuing += sign;
    const minutes = Math.min(QUALIFIER_MINUTES, Math.floor(value / MINUTE_MS));
    for (let k = 0; k < minutes; k++) d.qualified[k]! += sign;
    prev = qh;
  }
  at(bucketStart(row.start, QUARTER_HOUR_MS)).starts += sign;
  return listened;
}

/** The cume key of a counted session row, as core's cume counts it. */
const cumeKey = (row: SessionRow) => row.listener ?? `session:${row.session}`;

/** A cume key's quarter-hours in one UTC month of a stream: bit indexes of `stream_listener_months.qhs`. */
interface KeyMonth {
  stream: string;
  key: string;
  /** Epoch ms of the month's start and of the next month's. */
  month: number;
  end: number;
  indexes: Set<number>;
}

/** Adds a session row's quarter-hours to the (stream, key, month) bits to set. */
function addListenerMonths(into: Map<string, KeyMonth>, row: SessionRow, qhs: readonly number[]): void {
  const key = cumeKey(row);
  for (const qh of qhs) {
    const { month, end } = utcMonth(qh);
    const id = `${row.stream}\u0000${key}\u0000${month}`;
    let entry = into.get(id);
    if (!entry) {
      entry = { stream: row.stream, key, month, end, indexes: new Set() };
      into.set(id, entry);
    }
    entry.indexes.add((qh - month) / QUARTER_HOUR_MS);
  }
}

function keyArrays(rows: readonly { session: string; start: number }[]): [string[], number[]] {
  return [rows.map((r) => r.session), rows.map((r) => r.start)];
}

const CLEAR_FAILURES_SQL = 'delete from finalize_failures where session = any($1::text[])';

/**
 * The receipt check of due ids (DESIGN section 3: a session is finalized idle after its last event
 * *arrives*): reads each id's latest receipt among the events from its check point on, re-arms
 * (moves due_at to idle after that receipt, pushing `not-due` to `outcomes`) the ids still being
 * listened to, and returns the ids that are due. Reads only the events received since the id's
 * last check, so a re-arm costs the same whatever the id's history.
 */
async function checkReceipts(
  tx: Queryable,
  work: readonly StateRow[],
  settings: FinalizeSettings,
  outcomes: FinalizeOutcome[],
): Promise<StateRow[]> {
  const rows = await tx.query<{ session: string; received_ms: number | null; time_ms: number | null }>(
    RECEIPTS_SQL,
    [work.map((s) => s.session), work.map((s) => s.check_ms)],
  );
  const found = new Map(rows.map((r) => [r.session, r]));
  const idleMs = settings.idleS * 1000;
  const ready: StateRow[] = [];
  const rearm: { session: string; dueMs: number; checkMs: number | null; receivedMs: number }[] = [];
  for (const s of work) {
    const r = found.get(s.session);
    const receivedMs = Math.max(s.received_ms, r?.received_ms ?? Number.NEGATIVE_INFINITY);
    const dueMs = receivedMs + idleMs;
    if (dueMs <= s.now_ms) ready.push(s);
    else {
      rearm.push({ session: s.session, dueMs, checkMs: r?.time_ms ?? null, receivedMs });
      outcomes.push({ session: s.session, status: 'not-due', waitMs: Math.ceil(dueMs - s.now_ms) });
    }
  }
  if (rearm.length > 0) {
    await tx.query(REARM_SQL, [
      rearm.map((r) => r.session),
      rearm.map((r) => r.dueMs),
      rearm.map((r) => r.checkMs),
      rearm.map((r) => r.receivedMs),
    ]);
  }
  return ready;
}

/**
 * Locks the session_state rows of `sessions` in `tx` and runs the receipt check on them alone
 * (re-arming those still listened to), as a finalization does before it reads the ids' events.
 * Returns the ids that are due. For tests and tools that look at the cost of a re-arm.
 */
export async function checkReceiptsOf(
  tx: Queryable,
  sessions: readonly string[],
  settings: FinalizeSettings,
): Promise<{ due: string[]; outcomes: FinalizeOutcome[] }> {
  const states = await lockStates(tx, LOCK_IDS_SQL, [[...sessions]]);
  const outcomes: FinalizeOutcome[] = [];
  const ready = await checkReceipts(tx, states, settings, outcomes);
  return { due: ready.map((s) => s.session), outcomes };
}

/** What one batch wrote, for metrics. */
interface BatchResult {
  outcomes: FinalizeOutcome[];
}

/**
 * Finalizes session ids whose session_state rows `tx` holds locked (`states`). The heart of both
 * the job path and the sweep; bulk statements over arrays, about a dozen per batch whatever its size.
 */
async function finalizeLocked(
  tx: Queryable,
  states: readonly StateRow[],
  settings: FinalizeSettings,
  options: FinalizeOptions,
): Promise<BatchResult> {
  const outcomes: FinalizeOutcome[] = [];
  let work: StateRow[] = [];
  for (const state of states) {
    if (BigInt(state.finalized_seq) >= BigInt(state.change_seq))
      outcomes.push({ session: state.session, status: 'current' });
    else if (state.wait_ms > 0 && !options.force) {
      outcomes.push({ session: state.session, status: 'not-due', waitMs: Math.ceil(state.wait_ms) });
    } else work.push(state);
  }
  if (work.length === 0) return { outcomes };

  // Ingest does not move due_at for every batch (it only locks an id already waiting): an id with
  // an event received less than idle ago is still being listened to, and is due at idle after it.
  if (!options.force) {
    work = await checkReceipts(tx, work, settings, outcomes);
    if (work.length === 0) return { outcomes };
  }

  let lo = Number.POSITIVE_INFINITY;
  for (const s of work) if (s.first_ms < lo) lo = s.first_ms;
  // Rows are stored for an id only by a finalization, which also sets its finalized_seq (> 0): ids
  // never finalized have none to read.
  const seen = work.filter((s) => s.finalized_seq !== '0').map((s) => s.session);
  // Independent statements go out together (one connection pipelines them, in order).
  const [eventRows, oldSessionRows, oldShortRows] = await Promise.all([
    tx.query<EventRow>(EVENTS_SQL, [work.map((s) => s.session), iso(lo)]),
    seen.length > 0 ? tx.query<SessionRowDb>(OLD_SESSIONS_SQL, [seen]) : [],
    seen.length > 0 ? tx.query<ShortRowDb>(OLD_SHORTS_SQL, [seen]) : [],
  ]);

  const eventsById = new Map<string, ListenEvent[]>();
  for (const row of eventRows) {
    const list = eventsById.get(row.session);
    // A null listener or ua reads as absent everywhere in core (`first non-empty`; ids are never null).
    const event = row as unknown as ListenEvent;
    if (list) list.push(event);
    else eventsById.set(row.session, [event]);
  }

  const ids = work.map((s) => s.session);
  const oldSessions = new Map<string, SessionRow[]>();
  for (const r of oldSessionRows) {
    const row: SessionRow = {
      session: r.session,
      start: r.start_ms,
      stream: r.stream,
      output: r.output,
      end: r.end_ms,
      elapsedMs: r.elapsed_ms,
      durationMs: r.duration_ms,
      bytes: r.bytes,
      listener: r.listener,
      ua: r.ua,
      firstMinute: r.first_minute_ms,
      minuteMs: r.minute_ms,
    };
    const list = oldSessions.get(r.session);
    if (list) list.push(row);
    else oldSessions.set(r.session, [row]);
  }
  const oldShorts = new Map<string, ShortRow[]>();
  for (const r of oldShortRows) {
    const row: ShortRow = {
      session: r.session,
      start: r.start_ms,
      end: r.end_ms,
      stream: r.stream,
      durationMs: r.duration_ms,
    };
    const list = oldShorts.get(r.session);
    if (list) list.push(row);
    else oldShorts.set(r.session, [row]);
  }

  const removeSessions: SessionRow[] = [];
  const insertSessions: SessionRow[] = [];
  const removeShorts: ShortRow[] = [];
  const insertShorts: ShortRow[] = [];
  const deltas = new Map<string, { stream: string; minute: number; ms: number; sessions: number }>();
  const qhDeltas = new Map<string, QuarterHourDelta>();
  // (stream, key, month) of listener months: bits to add, and months to rebuild after a removal.
  const addMonths = new Map<string, KeyMonth>();
  const rebuildMonths = new Map<string, KeyMonth>();
  const perId = new Map<string, { counted: number; short: number; written: number }>();
  const removeSession = (old: SessionRow) => {
    removeSessions.push(old);
    addMinuteDeltas(deltas, old, -1);
    addListenerMonths(rebuildMonths, old, addQuarterHourDeltas(qhDeltas, old, -1));
  };
  const insertSession = (row: SessionRow) => {
    insertSessions.push(row);
    addMinuteDeltas(deltas, row, 1);
    addListenerMonths(addMonths, row, addQuarterHourDeltas(qhDeltas, row, 1));
  };

  for (const state of work) {
    const id = state.session;
    const storedSessions = oldSessions.get(id) ?? [];
    const storedShorts = oldShorts.get(id) ?? [];
    // Rows that start before the resume point stay; the events from it on give the rest.
    const from =
      state.changed_from_ms === null
        ? Number.NEGATIVE_INFINITY
        : resumePoint(
            [...storedSessions, ...storedShorts.map((r) => ({ start: r.start, end: r.end ?? undefined }))],
            state.changed_from_ms,
            settings,
          );
    const events = (eventsById.get(id) ?? []).filter((e) => e.time >= from);
    const { counted, short } = computeSessionRows(events, settings);
    const keptCounted = storedSessions.filter((r) => r.start < from).length;
    const keptShort = storedShorts.filter((r) => r.start < from).length;
    const stats = { counted: keptCounted + counted.length, short: keptShort + short.length, written: 0 };
    perId.set(id, stats);
    const sessionsPlan = planRowChanges(
      storedSessions.filter((r) => r.start >= from),
      counted,
      sameSessionRow,
    );
    for (const { old, row } of sessionsPlan.update) {
      removeSession(old);
      insertSession(row);
    }
    for (const row of sessionsPlan.insert) insertSession(row);
    for (const old of sessionsPlan.remove) removeSession(old);
    const shortsPlan = planRowChanges(
      storedShorts.filter((r) => r.start >= from),
      short,
      (a, b) => a.stream === b.stream && a.durationMs === b.durationMs && a.end === b.end,
    );
    for (const { old, row } of shortsPlan.update) {
      removeShorts.push(old);
      insertShorts.push(row);
    }
    insertShorts.push(...shortsPlan.insert);
    removeShorts.push(...shortsPlan.remove);
    stats.written =
      sessionsPlan.update.length +
      sessionsPlan.insert.length +
      sessionsPlan.remove.length +
      shortsPlan.update.length +
      shortsPlan.insert.length +
      shortsPlan.remove.length;
  }

  // The writes, pipelined in this order: deletes before the inserts of the same keys, the
  // stream_minutes upsert (sorted), then the mark.
  const writes: Promise<unknown>[] = [];
  if (removeSessions.length > 0) {
    const keys = keyArrays(removeSessions);
    writes.push(tx.query(DELETE_SESSIONS_SQL, keys), tx.query(DELETE_QUARTER_HOURS_SQL, keys));
  }
  if (removeShorts.length > 0) writes.push(tx.query(DELETE_SHORTS_SQL, keyArrays(removeShorts)));
  if (insertSessions.length > 0) {
    const r = insertSessions;
    writes.push(
      tx.query(INSERT_SESSIONS_SQL, [
        r.map((s) => s.session),
        r.map((s) => s.start),
        r.map((s) => s.stream),
        r.map((s) => s.output),
        r.map((s) => s.end),
        r.map((s) => s.elapsedMs),
        r.map((s) => s.durationMs),
        r.map((s) => s.bytes),
        r.map((s) => s.listener),
        r.map((s) => s.ua),
        r.map((s) => s.firstMinute),
        r.map((s) => `{${s.minuteMs.join(',')}}`),
      ]),
    );
    const qh: [string[], number[], string[], number[], number[], (string | null)[], (number | null)[]] = [
      [],
      [],
      [],
      [],
      [],
      [],
      [],
    ];
    for (const s of r) {
      let prev: number | null = null;
      for (const [quarterHour, value] of rowQuarterHours(s)) {
        qh[0].push(s.session);
        qh[1].push(s.start);
        qh[2].push(s.stream);
        qh[3].push(quarterHour);
        qh[4].push(value);
        qh[5].push(s.listener);
        qh[6].push(prev);
        prev = quarterHour;
      }
    }
    if (qh[0].length > 0) writes.push(tx.query(INSERT_QUARTER_HOURS_SQL, qh));
  }
  if (insertShorts.length > 0) {
    const r = insertShorts;
    writes.push(
      tx.query(INSERT_SHORTS_SQL, [
        r.map((s) => s.session),
        r.map((s) => s.start),
        r.map((s) => s.end),
        r.map((s) => s.stream),
        r.map((s) => s.durationMs),
      ]),
    );
  }
  const changed = [...deltas.values()].filter((d) => d.ms !== 0 || d.sessions !== 0);
  if (changed.length > 0) {
    const streams = changed.map((d) => d.stream);
    const minutes = changed.map((d) => d.minute);
    writes.push(
      tx.query(UPSERT_MINUTES_SQL, [
        streams,
        minutes,
        changed.map((d) => d.ms),
        changed.map((d) => d.sessions),
      ]),
    );
    // Only a removed row can take a minute down to nothing.
    if (removeSessions.length > 0) writes.push(tx.query(DELETE_EMPTY_MINUTES_SQL, [streams, minutes]));
  }
  const qhChanged = [...qhDeltas.values()].filter(
    (d) =>
      d.ms !== 0 ||
      d.sessions !== 0 ||
      d.continuing !== 0 ||
      d.starts !== 0 ||
      d.qualified.some((q) => q !== 0),
  );
  if (qhChanged.length > 0) {
    const streams = qhChanged.map((d) => d.stream);
    const qhs = qhChanged.map((d) => d.qh);
    writes.push(
      tx.query(UPSERT_QUARTER_HOURS_SQL, [
        streams,
        qhs,
        qhChanged.map((d) => d.ms),
        qhChanged.map((d) => d.sessions),
        qhChanged.map((d) => d.continuing),
        qhChanged.map((d) => d.starts),
        qhChanged.map((d) => `{${d.qualified.join(',')}}`),
      ]),
    );
    if (removeSessions.length > 0) writes.push(tx.query(DELETE_EMPTY_QUARTER_HOURS_SQL, [streams, qhs]));
  }
  // Listener months: keys first, then bits added where nothing was removed, then rebuilt months
  // (after every row of this batch is written, so a rebuild sees them).
  const added = [...addMonths.entries()].filter(([id]) => !rebuildMonths.has(id)).map(([, m]) => m);
  const rebuilt = [...rebuildMonths.values()];
  if (added.length > 0 || rebuilt.length > 0) {
    const keys = [...new Set([...added, ...rebuilt].map((m) => m.key))];
    writes.push(tx.query(INSERT_KEYS_SQL, [keys]), tx.query(LOCK_KEYS_SQL, [keys]));
  }
  if (added.length > 0) {
    const bits: [string[], number[], string[], number[], number[]] = [[], [], [], [], []];
    for (const m of added) {
      const n = (m.end - m.month) / QUARTER_HOUR_MS;
      for (const i of m.indexes) {
        bits[0].push(m.stream);
        bits[1].push(m.month);
        bits[2].push(m.key);
        bits[3].push(n);
        bits[4].push(i);
      }
    }
    writes.push(tx.query(OR_LISTENER_MONTHS_SQL, bits));
  }
  if (rebuilt.length > 0) {
    const stream = rebuilt.map((m) => m.stream);
    const month = rebuilt.map((m) => m.month);
    const key = rebuilt.map((m) => m.key);
    writes.push(
      tx.query(DELETE_LISTENER_MONTHS_SQL, [stream, month, key]),
      tx.query(REBUILD_LISTENER_MONTHS_SQL, [
        stream,
        month,
        key,
        rebuilt.map((m) => m.end),
        rebuilt.map((m) => (m.end - m.month) / QUARTER_HOUR_MS),
        settings.maxSessionS * 1000,
        // A session that starts in the next month can hold audio of this one: its first event's.
        MAX_DURATION_S * 1000,
      ]),
    );
  }
  // A set-aside id that finalizes now is no longer failing.
  writes.push(tx.query(CLEAR_FAILURES_SQL, [ids]));
  const marking = tx.query<{ session: string; lag_ms: number }>(MARK_FINALIZED_SQL, [
    ids,
    work.map((s) => s.change_seq),
  ]);
  const [marked] = await Promise.all([marking, ...writes]);
  const lagById = new Map(marked.map((m) => [m.session, m.lag_ms]));
  for (const id of ids) {
    const stats = perId.get(id)!;
    outcomes.push({ session: id, status: 'finalized', ...stats, lagMs: Math.round(lagById.get(id) ?? 0) });
  }
  return { outcomes };
}

// Every statement of a finalization is a key lookup (state rows, the (session, time) index, stored
// rows by session id). Without statistics (a young table) or with a long id list as a parameter,
// the planner can prefer scanning whole tables and comparing each row with every id, which grows
// with the table; in these transactions a scan is never the right plan.
const NO_SEQSCAN_SQL = 'set local enable_seqscan = off';

/** Locks state rows in a finalization transaction (planner setting first, pipelined). */
async function lockStates(tx: Queryable, text: string, params: unknown[]): Promise<StateRow[]> {
  const [, states] = await Promise.all([tx.query(NO_SEQSCAN_SQL), tx.query<StateRow>(text, params)]);
  return states;
}

const RETRYABLE = new Set(['40P01', '40001']);

/** Whether PostgreSQL aborted the transaction in a way that a plain retry fixes (deadlock, serialization). */
export function isRetryableDbError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

async function withRetries<T>(retries: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= retries || !isRetryableDbError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}

// A set-aside id: recorded with its error and backoff; its due_at moves to the retry time, which is
// when the sweep takes it again (the job path leaves it to the sweep).
const SET_ASIDE_SQL = `with f as (
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

const MAX_ERROR_TEXT = 1000;

/** Sets a session id aside with its error (see {@link FinalizeOutcome} `set-aside`). */
async function setAside(
  db: Db,
  session: string,
  error: unknown,
  options: FinalizeOptions,
): Promise<FinalizeOutcome> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_TEXT);
  const code = (error as { code?: unknown } | null)?.code;
  const rows = await withRetries(options.retries ?? 4, () =>
    db.query<{ attempts: number; retry_ms: number }>(SET_ASIDE_SQL, [
      session,
      message,
      typeof code === 'string' ? code : null,
      options.setAsideBaseMs ?? 60_000,
      options.setAsideMaxMs ?? 6 * 3_600_000,
    ]),
  );
  const row = rows[0]!;
  const outcome = {
    session,
    status: 'set-aside',
    error: message,
    attempts: row.attempts,
    retryInMs: Math.max(0, Math.round(row.retry_ms)),
  } as const;
  db.logger?.warn(
    { session, err: message, attempts: outcome.attempts, retryInMs: outcome.retryInMs },
    'session id set aside: it cannot be finalized (see finalize_failures)',
  );
  return outcome;
}

/**
 * Finalizes `ids` in one transaction (their free rows, SKIP LOCKED), and when that fails because
 * of what one of them holds, splits them in halves until the ids that fail are alone, and sets
 * those aside: one bad id costs about 2 log2(n) transactions, and every other id is finalized.
 */
async function finalizeIsolated(
  db: Db,
  ids: readonly string[],
  settings: FinalizeSettings,
  options: FinalizeOptions,
): Promise<FinalizeOutcome[]> {
  try {
    return await withRetries(options.retries ?? 4, () =>
      db.transaction(async (tx) => {
        const states = await lockStates(tx, LOCK_IDS_SKIP_SQL, [ids]);
        return (await finalizeLocked(tx, states, settings, options)).outcomes;
      }),
    );
  } catch (error) {
    if (!isSessionDataError(error)) throw error;
    if (ids.length === 1) return [await setAside(db, ids[0]!, error, options)];
    const half = Math.ceil(ids.length / 2);
    return [
      ...(await finalizeIsolated(db, ids.slice(0, half), settings, options)),
      ...(await finalizeIsolated(db, ids.slice(half), settings, options)),
    ];
  }
}

/**
 * Finalizes one session id (DESIGN section 3) in ONE transaction: locks its session_state row
 * (`FOR UPDATE`: waits for an in-flight ingest of the id or another finalizer), returns `current`
 * when `finalized_seq >= change_seq` and `not-due` when `due_at` is still ahead (unless `force`),
 * else runs core over the id's events and replaces its stored rows, correcting `stream_minutes` by
 * the difference, and sets `finalized_seq` to the `change_seq` read under the lock. An id whose
 * rows cannot be made is set aside (`set-aside`) instead of throwing.
 */
export async function finalizeSession(
  db: Db,
  session: string,
  settings: FinalizeSettings,
  options: FinalizeOptions = {},
): Promise<FinalizeOutcome> {
  try {
    return await withRetries(options.retries ?? 4, () =>
      db.transaction(async (tx) => {
        const states = await lockStates(tx, LOCK_IDS_SQL, [[session]]);
        if (states.length === 0) return { session, status: 'missing' } as const;
        const { outcomes } = await finalizeLocked(tx, states, settings, options);
        return outcomes[0]!;
      }),
    );
  } catch (error) {
    if (!isSessionDataError(error)) throw error;
    return setAside(db, session, error, options);
  }
}

/**
 * Finalizes many session ids with the cost of a few statements per batch rather than per id (the
 * job path batches concurrent jobs through this). Ids whose rows are free are locked and finalized
 * together in one transaction (SKIP LOCKED, so the batch never waits holding locks: no deadlock with
 * ingest or other batches); ids that were locked at that moment are then finalized one by one, each
 * waiting for its own lock as {@link finalizeSession} does. An id that cannot be finalized is found
 * by splitting the batch and set aside; the others are finalized. Returns one outcome per distinct id.
 */
export async function finalizeSessions(
  db: Db,
  sessions: readonly string[],
  settings: FinalizeSettings,
  options: FinalizeOptions = {},
): Promise<FinalizeOutcome[]> {
  const ids = [...new Set(sessions)];
  if (ids.length === 0) return [];
  if (ids.length === 1) return [await finalizeSession(db, ids[0]!, settings, options)];
  const first = await finalizeIsolated(db, ids, settings, options);
  const seen = new Set(first.map((o) => o.session));
  const outcomes = [...first];
  // Busy (locked by someone else) or missing: one by one, each waiting for its own row lock.
  for (const id of ids) if (!seen.has(id)) outcomes.push(await finalizeSession(db, id, settings, options));
  return outcomes;
}

/**
 * One sweep batch in one transaction: locks up to `limit` due, unfinalized session ids (SKIP
 * LOCKED) and finalizes them. Returns the outcomes (empty when nothing is due). When the batch
 * fails because of an id's data, its ids are finalized again split in halves, and the id that
 * fails is set aside.
 */
export async function finalizeDueBatch(
  db: Db,
  limit: number,
  settings: FinalizeSettings,
  options: Omit<FinalizeOptions, 'force'> = {},
): Promise<FinalizeOutcome[]> {
  let locked: string[] = [];
  try {
    return await withRetries(options.retries ?? 4, () =>
      db.transaction(async (tx: DbTx) => {
        const states = await lockStates(tx, LOCK_DUE_SQL, [limit]);
        locked = states.map((s) => s.session);
        if (states.length === 0) return [];
        return (await finalizeLocked(tx, states, settings, {})).outcomes;
      }),
    );
  } catch (error) {
    if (!isSessionDataError(error) || locked.length === 0) throw error;
    return finalizeIsolated(db, locked, settings, { ...options, force: false });
  }
}

/** State of session ids that still need a finalization: `waitMs` until due (<= 0: due now). */
export async function pendingSessions(
  db: Queryable,
  sessions: readonly string[],
): Promise<{ session: string; waitMs: number }[]> {
  if (sessions.length === 0) return [];
  const rows = await db.query<{ session: string; wait_ms: number }>(
    `select session, (extract(epoch from (due_at - now())) * 1000)::float8 as wait_ms
      from session_state where session = any($1::text[]) and finalized_seq < change_seq`,
    [[...new Set(sessions)]],
  );
  return rows.map((r) => ({ session: r.session, waitMs: Math.ceil(r.wait_ms) }));
}
