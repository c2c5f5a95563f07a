// One unit over 400 lines: the day partitions of listen_events (names, creation, listing, the
// retention drop and what it must keep), which share the partition locks and the lock-timeout retry.
import type { Sql } from 'postgres';
import type { Db, DbLogger } from './client.js';

const DAY_MS = 86_400_000;
const PARTITION_NAME = /^listen_events_(\d{4})(\d{2})(\d{2})$/;
// Serializes partition creation across processes (CREATE TABLE IF NOT EXISTS alone can still race
// on the catalog's unique indexes).
const PARTITION_LOCK_KEY = 0x6561_7270; // "earp"
// One retention run at a time (a session lock on retention's own connection).
const RETENTION_LOCK_KEY = 0x6561_7272; // "earr"
// lock_not_available (lock_timeout) and deadlock_detected: another session had the lock; try again.
const LOCK_CONFLICT = new Set(['55P03', '40P01']);

/** The UTC day number (days since 1970-01-01) of epoch milliseconds. */
export function utcDayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** The partition of listen_events that holds a UTC day: `listen_events_YYYYMMDD`. */
export function eventPartitionName(day: number): string {
  const iso = new Date(day * DAY_MS).toISOString();
  return `listen_events_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
}

function dayOfPartitionName(name: string): number | undefined {
  const m = PARTITION_NAME.exec(name);
  if (!m) return undefined;
  return utcDayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/**
 * How partition DDL waits for its locks, so that it never stalls ingest: each statement gives up
 * after `lockTimeoutMs` (PostgreSQL's `lock_timeout`; a DDL statement waiting for a lock makes
 * every later conflicting request queue behind it) and is tried again after a backoff.
 */
export interface PartitionDdlOptions {
  /** `lock_timeout` of each DDL statement, ms. Default 2000. */
  lockTimeoutMs?: number | undefined;
  /** Tries per partition, the first included. Default 4. */
  attempts?: number | undefined;
  /** Wait before the second try, ms; it doubles per try, plus up to as much again at random. Default 500. */
  backoffMs?: number | undefined;
}

/** Partition DDL that did not get its lock in any of its tries (or failed otherwise). */
export class PartitionDdlError extends Error {
  override name = 'PartitionDdlError';
  /** The partition it was about. */
  readonly partition: string;
  /** Partitions already dropped by the same call before it failed. */
  dropped: string[] = [];

  constructor(message: string, partition: string, options?: { cause?: unknown }) {
    super(message, options);
    this.partition = partition;
  }
}

interface DdlSettings {
  lockTimeoutMs: number;
  attempts: number;
  backoffMs: number;
}

function ddlSettings(options: PartitionDdlOptions): DdlSettings {
  const lockTimeoutMs = Math.round(options.lockTimeoutMs ?? 2000);
  const attempts = Math.round(options.attempts ?? 4);
  const backoffMs = options.backoffMs ?? 500;
  if (!(lockTimeoutMs >= 1) || !(attempts >= 1) || !(backoffMs >= 0))
    throw new TypeError('partition DDL: lockTimeoutMs and attempts must be >= 1, backoffMs >= 0');
  return { lockTimeoutMs, attempts, backoffMs };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` until it gets its locks: on a lock timeout or deadlock it waits with backoff and runs it again. */
async function withLockRetries<T>(
  partition: string,
  action: string,
  ddl: DdlSettings,
  logger: DbLogger | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !LOCK_CONFLICT.has(code)) throw error;
      if (attempt >= ddl.attempts) {
        throw new PartitionDdlError(
          `could not ${action} ${partition}: a lock on listen_events or the partition was not granted within ` +
            `${ddl.lockTimeoutMs} ms in ${attempt} tries over ${((Date.now() - started) / 1000).toFixed(1)} s ` +
            `(open transactions or long queries on listen_events hold it; see pg_locks and pg_stat_activity)`,
          partition,
          { cause: error },
        );
      }
      const waitMs = Math.round(ddl.backoffMs * 2 ** (attempt - 1) * (1 + Math.random()));
      logger?.warn(
        { partition, action, attempt, waitMs, lockTimeoutMs: ddl.lockTimeoutMs },
        'listen_events partition DDL timed out waiting for a lock; trying again',
      );
      await sleep(waitMs);
    }
  }
}

/** Where a table named like a day partition stands: attached, being detached, detached, or absent. */
type PartitionState = 'attached' | 'pending' | 'detached' | 'gone';

// Tables named like day partitions in listen_events' schema: its partitions (with a detach that
// was interrupted: detach pending) and tables an interrupted retention detached but did not drop.
const DAY_TABLES_SQL = `select c.relname as name, i.inhrelid is not null as attached,
    coalesce(i.inhdetachpending, false) as pending
  from pg_class c
  left join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'listen_events'::regclass
  where c.relnamespace = (select relnamespace from pg_class where oid = 'listen_events'::regclass)
    and c.relkind = 'r' and c.relname ~ '^listen_events_[0-9]{8}$'
    and (i.inhrelid is not null or not c.relispartition)`;

