import { durationMsOf, eventKey, type ListenEvent } from '@earshot/core';
import type { Db } from './client.js';
import { ensureEventPartitions, utcDayOf } from './partitions.js';

/** How a batch reaches listen_events. */
export type InsertMethod = 'copy' | 'unnest';

export interface InsertEventsOptions {
  /** Session idle time, seconds: `session_state.due_at` becomes now() + idle. */
  idleS: number;
  /** Stored as `received_at`. Default: the transaction's now(). */
  receivedAt?: Date | number | undefined;
  /**
   * `copy` (COPY into a temp table, then INSERT ... SELECT ... ON CONFLICT) or `unnest` (one INSERT
   * over arrays, first without ON CONFLICT, again with it if the batch holds a stored row). Default
   * `unnest`: faster than `copy` for 500-row batches here and fewer round trips (measured by
   * `pnpm bench`, see the README). `copy` needs PostgreSQL.
   */
  method?: InsertMethod | undefined;
}

export interface InsertEventsResult {
  /** Events written now. */
  inserted: number;
  /** Events that were already stored, or repeated earlier in the same batch. */
  duplicates: number;
  /** For each input event: true when this call stored it (the first of repeats within the batch wins). */
  isNew: boolean[];
  /** Session ids touched by new events, sorted. */
  sessions: string[];
  /** Of those, the session ids that had no session_state row before. */
  createdSessions: string[];
  /**
   * Of `sessions`, those whose session_state row this batch wrote: new, finalized before this batch
   * (also by a finalization this batch waited for), or given an event earlier than the finalizer's
   * receipt check reads from. No finalize job can be pending for the first two, so these are the
   * ones to schedule (for the third a job is pending, and adding it again is a no-op). For the other
   * ids a job is already waiting (when it runs, the finalizer finds the later receipts and re-arms
   * it to idle after the last one), or was lost, which the sweep covers.
   */
  toSchedule: string[];
}

/**
 * The first text field of an event that PostgreSQL cannot store (it contains U+0000), if any.
 * `parseEvent` already refuses such events; {@link insertEvents} checks again for events that did
 * not come through it, and throws.
 */
export function unstorableField(event: ListenEvent): string | undefined {
  for (const field of ['session', 'stream', 'listener', 'ua', 'country'] as const) {
    const value = event[field];
    if (value?.includes('\u0000')) return field;
  }
  return undefined;
}

/** What a batch writes: the first event of each (id, time), in batch order, with its stored id. */
interface Rows {
  events: readonly ListenEvent[];
  /** Indexes into `events`. */
  at: number[];
  /** `eventKey` of each, parallel to `at`. */
  ids: string[];
}

function rowKey(id: string, timeMs: number | string): string {
  return `${timeMs}|${id}`;
}

