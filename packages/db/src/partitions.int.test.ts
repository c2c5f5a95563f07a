import type { ListenEvent } from '@earshot/core';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from './client.js';
import { insertEvents } from './events.js';
import {
  dropEventPartitionsBefore,
  ensureEventPartitions,
  eventPartitionName,
  listEventPartitions,
  PartitionDdlError,
  type SkippedPartition,
  utcDayOf,
} from './partitions.js';
import { type Driver, openTestDb } from './testing/index.js';

const DAY_MS = 86_400_000;
const OCT1 = Date.UTC(2026, 9, 1);
const day = (n: number) => utcDayOf(OCT1) + n; // day 0 = 2026-10-01
const at = (n: number, hours = 8) => day(n) * DAY_MS + hours * 3_600_000;
const name = (n: number) => eventPartitionName(day(n));

let seq = 0;
function tick(session: string, time: number): ListenEvent {
  return { id: `ev-${seq++}`, session, stream: 'rock', output: 'shoutcast', time, duration: 30, bytes: 1000 };
}

/** Removes every day table (attached, detach pending or detached) and every row: a clean slate. */
async function reset(db: Db): Promise<void> {
  const tables = await db.query<{ name: string }>(
    `select relname as name from pg_class where relkind = 'r' and relname ~ '^listen_events_([0-9]{8}|default)$'`,
  );
  const pending = await db.query<{ name: string }>(
    `select inhrelid::regclass::text as name from pg_inherits where inhparent = 'listen_events'::regclass and inhdetachpending`,
  );
  for (const { name } of pending)
    await db.query(`alter table listen_events detach partition ${name} finalize`);
  for (const { name } of tables) await db.query(`drop table ${name}`);
  await db.query('truncate session_state, finalize_failures');
  db.knownEventDays.clear();
}

/** One event per session on each day given (day n -> session `s<n>`), finalized as the worker would. */
async function finalizedDays(db: Db, days: number[]): Promise<void> {
  await insertEvents(
    db,
    days.map((n) => tick(`s${n}`, at(n))),
    { idleS: 300 },
  );
  await db.query('update session_state set finalized_seq = change_seq, finalized_at = now()');
}

/** Makes session `id` wait for its finalization again, with the given resume point and check start. */
async function pending(db: Db, id: string, changedFrom: number | null, checkFrom: number | null = null) {
  await db.query(
    `update session_state set change_seq = finalized_seq + 1,
      changed_from = case when $2::float8 is null then null else to_timestamp($2::float8 / 1000) end,
      check_from = case when $3::float8 is null then null else to_timestamp($3::float8 / 1000) end
     where session = $1`,
    [id, changedFrom, checkFrom],
  );
}

const names = async (db: Db) => (await listEventPartitions(db)).map((p) => p.name);