interface DayTable {
  name: string;
  day: number;
  state: Exclude<PartitionState, 'gone'>;
}

async function listDayTables(db: Db): Promise<DayTable[]> {
  const rows = await db.query<{ name: string; attached: boolean; pending: boolean }>(DAY_TABLES_SQL);
  const out: DayTable[] = [];
  for (const r of rows) {
    const day = dayOfPartitionName(r.name);
    if (day === undefined) continue;
    out.push({ name: r.name, day, state: r.pending ? 'pending' : r.attached ? 'attached' : 'detached' });
  }
  return out.sort((a, b) => a.day - b.day);
}

/**
 * Makes sure listen_events has a partition for each UTC day given (day numbers, see
 * {@link utcDayOf}). Days already known to this process cost nothing; the others are looked up and,
 * when missing, created in their own short transaction under an advisory lock (never inside a long
 * insert transaction). On PostgreSQL a partition is created as a plain table and then attached:
 * `ATTACH PARTITION` takes SHARE UPDATE EXCLUSIVE on listen_events, which inserts and reads do not
 * conflict with, where `CREATE TABLE ... PARTITION OF` needs ACCESS EXCLUSIVE and would queue every
 * insert behind any open transaction. The DDL waits at most `lockTimeoutMs` per try (see
 * {@link PartitionDdlOptions}); out of tries it throws a {@link PartitionDdlError}.
 */
export async function ensureEventPartitions(
  db: Db,
  days: Iterable<number>,
  options: PartitionDdlOptions = {},
): Promise<void> {
  const wanted = [...new Set(days)].filter((day) => !db.knownEventDays.has(day)).sort((a, b) => a - b);
  if (wanted.length === 0) return;
  const ddl = ddlSettings(options);
  const names = wanted.map(eventPartitionName);
  const existing = await db.query<{ name: string; pending: boolean }>(
    `select c.relname as name, i.inhdetachpending as pending from unnest($1::text[]) as n
      join pg_class c on c.oid = to_regclass(n)
      join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'listen_events'::regclass`,
    [names],
  );
  const pending = existing.filter((r) => r.pending).map((r) => r.name);
  if (pending.length > 0) {
    // Its range cannot take a new partition until the detach is finished (earshot retention does).
    throw new PartitionDdlError(
      `listen_events partition ${pending.join(', ')} is being detached by retention (detach pending): ` +
        'events of its day cannot be stored; run earshot retention to finish the detach',
      pending[0]!,
    );
  }
  const present = new Set(existing.map((r) => r.name));
  const missing = wanted.filter((day) => !present.has(eventPartitionName(day)));
  if (missing.length > 0) {
    const label = missing.map(eventPartitionName).join(', ');
    await withLockRetries(label, 'create', ddl, db.logger, () =>
      db.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
        // After the advisory lock: a concurrent creator holds it for one bounded try at most.
        await tx.query(`set local lock_timeout = ${ddl.lockTimeoutMs}`);
        const tables = await tx.query<{ name: string; attached: boolean }>(
          `select c.relname as name, c.relispartition as attached from unnest($1::text[]) as n
            join pg_class c on c.oid = to_regclass(n)`,
          [missing.map(eventPartitionName)],
        );
        const state = new Map(tables.map((t) => [t.name, t.attached]));
        for (const day of missing) {
          const name = eventPartitionName(day);
          if (state.get(name) === true) continue; // created meanwhile by another process
          // Names and bounds come from integers we computed, never from input.
          const bounds = `for values from ('${new Date(day * DAY_MS).toISOString()}') to ('${new Date((day + 1) * DAY_MS).toISOString()}')`;
          if (db.driver === 'pglite') {
            // One connection: nothing to wait for.
            await tx.query(`create table if not exists ${name} partition of listen_events ${bounds}`);
            continue;
          }
          if (state.has(name)) {
            // Detached by a retention run that stopped before dropping it: take it back, rows and all.
            db.logger?.warn({ partition: name }, 'attaching a listen_events day table left detached');
          } else {
            await tx.query(`create table ${name} (like listen_events including all excluding indexes)`);
          }
          // Creates the partition's indexes (the table is new and empty: instant).
          await tx.query(`alter table listen_events attach partition ${name} ${bounds}`);
        }
      }),
    );
    db.logger?.info({ partitions: missing.map(eventPartitionName) }, 'created listen_events partitions');
  }
  for (const day of wanted) db.knownEventDays.add(day);
}