// The statement shared by both methods: insert from `source`, then mark the sessions of the rows
// that were new as changed in session_state (or only lock them: see the WHERE). Rows go in (id,
// time) order and sessions in session order, so concurrent batches take their locks in the same
// order and cannot deadlock. It returns the rows of `keys` (id, ms, time) that were NOT inserted
// (duplicates: usually none, so the answer stays small) and one row per session_state row written.
// With `keys` null it is the plain form: no ON CONFLICT (a row already stored fails the statement
// with a unique violation, and nothing of it is written), no duplicate rows in the answer.
function upsertSql(source: string, keys: string | null, receivedAt: string, idle: string): string {
  const statement = `with ins as (
  insert into listen_events (id, session, stream, output, time, duration_ms, bytes, listener, ua, country, origin, received_at)
  select s.id, s.session, s.stream, s.output, s.time, s.duration_ms, s.bytes, s.listener, s.ua, s.country, s.origin, coalesce(${receivedAt}::timestamptz, now())
  from ${source} order by s.id collate "C", s.time
  ${keys === null ? '' : 'on conflict (id, time) do nothing'}
  returning id, session, time
), st as (
  insert into session_state as ss (session, first_time, last_time, last_received_at, due_at, change_seq, changed_from,
    check_from)
  select session, min(time), max(time), coalesce(${receivedAt}::timestamptz, now()),
    now() + ${idle}::float8 * interval '1 second', (select nextval('session_change_seq')),
    min(time), min(time)
  from ins group by session order by session collate "C"
  on conflict (session) do update set
    first_time = least(ss.first_time, excluded.first_time),
    last_time = greatest(ss.last_time, excluded.last_time),
    last_received_at = excluded.last_received_at,
    -- The values of the proposed row were computed before this row's lock was granted: a batch that
    -- waited behind a later one must not move due_at back, and the sequence is drawn again here,
    -- under the lock, so change_seq is above the finalized_seq of any finalization that went first.
    due_at = greatest(ss.due_at, excluded.due_at),
    change_seq = nextval('session_change_seq'),
    -- Earliest event time since the last finalization (see core's resumePoint); null = unknown.
    changed_from = case when ss.finalized_seq >= ss.change_seq then excluded.changed_from
      else least(coalesce(ss.changed_from, ss.first_time), excluded.changed_from) end,
    -- Where the finalizer's receipt check reads from (see schema.ts): lowered for an early event.
    check_from = case when ss.finalized_seq >= ss.change_seq then excluded.check_from
      else least(coalesce(ss.check_from, ss.changed_from, ss.first_time), excluded.check_from) end
  -- A session already waiting for its finalization is only locked, not rewritten, unless an event
  -- earlier than where the finalizer's receipt check starts arrived (check_from is at or after the
  -- resume point changed_from): the lock orders this batch against a finalizer of the id (which
  -- reads the events under the same lock), and the finalizer, not ingest, moves due_at on to idle
  -- after the last receipt (received_at). So a listener costs session_state one write per
  -- finalization cycle rather than one per batch. The WHERE is evaluated on the row as it is once
  -- the lock is granted, so a batch that waited behind a finalization writes the row it left.
  where ss.finalized_seq >= ss.change_seq
    or excluded.check_from < coalesce(ss.check_from, ss.changed_from, ss.first_time)
  returning session, (xmax = 0) as created
)
`;
  // Every row written gets a job: it was new, finalized (also by a finalizer this batch waited
  // for: the statement's snapshot would still show it pending), or got an early event while a job
  // was pending (adding that job again is a no-op in Redis).
  const states = `select 's' as k, st.session as id, null as t, st.created, true as idle from st`;
  if (keys === null) return statement + states;
  return `${statement}select 'd' as k, k.id, k.ms::text as t, null::boolean as created, null::boolean as idle
from ${keys} where not exists (select 1 from ins where ins.id = k.id and ins.time = k.time)
union all
${states}`;
}

// Times travel as epoch ms (int8[]): cheaper than ISO text, and exact (to_timestamp rounds to the
// microsecond; a whole ms is exactly representable at that precision).
const UNNEST_SOURCE = `(select id, session, stream, output, to_timestamp(ms::float8 / 1000) as time, duration_ms, bytes, listener, ua,
  country, origin
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int[], $7::int8[], $8::text[], $9::text[],
    $10::text[], $11::text[])
  as u(id, session, stream, output, ms, duration_ms, bytes, listener, ua, country, origin)) as s`;
const UNNEST_KEYS = `(select id, ms, to_timestamp(ms::float8 / 1000) as time from unnest($1::text[], $5::int8[]) as u(id, ms)) as k`;
const UNNEST_SQL = upsertSql(UNNEST_SOURCE, UNNEST_KEYS, '$12', '$13');
const UNNEST_PLAIN_SQL = upsertSql(UNNEST_SOURCE, null, '$12', '$13');

const STAGE = 'earshot_stage_listen_events';
const STAGE_DDL = `create temp table if not exists ${STAGE} (id text, session text, stream text, output text,
  time timestamptz, duration_ms int, bytes bigint, listener text, ua text, country text, origin text) on commit delete rows`;
const COPY_SQL = `copy ${STAGE} (id, session, stream, output, time, duration_ms, bytes, listener, ua, country, origin) from stdin`;
const COPY_KEYS = `(select id, (extract(epoch from time) * 1000)::int8 as ms, time from ${STAGE}) as k`;
const COPY_UPSERT_SQL = upsertSql(`${STAGE} as s`, COPY_KEYS, '$1', '$2');

const iso = (ms: number) => new Date(ms).toISOString();

// COPY text format: backslash escapes; \N is NULL.
function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : value;
}

function copyPayload(rows: Rows): string {
  let out = '';
  for (let i = 0; i < rows.at.length; i++) {
    const e = rows.events[rows.at[i]!]!;
    out += `${copyText(rows.ids[i]!)}\t${copyText(e.session)}\t${copyText(e.stream)}\t${e.output}\t${iso(e.time)}\t${durationMsOf(e)}\t${e.bytes}\t${copyText(e.listener ?? null)}\t${copyText(e.ua ?? null)}\t${copyText(e.country ?? null)}\t${copyText(e.origin ?? null)}\n`;
  }
  return out;
}