describe.each<Driver>(['postgres', 'pglite'])('retention on %s', (driver) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb(driver));
  });
  afterAll(async () => {
    await dispose?.();
  });
  beforeEach(async () => {
    await reset(db);
    await finalizedDays(db, [0, 1, 2, 3, 4]);
  });

  const before = new Date(day(5) * DAY_MS); // every day 0..4 is old enough to go

  it('drops every old day when all sessions are finalized', async () => {
    expect(await dropEventPartitionsBefore(db, before)).toEqual([0, 1, 2, 3, 4].map(name));
    expect(await names(db)).toEqual([]);
  });

  it('keeps the days a pending re-finalization reads: from changed_from minus maxSession on', async () => {
    // s3 got a late event at day 3 06:00: its resume point may be up to a session (24 h) earlier.
    await pending(db, 's3', at(3, 6));
    const skipped: SkippedPartition[] = [];
    const dry = await dropEventPartitionsBefore(db, before, { dryRun: true, onSkip: (s) => skipped.push(s) });
    expect(dry).toEqual([name(0), name(1)]);
    expect(skipped.map((s) => s.name)).toEqual([name(2), name(3), name(4)]);
    expect(skipped[0]).toMatchObject({
      sessions: 1,
      failed: 0,
      example: 's3',
      readsFrom: new Date(at(2, 6)),
    });
    expect(skipped[0]!.reason).toBe(
      `1 session id(s) not finalized yet may still read its events (reads from ${new Date(at(2, 6)).toISOString()} on; e.g. "s3")`,
    );
    expect(await names(db)).toHaveLength(5); // a dry run drops nothing
    // A shorter max session lets day 2 go too.
    expect(await dropEventPartitionsBefore(db, before, { maxSessionS: 3600, dryRun: true })).toEqual([
      name(0),
      name(1),
      name(2),
    ]);
    expect(await dropEventPartitionsBefore(db, before)).toEqual([name(0), name(1)]);
    expect(await names(db)).toEqual([name(2), name(3), name(4)]);
    // Once s3 is finalized its days go as well.
    await db.query('update session_state set finalized_seq = change_seq');
    expect(await dropEventPartitionsBefore(db, before)).toEqual([name(2), name(3), name(4)]);
  });

  it('keeps every day from first_time on for a pending id without changed_from (a whole-id finalization)', async () => {
    await pending(db, 's1', null);
    expect(await dropEventPartitionsBefore(db, before)).toEqual([name(0)]);
  });

  it('keeps the days the receipt check reads (check_from), when it starts earlier', async () => {
    await pending(db, 's4', at(4, 12), at(1, 12));
    expect(await dropEventPartitionsBefore(db, before)).toEqual([name(0)]);
  });

  it('keeps the days of ids set aside in finalize_failures, and says so', async () => {
    await pending(db, 's2', at(2, 9));
    await db.query(
      `insert into finalize_failures (session, error, attempts, retry_at) values ('s2', 'boom', 3, now())`,
    );
    // Set aside while its session_state says finalized (a stale row): kept all the same.
    await db.query(
      `insert into finalize_failures (session, error, attempts, retry_at) values ('s4', 'boom', 1, now())`,
    );
    const skipped: SkippedPartition[] = [];
    expect(await dropEventPartitionsBefore(db, before, { onSkip: (s) => skipped.push(s) })).toEqual([
      name(0),
    ]);
    expect(skipped.map((s) => [s.name, s.sessions, s.failed])).toEqual([
      [name(1), 1, 1],
      [name(2), 1, 1],
      [name(3), 2, 2],
      [name(4), 2, 2],
    ]);
    expect(skipped[0]!.reason).toContain('(1 set aside in finalize_failures)');
  });
});

/** A second connection that holds a lock on listen_events until `release()`. */
async function holdLock(url: string, statements: string[]): Promise<{ release(): Promise<void> }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const txn = sql.begin(async (t) => {
    for (const statement of statements) await t.unsafe(statement);
    locked();
    await released;
  });
  await Promise.race([isLocked, txn]);
  return {
    async release() {
      release();
      await txn;
      await sql.end({ timeout: 5 });
    },
  };
}