/** The listen_events day partitions that exist, oldest first (`detachPending`: retention is detaching it). */
export async function listEventPartitions(
  db: Db,
): Promise<{ name: string; day: Date; detachPending: boolean }[]> {
  return (await listDayTables(db))
    .filter((t) => t.state !== 'detached')
    .map((t) => ({ name: t.name, day: new Date(t.day * DAY_MS), detachPending: t.state === 'pending' }));
}

/** A day partition retention left alone, and why. */
export interface SkippedPartition {
  name: string;
  day: Date;
  /** Why, in words: the session ids that may still read it. */
  reason: string;
  /** Session ids not finalized yet (finalized_seq < change_seq, or in finalize_failures) that may read its events. */
  sessions: number;
  /** How many of them are set aside in finalize_failures. */
  failed: number;
  /** The earliest event time any of them may read from. */
  readsFrom: Date;
  /** One of them (the least id). */
  example: string;
}

export interface DropEventPartitionsOptions extends PartitionDdlOptions {
  /**
   * The longest session, seconds (the worker's `maxSession`). A pending re-finalization reads its
   * id's events from up to this much before its `changed_from`. Default 86 400.
   */
  maxSessionS?: number | undefined;
  /** Decide and report, drop nothing: returns the names that would be dropped. */
  dryRun?: boolean | undefined;
  /** Called for every partition before the limit that is kept because a session may still need it. */
  onSkip?: ((skipped: SkippedPartition) => void) | undefined;
}

// Where the next finalization of each pending session id (and of each id set aside in
// finalize_failures) starts reading events: its resume point is at most maxSession before
// changed_from (changed_from null: the whole id, from first_time), and its receipt check reads from
// coalesce(check_from, changed_from, first_time). Grouped by UTC day. The first branch is the
// partial index session_state_pending's predicate.
const PENDING_READS_SQL = `with reads as (
    select s.session, f.session is not null as failed, s.first_time, s.changed_from, s.check_from
      from session_state s left join finalize_failures f on f.session = s.session
      where s.finalized_seq < s.change_seq
    union all
    select s.session, true, s.first_time, s.changed_from, s.check_from
      from finalize_failures f join session_state s on s.session = f.session
      where not (s.finalized_seq < s.change_seq)
  ), bounds as (
    select session, failed, least(coalesce(changed_from - make_interval(secs => $1::float8), first_time),
      coalesce(check_from, changed_from, first_time)) as from_time
    from reads
  )
  select floor(extract(epoch from from_time) / 86400)::int as day, count(*)::int as sessions,
    count(*) filter (where failed)::int as failed, min(session) as example,
    (extract(epoch from min(from_time)) * 1000)::float8 as from_ms
  from bounds group by 1 order by 1`;

interface PendingReads {
  day: number;
  sessions: number;
  failed: number;
  example: string;
  from_ms: number;
}

/** Why `day` must stay, or undefined when no pending session reads it (`reads` sorted by day). */
function skipOf(table: DayTable, reads: readonly PendingReads[]): SkippedPartition | undefined {
  // A session reading from `from_time` reads every day from from_time's day on.
  const needing = reads.filter((r) => r.day <= table.day);
  if (needing.length === 0) return undefined;
  const sessions = needing.reduce((n, r) => n + r.sessions, 0);
  const failed = needing.reduce((n, r) => n + r.failed, 0);
  const readsFrom = new Date(Math.min(...needing.map((r) => Number(r.from_ms))));
  const example = needing.map((r) => r.example).sort()[0]!;
  const aside = failed > 0 ? ` (${failed} set aside in finalize_failures)` : '';
  return {
    name: table.name,
    day: new Date(table.day * DAY_MS),
    sessions,
    failed,
    readsFrom,
    example,
    reason:
      `${sessions} session id(s) not finalized yet${aside} may still read its events ` +
      `(reads from ${readsFrom.toISOString()} on; e.g. ${JSON.stringify(example)})`,
  };
}

/**
 * Retention: drops every listen_events day partition that lies wholly before `before` (a partition
 * of day D holds `[D, D+1)`; it is dropped when D+1 <= `before`) unless a session not finalized yet
 * may still read it: a day is kept while any session id with `finalized_seq < change_seq` (ids set
 * aside in finalize_failures included) would read events before D+1 (from `changed_from - maxSession`,
 * or its `first_time` when `changed_from` is null, or its receipt check's `check_from`). Kept days are
 * reported to `onSkip` and logged. Returns the names dropped, oldest first.
 *
 * On PostgreSQL a partition is detached with `DETACH PARTITION ... CONCURRENTLY` (SHARE UPDATE
 * EXCLUSIVE on listen_events: ingest's inserts and the finalizer's reads go on) and then dropped;
 * a detach interrupted earlier (detach pending) is finished with `DETACH ... FINALIZE`, and a table
 * detached but not dropped is dropped. With a DEFAULT partition (CONCURRENTLY is not allowed then)
 * the partition is dropped directly. Every statement waits at most `lockTimeoutMs` for its locks and
 * is tried again with backoff; out of tries it throws a {@link PartitionDdlError} whose `dropped`
 * lists what went before it. PGlite (one connection) drops directly.
 */