// Array literals for the unnest parameters, built here rather than by postgres.js (which escapes
// every element with two regex replaces and a closure call: a sixth of ingest's CPU for big groups).
// Every text element is quoted, so only `"` and `\` need escaping; NULL is the unquoted word.
const ARRAY_SPECIAL = /["\\]/;
const ARRAY_SPECIAL_ALL = /["\\]/g;

function textArray(rows: Rows, value: (e: ListenEvent, i: number) => string | undefined): string {
  let out = '{';
  for (let i = 0; i < rows.at.length; i++) {
    const v = value(rows.events[rows.at[i]!]!, i);
    if (i > 0) out += ',';
    if (v === undefined) out += 'NULL';
    else out += ARRAY_SPECIAL.test(v) ? `"${v.replace(ARRAY_SPECIAL_ALL, '\\$&')}"` : `"${v}"`;
  }
  return `${out}}`;
}

function intArray(rows: Rows, value: (e: ListenEvent) => number): string {
  let out = '{';
  for (let i = 0; i < rows.at.length; i++) {
    if (i > 0) out += ',';
    out += value(rows.events[rows.at[i]!]!);
  }
  return `${out}}`;
}

/** The eleven unnest columns, as array literals (PostgreSQL parses them) or as arrays (PGlite). */
function unnestColumns(rows: Rows, literals: boolean): unknown[] {
  const columns: [text: boolean, value: (e: ListenEvent, i: number) => string | number | undefined][] = [
    [true, (_, i) => rows.ids[i]],
    [true, (e) => e.session],
    [true, (e) => e.stream],
    [true, (e) => e.output],
    [false, (e) => e.time],
    [false, (e) => durationMsOf(e)],
    [false, (e) => e.bytes],
    [true, (e) => e.listener],
    [true, (e) => e.ua],
    [true, (e) => e.country],
    [true, (e) => e.origin],
  ];
  if (literals) {
    return columns.map(([text, value]) =>
      text
        ? textArray(rows, value as (e: ListenEvent, i: number) => string | undefined)
        : intArray(rows, value as (e: ListenEvent) => number),
    );
  }
  return columns.map(([, value]) => rows.at.map((at, i) => value(rows.events[at]!, i) ?? null));
}

type ResultRow = {
  k: 'd' | 's';
  id: string;
  t: string | null;
  created: boolean | null;
  idle: boolean | null;
};

async function writeUnnest(
  db: Db,
  rows: Rows,
  receivedAt: string | null,
  idleS: number,
): Promise<ResultRow[]> {
  const cols = unnestColumns(rows, db.client.kind === 'postgres');
  const params = [...cols, receivedAt, idleS];
  const run = (text: string) => hotQuery<ResultRow>(db, text, params);
  // Batches are nearly always all new (a retry is the exception): the plain insert skips the
  // conflict checks and the duplicate answer, about a fifth of the insert's cost. A batch holding a
  // stored row fails it whole (a unique violation: nothing written) and goes again by the
  // statement that skips what is stored.
  try {
    return await run(UNNEST_PLAIN_SQL);
  } catch (error) {
    if ((error as { code?: string } | null)?.code !== UNIQUE_VIOLATION) throw error;
  }
  return run(UNNEST_SQL);
}

/**
 * Runs one of the hot path's fixed statements. On PostgreSQL as a prepared statement (postgres.js
 * keeps it per connection): `unsafe` queries are unnamed by default, which costs every call a
 * Parse, a planning and a Describe round trip before the Bind, a large share of a small group's time.
 */
function hotQuery<T>(q: Db, text: string, params: readonly unknown[]): Promise<T[]> {
  if (q.client.kind === 'postgres') {
    return q.client.sql.unsafe(text, params as never[], { prepare: true }) as unknown as Promise<T[]>;
  }
  return q.query<T>(text, params);
}

const UNIQUE_VIOLATION = '23505';

async function writeCopy(db: Db, rows: Rows, receivedAt: string | null, idleS: number): Promise<ResultRow[]> {
  if (db.client.kind !== 'postgres') throw new Error('insertEvents: the copy method needs PostgreSQL');
  return (await db.client.sql.begin(async (t) => {
    await t.unsafe(STAGE_DDL);
    const stream = await t.unsafe(COPY_SQL).writable();
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.once('finish', resolve);
      stream.end(copyPayload(rows));
    });
    return t.unsafe(COPY_UPSERT_SQL, [receivedAt, idleS]);
  })) as unknown as ResultRow[];
}

