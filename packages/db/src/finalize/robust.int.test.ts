import { setTimeout as sleep } from 'node:timers/promises';
import type { ListenEvent } from '@earshot/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../client.js';
import { insertEvents } from '../events.js';
import { pruneSessionState, sweepOnce } from '../sweep.js';
import {
  type Driver,
  expectedTables,
  generateEvents,
  openTestDb,
  readTables,
  shuffle,
  type TestDb,
} from '../testing/index.js';
import { checkReceiptsOf, finalizeSession, finalizeSessions } from './index.js';

// Issue 9: one bad session never stops the rest; no counter runs out; a re-arm reads only the
// events of its last idle; cume months rebuilt across a month boundary; a batch that waited behind
// a finalization is scheduled.

const settings = { idleS: 1, maxSessionS: 15, minSessionS: 3 };
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

/** The poison: events that each pass validation but add up past what a row holds. */
function poisonEvents(count: number): ListenEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `poison-${i}`,
    session: 'poison',
    stream: 'live-mp3',
    output: 'shoutcast' as const,
    time: T0 + 60_000 + i,
    duration: 86_400,
    bytes: 2 ** 53 - 1 - i,
  }));
}

const normalEvents = () => generateEvents({ seed: 9, ids: 100, idleS: settings.idleS, startMs: T0 });

async function ingestAll(db: Db, events: readonly ListenEvent[], receivedAt?: number) {
  for (let i = 0; i < events.length; i += 500)
    await insertEvents(db, events.slice(i, i + 500), { idleS: settings.idleS, receivedAt });
}

const failures = (db: Db) =>
  db.query<{ session: string; error: string; code: string | null; attempts: number }>(
    'select session, error, code, attempts from finalize_failures order by session',
  );

function poisonSuite(name: string, driver: Driver) {
  describe(`one bad session id on ${name}`, { timeout: 120_000 }, () => {
    let t: TestDb;
    let db: Db;
    beforeEach(async () => {
      t = await openTestDb(driver);
      db = t.db;
    });
    afterEach(async () => {
      await t?.dispose();
    });

    it('the sweep sets it aside with its error and finalizes every other session, then retries it with backoff', async () => {
      const normal = normalEvents();
      // The poison's events in between the normal ones, as the user posted them.
      const half = Math.floor(normal.length / 2);
      const received = Date.now() - 10_000; // longer than idle ago: everything is due
      await ingestAll(db, normal.slice(0, half), received);
      await ingestAll(db, poisonEvents(2500), received);
      await ingestAll(db, normal.slice(half), received);
      await db.query('update session_state set due_at = now()');

      // A backoff far longer than a sweep takes on a loaded machine; the wait is then skipped by
      // moving the id's due time, not by sleeping.
      const finalize = { setAsideBaseMs: 60_000 };
      const result = await sweepOnce(db, settings, { chunk: 1000, finalize });
      expect(result.setAside).toBe(1);
      expect(result.finalized).toBe(new Set(normal.map((e) => e.session)).size);
      expect(await readTables(db)).toEqual(expectedTables(normal, settings));
      const [failure, ...none] = await failures(db);
      expect(none).toEqual([]);
      expect(failure).toMatchObject({ session: 'poison', attempts: 1 });
      expect(failure!.error).toMatch(/bytes add up to .* past 2\^53 - 1/);
      const waitMs = async () =>
        (
          await db.query<{ wait_ms: number }>(
            `select (extract(epoch from (due_at - now())) * 1000)::float8 as wait_ms from session_state where session = 'poison'`,
          )
        )[0]!.wait_ms;
      // First failure: due again after the base backoff (less the time since it was set aside).
      expect(await waitMs()).toBeGreaterThan(50_000);
      expect(await waitMs()).toBeLessThanOrEqual(60_000);

      // Not due again before its backoff: a sweep right away leaves it alone.
      expect((await sweepOnce(db, settings, { finalize })).found).toBe(0);
      await db.query(`update session_state set due_at = now() where session = 'poison'`);
      const retried = await sweepOnce(db, settings, { finalize });
      expect(retried).toMatchObject({ found: 1, setAside: 1, finalized: 0 });
      expect((await failures(db))[0]).toMatchObject({ session: 'poison', attempts: 2 });
      // Second failure: twice the first wait.
      expect(await waitMs()).toBeGreaterThan(110_000);
      expect(await waitMs()).toBeLessThanOrEqual(120_000);
    });

    it('a job batch holding it finalizes the others and reports it set aside', async () => {
      const normal = normalEvents();
      await ingestAll(db, [...normal, ...poisonEvents(50)], Date.now() - 10_000);
      const ids = [...new Set(normal.map((e) => e.session))];
      const outcomes = await finalizeSessions(db, ['poison', ...ids], settings, { force: true });
      const poison = outcomes.find((o) => o.session === 'poison');
      expect(poison).toMatchObject({ status: 'set-aside', attempts: 1 });
      expect(outcomes.filter((o) => o.status === 'finalized')).toHaveLength(ids.length);
      expect(await readTables(db)).toEqual(expectedTables(normal, settings));
      // Once its data can be stored (here: the operator removed the bad events), it finalizes and
      // leaves finalize_failures.
      await db.query(`delete from listen_events where session = 'poison' and id <> 'poison-0'`);
      await db.query(`update listen_events set bytes = 1000 where session = 'poison'`);
      expect((await finalizeSession(db, 'poison', settings, { force: true })).status).toBe('finalized');
      expect(await failures(db)).toEqual([]);
    });
  });
}