export async function dropEventPartitionsBefore(
  db: Db,
  before: Date,
  options: DropEventPartitionsOptions = {},
): Promise<string[]> {
  const limitMs = before.getTime();
  if (Number.isNaN(limitMs)) throw new TypeError('dropEventPartitionsBefore: invalid date');
  const maxSessionS = options.maxSessionS ?? 86_400;
  if (!(maxSessionS >= 0) || !Number.isFinite(maxSessionS))
    throw new TypeError('dropEventPartitionsBefore: maxSessionS must be a number of seconds >= 0');
  const ddl = ddlSettings(options);

  const old = (await listDayTables(db)).filter((t) => (t.day + 1) * DAY_MS <= limitMs);
  if (old.length === 0) return [];
  const reads = await db.query<PendingReads>(PENDING_READS_SQL, [maxSessionS]);
  const droppable: DayTable[] = [];
  for (const table of old) {
    const skipped = skipOf(table, reads);
    if (skipped === undefined) {
      droppable.push(table);
      continue;
    }
    db.logger?.info(
      {
        partition: skipped.name,
        sessions: skipped.sessions,
        failed: skipped.failed,
        example: skipped.example,
      },
      'kept a listen_events partition: sessions not finalized yet may read it',
    );
    options.onSkip?.(skipped);
  }
  if (options.dryRun || droppable.length === 0) return droppable.map((t) => t.name);

  const dropped: string[] = [];
  const done = (table: DayTable) => {
    db.knownEventDays.delete(table.day);
    dropped.push(table.name);
  };
  try {
    if (db.client.kind === 'pglite') {
      for (const table of droppable) {
        await db.query(`drop table if exists ${table.name}`);
        done(table);
      }
    } else {
      const conn = db.client.single();
      try {
        const [lock] = await conn.unsafe<{ ok: boolean }[]>('select pg_try_advisory_lock($1) as ok', [
          RETENTION_LOCK_KEY,
        ]);
        if (!lock?.ok)
          throw new PartitionDdlError(
            'another retention run is dropping listen_events partitions',
            'listen_events',
          );
        const [parent] = await conn.unsafe<{ has_default: boolean }[]>(
          `select partdefid <> 0 as has_default from pg_partitioned_table where partrelid = 'listen_events'::regclass`,
        );
        for (const table of droppable) {
          await withLockRetries(table.name, 'drop', ddl, db.logger, () =>
            dropOne(conn, table.name, ddl.lockTimeoutMs, parent?.has_default === true),
          );
          done(table);
        }
      } finally {
        await conn.end({ timeout: 5 });
      }
    }
  } catch (error) {
    if (error instanceof PartitionDdlError) error.dropped = [...dropped];
    if (dropped.length > 0) db.logger?.info({ partitions: dropped }, 'dropped listen_events partitions');
    throw error;
  }
  if (dropped.length > 0) db.logger?.info({ partitions: dropped }, 'dropped listen_events partitions');
  return dropped;
}

/**
 * One try at removing a day partition on PostgreSQL, from wherever an earlier try stopped. DETACH
 * CONCURRENTLY cannot run in a transaction block, so its lock_timeout is the connection's.
 */
async function dropOne(conn: Sql, name: string, lockTimeoutMs: number, hasDefault: boolean): Promise<void> {
  const [row] = await conn.unsafe<{ attached: boolean; pending: boolean }[]>(
    `select i.inhrelid is not null as attached, coalesce(i.inhdetachpending, false) as pending
      from pg_class c left join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'listen_events'::regclass
      where c.oid = to_regclass($1)`,
    [name],
  );
  const state: PartitionState = !row
    ? 'gone'
    : row.pending
      ? 'pending'
      : row.attached
        ? 'attached'
        : 'detached';
  if (state === 'gone') return;
  await conn.unsafe(`set lock_timeout = ${lockTimeoutMs}`);
  if (state === 'attached' && !hasDefault) {
    await conn.unsafe(`alter table listen_events detach partition ${name} concurrently`);
  } else if (state === 'pending') {
    await conn.unsafe(`alter table listen_events detach partition ${name} finalize`);
  }
  // Detached: only the table itself is locked. Still attached (a DEFAULT partition exists): this
  // takes ACCESS EXCLUSIVE on listen_events, for at most lock_timeout.
  await conn.begin(async (t) => {
    await t.unsafe(`set local lock_timeout = ${lockTimeoutMs}`);
    await t.unsafe(`drop table if exists ${name}`);
  });
}