function isMissingPartition(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  return e?.code === '23514' && /no partition/i.test(e.message ?? '');
}

/**
 * The ingest hot path. In one transaction (the unnest method is one statement, atomic by itself,
 * which saves the BEGIN and COMMIT round trips): stores the events in listen_events (the id is
 * core's `eventKey`; `ip` is never stored) with ON CONFLICT (id, time) DO NOTHING, and marks each
 * session id touched by a new event as changed in session_state (first/last time, last_received_at,
 * due_at = now() + idle, a new change_seq, the resume point changed_from). A session id already
 * waiting for its finalization is only locked (unless the batch holds an event before its resume
 * point): the finalizer moves its due_at on from the events' received_at. Day partitions are made
 * sure of first. Returns how many events
 * were new and how many were duplicates; a retried batch is a no-op that reports all duplicates.
 */
export async function insertEvents(
  db: Db,
  events: readonly ListenEvent[],
  options: InsertEventsOptions,
): Promise<InsertEventsResult> {
  if (!(options.idleS > 0)) throw new TypeError('insertEvents: idleS must be > 0');
  const isNew = new Array<boolean>(events.length).fill(false);
  if (events.length === 0)
    return { inserted: 0, duplicates: 0, isNew, sessions: [], createdSessions: [], toSchedule: [] };

  // Repeats inside the batch: the first one is the candidate, the rest are duplicates already.
  // Keyed by id alone (ids are nearly always unique); an id that comes again with another time
  // goes in `byKey` under (time, id).
  const byId = new Map<string, number>();
  let byKey: Map<string, number> | undefined;
  const rows: Rows = { events, at: [], ids: [] };
  const days = new Set<number>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const bad = unstorableField(e);
    if (bad !== undefined) throw new TypeError(`insertEvents: event ${i} has U+0000 in ${bad}`);
    const id = eventKey(e);
    const first = byId.get(id);
    if (first === undefined) byId.set(id, i);
    else {
      if (events[first]!.time === e.time) continue;
      const key = rowKey(id, e.time);
      byKey ??= new Map();
      if (byKey.has(key)) continue;
      byKey.set(key, i);
    }
    days.add(utcDayOf(e.time));
    rows.at.push(i);
    rows.ids.push(id);
  }
  const indexOf = (id: string, timeMs: string): number | undefined => {
    const first = byId.get(id);
    if (first !== undefined && String(events[first]!.time) === timeMs) return first;
    return byKey?.get(rowKey(id, timeMs));
  };

  const receivedAt = options.receivedAt === undefined ? null : new Date(options.receivedAt).toISOString();
  const method = options.method ?? 'unnest';
  const write = () =>
    method === 'copy'
      ? writeCopy(db, rows, receivedAt, options.idleS)
      : writeUnnest(db, rows, receivedAt, options.idleS); // one statement: atomic without BEGIN/COMMIT round trips

  await ensureEventPartitions(db, days);
  let result: ResultRow[];
  try {
    result = await write();
  } catch (error) {
    // Retention may have dropped a day this process still believed to exist.
    if (!isMissingPartition(error)) throw error;
    for (const day of days) db.knownEventDays.delete(day);
    await ensureEventPartitions(db, days);
    result = await write();
  }

  // Every first occurrence is new unless the database already had it.
  for (const index of rows.at) isNew[index] = true;
  let inserted = rows.at.length;
  const createdSessions: string[] = [];
  const toSchedule: string[] = [];
  for (const r of result) {
    if (r.k === 'd') {
      const index = indexOf(r.id, r.t!);
      if (index !== undefined && isNew[index]) {
        isNew[index] = false;
        inserted--;
      }
    } else {
      if (r.created) createdSessions.push(r.id);
      if (r.idle) toSchedule.push(r.id);
    }
  }
  const touched = new Set<string>();
  for (const index of rows.at) if (isNew[index]) touched.add(events[index]!.session);
  const sessions = [...touched].sort();
  createdSessions.sort();
  toSchedule.sort();
  return { inserted, duplicates: events.length - inserted, isNew, sessions, createdSessions, toSchedule };
}