poisonSuite('PostgreSQL', 'postgres');
poisonSuite('PGlite', 'pglite');

describe('counters, re-arms, months and scheduling on PostgreSQL', { timeout: 120_000 }, () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await openTestDb();
    db = t.db;
  });
  afterAll(async () => {
    await t?.dispose();
  });
  beforeEach(async () => {
    await db.query(
      'truncate listen_events, session_state, sessions, session_quarter_hours, short_sessions, stream_minutes, stream_quarter_hours, stream_listener_months, stream_audience_quarter_hours, stream_audience_months, listener_keys, finalize_failures',
    );
  });

  const lastKeyValue = async () =>
    (await db.query<{ v: string | null }>('select last_value::text as v from listener_keys_id_seq'))[0]!.v;

  it('re-finalizing the same cume keys does not advance the listener_keys sequence', async () => {
    const events = normalEvents();
    const ids = [...new Set(events.map((e) => e.session))];
    await ingestAll(
      db,
      events.filter((_, i) => i % 2 === 0),
    );
    await finalizeSessions(db, ids, settings, { force: true });
    const keys = (await db.query<{ n: number }>('select count(*)::int as n from listener_keys'))[0]!.n;
    const before = await lastKeyValue();
    // The rest of the events: every id re-finalized, its rows replaced, its keys' months rebuilt.
    await ingestAll(
      db,
      events.filter((_, i) => i % 2 === 1),
    );
    const again = await finalizeSessions(db, ids, settings, { force: true });
    expect(again.filter((o) => o.status === 'finalized').length).toBeGreaterThan(0);
    await finalizeSessions(db, ids, settings, { force: true });
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
    const after = (await db.query<{ n: number }>('select count(*)::int as n from listener_keys'))[0]!.n;
    // Only keys that are new take a value (the complete events can make sessions, hence keys, the
    // half did not have): the sequence moved by exactly the keys added.
    expect(Number(await lastKeyValue())).toBe(Number(before) + (after - keys));
  });

  it('reads only the events received since the last check when re-arming, however long the history', async () => {
    const fetched = async (history: number) => {
      await db.query('truncate listen_events, session_state');
      const old = Array.from({ length: history }, (_, i) => ({
        id: `h${i}`,
        session: 'long',
        stream: 's',
        output: 'shoutcast' as const,
        time: T0 + i * 30_000,
        duration: 30,
        bytes: 4000,
      }));
      await ingestAll(db, old, Date.now() - 60_000);
      const end = T0 + history * 30_000;
      // A first re-arm: the player is still there (an event received just now).
      await insertEvents(db, [{ ...old[0]!, id: 'now-1', time: end }], { idleS: settings.idleS });
      await db.transaction((tx) => checkReceiptsOf(tx, ['long'], settings));
      // Three more ticks, then the next check: what does it read?
      for (let k = 2; k <= 4; k++)
        await insertEvents(db, [{ ...old[0]!, id: `now-${k}`, time: end + k * 30_000 }], { idleS: 1 });
      // Rows read from listen_events by this backend (its counters not flushed yet include earlier
      // transactions: the difference around the check is the check's).
      const readRows = async (tx: Pick<Db, 'query'>) =>
        (
          await tx.query<{ rows: number }>(
            `select coalesce(sum(coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)), 0)::int as rows
              from pg_stat_xact_user_tables where relname like 'listen_events%'`,
          )
        )[0]!.rows;
      return db.transaction(async (tx) => {
        const before = await readRows(tx);
        const { due, outcomes } = await checkReceiptsOf(tx, ['long'], settings);
        return { due, status: outcomes[0]?.status, rows: (await readRows(tx)) - before };
      });
    };
    const short = await fetched(100);
    const long = await fetched(5000);
    expect(short).toMatchObject({ due: [], status: 'not-due' });
    expect(long).toMatchObject({ due: [], status: 'not-due' });
    // The event the last check ended on plus the three since: not 100 or 5,000.
    expect(short.rows).toBe(4);
    expect(long.rows).toBe(4);
  });

  it('keeps a listener in the cume of a month whose audio came from a session starting in the next month, when that month is rebuilt', async () => {
    const monthEnd = Date.parse('2026-12-01T00:00:00.000Z');
    const tick = (session: string, id: string, time: number, duration = 10): ListenEvent => ({
      id,
      session,
      stream: 'live',
      output: 'shoutcast',
      time,
      duration,
      bytes: 1000,
      listener: 'L',
    });
    // Session "dec" starts at 00:00:30 on December 1st (its first event's time), and that event
    // carries 60 s of audio from 23:59:30 on November 30th.
    const dec = [
      tick('dec', 'd1', monthEnd + 30_000, 60),
      tick('dec', 'd2', monthEnd + 40_000),
      tick('dec', 'd3', monthEnd + 50_000),
    ];
    // Session "nov" of the same listener earlier on November 30th.
    const nov = [tick('nov', 'n1', monthEnd - 3_600_000), tick('nov', 'n2', monthEnd - 3_590_000)];
    // An idle and a maximum long enough that each id is one session (the ticks are 10 s apart).
    const hour = { ...settings, idleS: 60, maxSessionS: 3600 };
    await ingestAll(db, [...dec, ...nov]);
    await finalizeSessions(db, ['dec', 'nov'], hour, { force: true });
    // A late event inside "nov" changes it: its row is replaced, so listener L's November is rebuilt.
    const late = tick('nov', 'n3', monthEnd - 3_595_000);
    await ingestAll(db, [late]);
    expect(await finalizeSession(db, 'nov', hour, { force: true })).toMatchObject({
      status: 'finalized',
      counted: 1,
      written: 1, // replaced: the month is rebuilt
    });
    expect(await readTables(db)).toEqual(expectedTables([...dec, ...nov, late], hour));
  });

  it('prunes session_state rows of ids finalized long ago, and an id that comes back later is finalized exactly', async () => {
    const tick = (session: string, id: string, time: number): ListenEvent => ({
      id,
      session,
      stream: 's',
      output: 'shoutcast',
      time,
      duration: 10,
      bytes: 1000,
    });
    const early = [tick('back', 'b1', T0), tick('back', 'b2', T0 + 10_000), tick('open', 'o1', T0)];
    await ingestAll(db, early);
    await finalizeSessions(db, ['back'], settings, { force: true });
    await db.query(`update session_state set finalized_at = now() - interval '2 hours'`);
    // "open" was never finalized: kept; "back" finalized two hours ago: gone.
    expect(await pruneSessionState(db, 3600)).toBe(1);
    expect(await pruneSessionState(db, 3600)).toBe(0);
    const left = await db.query<{ session: string }>('select session from session_state order by 1');
    expect(left.map((r) => r.session)).toEqual(['open']);
    // The listener comes back (more than idle later): a new row, and the stored session stays.
    const later = [tick('back', 'b3', T0 + 600_000), tick('back', 'b4', T0 + 610_000)];
    await ingestAll(db, later);
    await finalizeSessions(db, ['back', 'open'], settings, { force: true });
    expect(await readTables(db)).toEqual(expectedTables([...early, ...later], settings));
  });

  it('never deadlocks finalizers whose batches share cume keys while they add and rebuild months in crossing orders', async () => {
    // 240 ids over six listener keys (and id-less sessions): every batch touches the same few keys,
    // adding bits for new rows and rebuilding months where late events replace rows.
    const events = generateEvents({ seed: 31, ids: 240, idleS: settings.idleS, startMs: T0 }).map((e) =>
      e.listener ? { ...e, listener: `L${Number(e.listener.slice(1)) % 6}` } : e,
    );
    const ids = [...new Set(events.map((e) => e.session))];
    await ingestAll(
      db,
      events.filter((_, i) => i % 3 !== 0),
    );
    await finalizeSessions(db, ids, settings, { force: true });
    const late = shuffle(
      events.filter((_, i) => i % 3 === 0),
      7,
    );
    const failed: unknown[] = [];
    // No retries: a deadlock (40P01) would be thrown here rather than tried again.
    const finalizer = (order: string[], size: number) => async () => {
      for (let i = 0; i < order.length; i += size)
        await finalizeSessions(db, order.slice(i, i + size), settings, { force: true, retries: 0 });
    };
    for (let round = 0; round < 3; round++) {
      await ingestAll(
        db,
        late.filter((_, i) => i % 3 === round),
      );
      const results = await Promise.allSettled(
        [
          finalizer(ids, 25),
          finalizer(shuffle(ids, 10 + round), 10),
          finalizer([...ids].reverse(), 40),
          finalizer(shuffle(ids, 20 + round), 5),
        ].map((run) => run()),
      );
      for (const r of results) if (r.status === 'rejected') failed.push(r.reason);
    }
    expect(failed.map((e) => (e as { code?: string }).code ?? String(e))).toEqual([]);
    await finalizeSessions(db, ids, settings, { force: true });
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
  });

  it('schedules a batch that waited behind a finalization of its session id', async () => {
    const first = makeTick('w1', T0);
    await insertEvents(db, [first], { idleS: settings.idleS });
    // A finalizer holds the id's row (as finalizeLocked does) and finalizes it while a batch of
    // the same id waits for the lock.
    const finalizer = db.transaction(async (tx) => {
      await tx.query(`select 1 from session_state where session = 'w' for update`);
      await sleep(300);
      await tx.query(`update session_state set finalized_seq = change_seq where session = 'w'`);
    });
    await sleep(50);
    const batch = await insertEvents(db, [makeTick('w2', T0 + 30_000)], { idleS: settings.idleS });
    await finalizer;
    expect(batch.sessions).toEqual(['w']);
    // Its statement's snapshot saw the id pending, but the row it wrote after the wait was finalized:
    // nothing else would schedule it.
    expect(batch.toSchedule).toEqual(['w']);
  });
});

function makeTick(id: string, time: number): ListenEvent {
  return { id, session: 'w', stream: 's', output: 'shoutcast', time, duration: 30, bytes: 1000 };
}
