import { eventKey, type ListenEvent } from '@earshot/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from './client.js';
import { insertEvents } from './events.js';
import { migrate } from './migrate.js';
import { dropEventPartitionsBefore, listEventPartitions } from './partitions.js';
import { type Driver, openTestDb } from './testing/index.js';

const T0 = Date.UTC(2026, 10, 1, 23, 58);

function makeEvents(n: number, over: (i: number) => Partial<ListenEvent> = () => ({})): ListenEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `ev-${i}`,
    session: `s${i % 3}`,
    stream: 'rock',
    output: 'shoutcast' as const,
    time: T0 + i * 30_000,
    duration: 30,
    bytes: 16_000,
    ...over(i),
  }));
}

interface StateRow {
  session: string;
  first_ms: string;
  last_ms: string;
  change_seq: string;
  finalized_seq: string;
  due_in_s: number;
  changed_from_ms: string;
}

const stateOf = async (db: Db) =>
  db.query<StateRow>(`select session, (extract(epoch from first_time) * 1000)::bigint::text as first_ms,
    (extract(epoch from last_time) * 1000)::bigint::text as last_ms, change_seq, finalized_seq,
    (extract(epoch from changed_from) * 1000)::bigint::text as changed_from_ms,
    round(extract(epoch from due_at - last_received_at))::int as due_in_s from session_state order by session`);

const countEvents = async (db: Db) =>
  Number((await db.query<{ n: string }>('select count(*) as n from listen_events'))[0]!.n);