/** Ingest-style batches into `days` in a loop until `until` settles: the slowest batch's ms and how many went in. */
async function ingestWhile(db: Db, days: number[], until: Promise<unknown>) {
  let done = false;
  until.then(
    () => (done = true),
    () => (done = true),
  );
  let slowestMs = 0;
  let batches = 0;
  while (!done) {
    const started = performance.now();
    await insertEvents(
      db,
      days.map((n) => tick(`live-${n}`, at(n, 12) + seq)),
      { idleS: 300 },
    );
    slowestMs = Math.max(slowestMs, performance.now() - started);
    batches++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { slowestMs, batches };
}

const settle = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('partition DDL on PostgreSQL does not block ingest', () => {
  let db: Db;
  let url: string;
  let dispose: () => Promise<void>;
  const ddl = { lockTimeoutMs: 300, attempts: 3, backoffMs: 100 };
  const insertInto = (n: number) =>
    `insert into listen_events (id, session, stream, output, time, duration_ms, bytes)
      values ('open', 'x', 'rock', 'shoutcast', '${new Date(at(n)).toISOString()}', 1000, 1)`;

  beforeAll(async () => {
    ({ db, url, dispose } = await openTestDb('postgres'));
  });
  afterAll(async () => {
    await dispose?.();
  });
  beforeEach(async () => {
    await reset(db);
    await finalizedDays(db, [0, 1, 30, 31]); // two old days, two "recent" ones ingest writes to
  });

  const indexesOf = async (n: number) =>
    (
      await db.query<{ def: string }>(
        `select indexdef as def from pg_indexes where tablename = $1 order by 1`,
        [name(n)],
      )
    ).map((r) => r.def.replaceAll(name(n), 'P'));

  it('creates a partition while an insert transaction is open (ATTACH, not CREATE ... PARTITION OF)', async () => {
    const holder = await holdLock(url, [insertInto(30)]);
    try {
      // CREATE TABLE ... PARTITION OF wants ACCESS EXCLUSIVE on listen_events: it waits, and every
      // insert queues behind it for as long.
      const creating = settle(
        db.transaction(async (tx) => {
          await tx.query('set local lock_timeout = 400');
          await tx.query(
            `create table ${name(40)} partition of listen_events for values from ('${new Date(day(40) * DAY_MS).toISOString()}') to ('${new Date(day(41) * DAY_MS).toISOString()}')`,
          );
        }),
      );
      const blocked = await ingestWhile(db, [31], creating);
      expect(blocked.slowestMs).toBeGreaterThan(250);
      const plain = await creating;
      expect(plain.ok).toBe(false);
      expect((plain as { error: { code?: string } }).error.code).toBe('55P03');
      const started = performance.now();
      await ensureEventPartitions(db, [day(32)], { ...ddl, attempts: 1 });
      expect(performance.now() - started).toBeLessThan(ddl.lockTimeoutMs);
    } finally {
      await holder.release();
    }
    expect(await names(db)).toContain(name(32));
    // The same partition as PARTITION OF makes: columns, defaults, primary key and every index.
    expect(await indexesOf(32)).toEqual(await indexesOf(30));
    expect(await indexesOf(32)).toHaveLength(3);
    const columns = (n: number) =>
      db.query(
        `select attname, atttypid::regtype::text as type, attnotnull, attislocal, pg_get_expr(d.adbin, d.adrelid) as def
          from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`,
        [name(n)],
      );
    expect(await columns(32)).toEqual(await columns(30));
    expect((await insertEvents(db, [tick('new-day', at(32))], { idleS: 300 })).inserted).toBe(1);
  });

  it('gives up creating after its tries when the lock never comes, while inserts into existing days go on', async () => {
    // What another DDL statement or an ANALYZE of listen_events holds.
    const holder = await holdLock(url, ['lock table listen_events in share update exclusive mode']);
    try {
      const started = performance.now();
      const creating = settle(ensureEventPartitions(db, [day(33)], ddl));
      const ingest = await ingestWhile(db, [30, 31], creating);
      const outcome = await creating;
      const tookMs = performance.now() - started;
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: Error }).error;
      expect(error).toBeInstanceOf(PartitionDdlError);
      expect(error.message).toMatch(
        new RegExp(
          `^could not create ${name(33)}: a lock on listen_events or the partition was not granted within 300 ms in 3 tries`,
        ),
      );
      // 3 tries of 300 ms plus backoffs of 100..200 and 200..400 ms.
      expect(tookMs).toBeGreaterThanOrEqual(3 * 300 + 100 + 200 - 20);
      expect(ingest.batches).toBeGreaterThan(5);
      expect(ingest.slowestMs).toBeLessThan(ddl.lockTimeoutMs);
    } finally {
      await holder.release();
    }
    expect(await names(db)).not.toContain(name(33));
  });

  // DETACH CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on listen_events and the partition (no
  // conflict with inserts or reads), marks the partition detach pending and commits, waits for the
  // transactions that hold any lock on listen_events, then takes ACCESS EXCLUSIVE on the partition.
  // FINALIZE (the next try) waits for older snapshots and the same partition lock.
  it.each([
    [
      'LOCK TABLE listen_events IN ACCESS SHARE MODE (it locks every partition too)',
      ['lock table listen_events in access share mode'],
    ],
    ['an open transaction that inserted into the partition being dropped', [insertInto(0)]],
    [
      'a REPEATABLE READ report that read recent days (its snapshot)',
      [
        'set transaction isolation level repeatable read',
        `select count(*) from listen_events where time >= '${new Date(day(30) * DAY_MS).toISOString()}'`,
      ],
    ],
  ])(
    'keeps trying while %s, inserts go on, and it fails clearly after its tries',
    async (_what, statements) => {
      const holder = await holdLock(url, statements);
      let outcome: Awaited<ReturnType<typeof settle>>;
      let ingest: Awaited<ReturnType<typeof ingestWhile>>;
      try {
        const dropping = settle(dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS), ddl));
        ingest = await ingestWhile(db, [30, 31], dropping);
        outcome = await dropping;
        // The first part of DETACH CONCURRENTLY committed: the partition waits for its FINALIZE.
        expect((await listEventPartitions(db)).find((p) => p.name === name(0))?.detachPending).toBe(true);
      } finally {
        await holder.release();
      }
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: PartitionDdlError }).error;
      expect(error).toBeInstanceOf(PartitionDdlError);
      expect(error.message).toMatch(new RegExp(`^could not drop ${name(0)}: .* within 300 ms in 3 tries`));
      expect(error.partition).toBe(name(0));
      expect(error.dropped).toEqual([]);
      expect(ingest.batches).toBeGreaterThan(5);
      expect(ingest.slowestMs).toBeLessThan(ddl.lockTimeoutMs);
      // The lock is gone: the next run finishes the detach (FINALIZE) and drops both old days.
      expect(await dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS), ddl)).toEqual([name(0), name(1)]);
      expect(await names(db)).toEqual([name(30), name(31)]);
    },
  );

  it('is only delayed by an ingest transaction left open on a recent day', async () => {
    // It holds listen_events, so the first DETACH try times out waiting for it; but it holds no
    // snapshot between statements and no lock on the old partition, so FINALIZE goes through.
    const holder = await holdLock(url, [insertInto(31)]);
    try {
      const started = performance.now();
      expect(await dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS), ddl)).toEqual([name(0), name(1)]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(
        2 * (ddl.lockTimeoutMs + ddl.backoffMs) - 20,
      );
    } finally {
      await holder.release();
    }
  });

  it('finishes a table an earlier run left detached, refuses to store into a detach-pending day', async () => {
    // An earlier run detached day 0 and stopped before DROP; another was cut off while detaching day 1.
    await db.query(`alter table listen_events detach partition ${name(0)}`);
    const holder = await holdLock(url, ['lock table listen_events in access share mode']);
    try {
      const interrupted = await settle(
        (async () => {
          const sql = db.client.kind === 'postgres' ? db.client.single() : undefined;
          try {
            await sql!.unsafe('set lock_timeout = 200');
            await sql!.unsafe(`alter table listen_events detach partition ${name(1)} concurrently`);
          } finally {
            await sql!.end();
          }
        })(),
      );
      expect(interrupted.ok).toBe(false);
    } finally {
      await holder.release();
    }
    expect(await listEventPartitions(db)).toEqual([
      { name: name(1), day: new Date(day(1) * DAY_MS), detachPending: true },
      { name: name(30), day: new Date(day(30) * DAY_MS), detachPending: false },
      { name: name(31), day: new Date(day(31) * DAY_MS), detachPending: false },
    ]);
    await expect(insertEvents(db, [tick('late', at(1, 9))], { idleS: 300 })).rejects.toThrow(
      /being detached by retention \(detach pending\).*run earshot retention/,
    );
    expect(await dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS))).toEqual([name(0), name(1)]);
    const left = await db.query(`select to_regclass($1) as a, to_regclass($2) as b`, [name(0), name(1)]);
    expect(left).toEqual([{ a: null, b: null }]);
    // The day can take events again: its partition is made anew.
    expect((await insertEvents(db, [tick('late', at(1, 9))], { idleS: 300 })).inserted).toBe(1);
  });

  it('attaches back a table left detached when its day gets events again', async () => {
    await db.query(`alter table listen_events detach partition ${name(30)}`);
    expect(await names(db)).not.toContain(name(30));
    expect((await insertEvents(db, [tick('back', at(30, 13))], { idleS: 300 })).inserted).toBe(1);
    const rows = await db.query<{ session: string }>(
      `select session from listen_events where time >= $1 and time < $2 order by session`,
      [new Date(day(30) * DAY_MS).toISOString(), new Date(day(31) * DAY_MS).toISOString()],
    );
    expect(rows.map((r) => r.session)).toEqual(['back', 's30']);
  });

  it('drops directly, within its lock timeout, when listen_events has a DEFAULT partition', async () => {
    await db.query('create table listen_events_default partition of listen_events default');
    try {
      expect(await dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS), ddl)).toEqual([name(0), name(1)]);
      // Here the drop does need ACCESS EXCLUSIVE on listen_events: an open insert makes it give up.
      const holder = await holdLock(url, [insertInto(31)]);
      try {
        await expect(dropEventPartitionsBefore(db, new Date(day(31) * DAY_MS), ddl)).rejects.toThrow(
          PartitionDdlError,
        );
      } finally {
        await holder.release();
      }
    } finally {
      await db.query('drop table listen_events_default');
    }
  });

  it('refuses a second retention run at the same time', async () => {
    const other = db.client.kind === 'postgres' ? db.client.single() : undefined;
    try {
      await other!.unsafe('select pg_advisory_lock($1)', [0x6561_7272]);
      await expect(dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS), ddl)).rejects.toThrow(
        'another retention run is dropping listen_events partitions',
      );
    } finally {
      await other!.end();
    }
    expect(await dropEventPartitionsBefore(db, new Date(day(2) * DAY_MS), ddl)).toEqual([name(0), name(1)]);
  });
});