describe.each<Driver>(['postgres', 'pglite'])('@earshot/db on %s', (driver) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb(driver));
  });
  afterAll(async () => {
    await dispose?.();
  });
  beforeEach(async () => {
    await db.query('truncate listen_events, session_state');
  });

  it('applies the migrations: a day-partitioned listen_events, the change sequence, all tables', async () => {
    await migrate(db); // a second run is a no-op
    const tables = await db.query<{ name: string }>(
      `select tablename as name from pg_tables where schemaname = current_schema() and tablename !~ '^listen_events_' order by 1`,
    );
    expect(tables.map((t) => t.name)).toEqual([
      'earshot_settings',
      'finalize_failures',
      'listen_events',
      'listener_keys',
      'session_quarter_hours',
      'session_state',
      'sessions',
      'short_sessions',
      'stream_audience_months',
      'stream_audience_quarter_hours',
      'stream_listener_months',
      'stream_minutes',
      'stream_quarter_hours',
      'stream_tracks',
    ]);
    const partitioned = await db.query<{ strategy: string }>(
      `select partstrat as strategy from pg_partitioned_table where partrelid = 'listen_events'::regclass`,
    );
    expect(partitioned).toEqual([{ strategy: 'r' }]);
    expect(await db.query(`select to_regclass('session_change_seq')::text as seq`)).toEqual([
      { seq: 'session_change_seq' },
    ]);
  });

  it('inserts a batch and counts duplicates inside it and across batches', async () => {
    const events = makeEvents(10);
    const first = await insertEvents(db, [...events, events[3]!, events[3]!], { idleS: 300 });
    expect(first).toMatchObject({ inserted: 10, duplicates: 2, sessions: ['s0', 's1', 's2'] });
    expect(first.isNew.filter(Boolean)).toHaveLength(10);
    expect(first.isNew.slice(10)).toEqual([false, false]);
    expect(first.createdSessions).toEqual(['s0', 's1', 's2']);
    expect(first.toSchedule).toEqual(['s0', 's1', 's2']);

    const mixed = await insertEvents(
      db,
      [events[0]!, ...makeEvents(2, (i) => ({ id: `new-${i}`, session: 's9' }))],
      {
        idleS: 300,
      },
    );
    expect(mixed).toMatchObject({ inserted: 2, duplicates: 1, isNew: [false, true, true], sessions: ['s9'] });
    expect(await countEvents(db)).toBe(12);
  });

  it('makes a retried batch a no-op that leaves session_state alone', async () => {
    const events = makeEvents(20);
    await insertEvents(db, events, { idleS: 300 });
    const before = await stateOf(db);
    const retry = await insertEvents(db, [...events].reverse(), { idleS: 300 });
    expect(retry).toMatchObject({ inserted: 0, duplicates: 20, sessions: [] });
    expect(await stateOf(db)).toEqual(before);
    expect(await countEvents(db)).toBe(20);
  });

  it('bumps session_state only for sessions with new events: least/greatest times, new change_seq, due never earlier', async () => {
    const events = makeEvents(6); // s0: 0, 3; s1: 1, 4; s2: 2, 5
    await insertEvents(db, events, { idleS: 300 });
    const before = new Map((await stateOf(db)).map((r) => [r.session, r]));
    expect(before.get('s0')).toMatchObject({
      first_ms: String(T0),
      last_ms: String(T0 + 3 * 30_000),
      due_in_s: 300,
    });

    const earlier = { ...events[0]!, id: 'late', time: T0 - 60_000 };
    const r = await insertEvents(db, [events[1]!, events[2]!, earlier], { idleS: 600 });
    expect(r.sessions).toEqual(['s0']);
    const after = new Map((await stateOf(db)).map((row) => [row.session, row]));
    expect(after.get('s1')).toEqual(before.get('s1'));
    expect(after.get('s2')).toEqual(before.get('s2'));
    const s0 = after.get('s0')!;
    expect(s0).toMatchObject({
      first_ms: String(T0 - 60_000),
      last_ms: String(T0 + 3 * 30_000),
      due_in_s: 600,
      // Not finalized since its first batch: the earliest event time of both batches.
      changed_from_ms: String(T0 - 60_000),
    });
    expect(BigInt(s0.change_seq)).toBeGreaterThan(BigInt(before.get('s0')!.change_seq));
    expect(s0.finalized_seq).toBe('0');
    // s0's row was rewritten for its early event: it is listed again (its job is pending, so the
    // add is a no-op in Redis); s1 and s2 were only locked.
    expect(r.toSchedule).toEqual(['s0']);
  });

  it('lists for scheduling the sessions that are new or fully finalized, not those with a pending job', async () => {
    const first = await insertEvents(db, makeEvents(3), { idleS: 300 });
    expect(first.toSchedule).toEqual(['s0', 's1', 's2']);
    // The worker finalized s1 (finalized_seq = change_seq); s0 and s2 still wait for theirs.
    await db.query(`update session_state set finalized_seq = change_seq where session = 's1'`);
    const more = await insertEvents(
      db,
      makeEvents(3, (i) => ({ id: `more-${i}`, time: T0 + 600_000 + i })),
      {
        idleS: 300,
      },
    );
    expect(more.sessions).toEqual(['s0', 's1', 's2']);
    expect(more.toSchedule).toEqual(['s1']);
    // changed_from: the finalized s1 starts again from the new batch, the pending s0 keeps its earliest.
    const state = new Map((await stateOf(db)).map((r) => [r.session, r]));
    expect(state.get('s1')?.changed_from_ms).toBe(String(T0 + 600_001));
    expect(state.get('s0')?.changed_from_ms).toBe(String(T0));
  });

  it('creates one partition per UTC day on demand and drops old ones for retention', async () => {
    await dropEventPartitionsBefore(db, new Date('2100-01-01T00:00:00Z'));
    const crossing = makeEvents(8); // 23:58 .. 00:01:30 crosses midnight
    await insertEvents(db, crossing, { idleS: 300 });
    expect((await listEventPartitions(db)).map((p) => p.name)).toEqual([
      'listen_events_20261101',
      'listen_events_20261102',
    ]);
    const counts = await db.query<{ part: string; n: string }>(
      `select tableoid::regclass::text as part, count(*) as n from listen_events group by 1 order by 1`,
    );
    expect(counts).toEqual([
      { part: 'listen_events_20261101', n: '4' },
      { part: 'listen_events_20261102', n: '4' },
    ]);

    // Retention keeps the days of sessions not finalized yet: these are.
    await db.query('update session_state set finalized_seq = change_seq');
    expect(await dropEventPartitionsBefore(db, new Date('2026-11-02T12:00:00Z'))).toEqual([
      'listen_events_20261101',
    ]);
    expect(await countEvents(db)).toBe(4);
    // A late event for the dropped day recreates its partition instead of failing.
    const late = await insertEvents(db, [{ ...crossing[0]!, id: 'late' }], { idleS: 300 });
    expect(late.inserted).toBe(1);
  });

  it('stores the content key for id-less events, never the ip, and dedupes them on retry', async () => {
    const noId: ListenEvent = {
      session: 'anon',
      stream: 'jazz',
      output: 'hls',
      time: T0,
      duration: 6.006,
      bytes: 9_000,
      ua: 'VLC 3.0\\x',
      ip: '203.0.113.9',
    };
    expect((await insertEvents(db, [noId, { ...noId, ip: '198.51.100.1' }], { idleS: 300 })).inserted).toBe(
      1,
    );
    expect((await insertEvents(db, [noId], { idleS: 300 })).duplicates).toBe(1);
    const rows = await db.query(`select id, ua, duration_ms from listen_events`);
    expect(rows).toEqual([{ id: eventKey(noId), ua: 'VLC 3.0\\x', duration_ms: 6006 }]);
    const columns = await db.query<{ c: string }>(
      `select column_name as c from information_schema.columns where table_name = 'listen_events'`,
    );
    expect(columns.map((c) => c.c)).not.toContain('ip');
  });

  it('counts right when the same batch is written concurrently', async () => {
    const events = makeEvents(300, (i) => ({ session: `c${i % 40}` }));
    const results = await Promise.all(
      Array.from({ length: 6 }, () => insertEvents(db, events, { idleS: 300 })),
    );
    expect(results.reduce((sum, r) => sum + r.inserted, 0)).toBe(300);
    expect(await countEvents(db)).toBe(300);
  });

  it('writes the same rows by COPY as by unnest (PostgreSQL; PGlite refuses COPY clearly)', async () => {
    const events = makeEvents(50, (i) => ({
      ua: i % 2 ? 'a b c\\d' : undefined,
      listener: i % 3 ? 'L' : undefined,
    }));
    if (driver === 'pglite') {
      await expect(insertEvents(db, events, { idleS: 300, method: 'copy' })).rejects.toThrow(
        'the copy method needs PostgreSQL',
      );
      return;
    }
    const viaCopy = await insertEvents(db, events, { idleS: 300, method: 'copy' });
    expect(viaCopy).toMatchObject({ inserted: 50, duplicates: 0 });
    const snapshot = await db.query(
      'select id, session, stream, output, time, duration_ms, bytes, listener, ua from listen_events order by id',
    );
    await db.query('truncate listen_events, session_state');
    expect((await insertEvents(db, events, { idleS: 300, method: 'unnest' })).inserted).toBe(50);
    expect(
      await db.query(
        'select id, session, stream, output, time, duration_ms, bytes, listener, ua from listen_events order by id',
      ),
    ).toEqual(snapshot);
    expect((await insertEvents(db, events, { idleS: 300, method: 'copy' })).duplicates).toBe(50);
  });

  it('stores text with array-literal and COPY specials exactly as sent', async () => {
    const odd = ['a"b', 'c\\d', '{x,y}', 'NULL', ' lead and trail ', 'ünï €𝄞', '\\"', '', 'tab\there'];
    const events = odd.map((text, i) => ({
      ...makeEvents(1)[0]!,
      id: `odd-${i}-${text}`,
      session: `s-${text}`,
      stream: `st-${text}`,
      listener: text,
      ua: text,
      time: T0 + i,
    }));
    const stored = () =>
      db.query<{ id: string; session: string; stream: string; listener: string; ua: string }>(
        'select id, session, stream, listener, ua from listen_events order by time',
      );
    const want = events.map(({ id, session, stream, listener, ua }) => ({
      id,
      session,
      stream,
      listener,
      ua,
    }));
    for (const method of driver === 'postgres' ? (['unnest', 'copy'] as const) : (['unnest'] as const)) {
      await db.query('truncate listen_events, session_state');
      expect((await insertEvents(db, events, { idleS: 300, method })).inserted).toBe(odd.length);
      expect(await stored()).toEqual(want);
      expect((await db.query('select session from session_state order by session')).length).toBe(odd.length);
    }
  });

  it('writes a batch that partly repeats stored events: the new ones once, the rest as duplicates', async () => {
    const events = makeEvents(400, (i) => ({ session: `m${i % 30}` }));
    expect(await insertEvents(db, events.slice(0, 250), { idleS: 300 })).toMatchObject({ inserted: 250 });
    const state = () => db.query('select * from session_state order by session');
    const before = await state();
    // The plain insert meets the unique violation, writes nothing, and the batch goes again by the
    // statement that skips stored rows.
    const mixed = await insertEvents(db, events.slice(100, 400), { idleS: 300 });
    expect(mixed).toMatchObject({ inserted: 150, duplicates: 150 });
    expect(mixed.isNew).toEqual(events.slice(100, 400).map((_, i) => i >= 150));
    expect(await countEvents(db)).toBe(400);
    // Their sessions were waiting for a finalization already: locked, not rewritten.
    expect(await state()).toEqual(before);
    expect((await insertEvents(db, events, { idleS: 300 })).duplicates).toBe(400);
  });

  it('runs raw SQL and drizzle in one transaction, and rolls back on error', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`insert into stream_minutes (stream, minute, ms, sessions) values ('x', now(), 1, 1)`);
        const { streamMinutes } = await import('./schema.js');
        expect(await tx.drizzle.select().from(streamMinutes)).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.query('select * from stream_minutes')).toEqual([]);
  });
});
