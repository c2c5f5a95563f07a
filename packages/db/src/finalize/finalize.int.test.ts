import type { ListenEvent } from '@earshot/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../client.js';
import { insertEvents } from '../events.js';
import { dropEventPartitionsBefore } from '../partitions.js';
import { countUnfinalized, sweepOnce } from '../sweep.js';
import {
  batches,
  expectedTables,
  generateEvents,
  openTestDb,
  readTables,
  shuffle,
  type TestDb,
  withRepeats,
} from '../testing/index.js';
import { finalizeSession, finalizeSessions } from './index.js';

const settings = { idleS: 1, maxSessionS: 15, minSessionS: 3 };

// The worker's budget: these race finalizers and ingest over a few hundred ids.
describe('finalizeSession on PostgreSQL', { timeout: 120_000 }, () => {
  let t: TestDb;
  let db: Db;
  // Each test its own database.
  beforeEach(async () => {
    t = await openTestDb();
    db = t.db;
  });
  afterEach(async () => {
    await t?.dispose();
  });

  const ingest = async (events: readonly ListenEvent[]) => {
    for (const batch of batches(events, 200, 7)) await insertEvents(db, batch, { idleS: settings.idleS });
  };

  it('writes what core computes offline, and corrects rows after late events, never doubling', async () => {
    const events = generateEvents({ seed: 1, ids: 120, idleS: settings.idleS });
    const ids = [...new Set(events.map((e) => e.session))];
    // Half of each id's events first, finalize everything (forced: tests do not wait for idle)...
    const early = events.filter((_, i) => i % 2 === 0);
    await ingest(early);
    const earlyIds = [...new Set(early.map((e) => e.session))];
    const first = await finalizeSessions(db, earlyIds, settings, { force: true });
    expect(first.every((o) => o.status === 'finalized')).toBe(true);
    expect(await readTables(db)).toEqual(expectedTables(early, settings));
    // ...then the rest, late, repeated and shuffled: re-finalization corrects the rows.
    await ingest(shuffle(withRepeats(events, 0.2, 3), 5));
    for (const id of ids) await finalizeSession(db, id, settings, { force: true });
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
    // Nothing new: a second pass does nothing.
    const again = await finalizeSessions(db, ids, settings, { force: true });
    expect(again.every((o) => o.status === 'current')).toBe(true);
    expect((await countUnfinalized(db)).pending).toBe(0);
  });

  it('gives the same rows when finalizers race each other and ingest', async () => {
    const events = generateEvents({ seed: 3, ids: 200, idleS: settings.idleS });
    const ids = [...new Set(events.map((e) => e.session))];
    const [first, second] = [events.filter((_, i) => i % 3 !== 0), events.filter((_, i) => i % 3 === 0)];
    await ingest(first);
    // Four finalizers over the same ids, in different orders and batch sizes, while more events land.
    await Promise.all([
      finalizeSessions(db, ids, settings, { force: true }),
      finalizeSessions(db, shuffle(ids, 1), settings, { force: true }),
      Promise.all(shuffle(ids, 2).map((id) => finalizeSession(db, id, settings, { force: true }))),
      ingest(shuffle(second, 4)),
      finalizeSessions(db, shuffle(ids, 3).slice(0, 50), settings, { force: true }),
    ]);
    await finalizeSessions(db, ids, settings, { force: true });
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
    expect((await countUnfinalized(db)).pending).toBe(0);
  });

  it('keeps the sessions whose events retention dropped when their id comes back later', async () => {
    const day1 = Date.parse('2026-10-01T08:00:00Z');
    const later = Date.parse('2026-11-10T08:00:00Z');
    const ticks = (session: string, from: number, n: number): ListenEvent[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `${session}-${from + i * 500}`,
        session,
        stream: 'rock',
        output: 'shoutcast' as const,
        time: from + (i + 1) * 500,
        duration: 0.5,
        bytes: 4000,
        listener: 'L1',
      }));
    const old = [...ticks('S', day1, 10), ...ticks('S', day1 + 20_000, 2), ...ticks('T', day1, 5)];
    await ingest(old);
    await finalizeSessions(db, ['S', 'T'], settings, { force: true });
    expect(await readTables(db)).toEqual(expectedTables(old, settings));
    expect(await dropEventPartitionsBefore(db, new Date('2026-10-20T00:00:00Z'))).toEqual([
      'listen_events_20261001',
    ]);
    // S listens again weeks later: only its new session is computed; the old ones stay as they were.
    const back = ticks('S', later, 6);
    await ingest(back);
    const outcome = await finalizeSession(db, 'S', settings, { force: true });
    expect(outcome).toMatchObject({ status: 'finalized', counted: 2, short: 1, written: 1 });
    expect(await readTables(db)).toEqual(expectedTables([...old, ...back], settings));
  });

  it('leaves a session alone until it is due, then the sweep finalizes it', async () => {
    const events = generateEvents({ seed: 2, ids: 5, idleS: settings.idleS });
    await ingest(events);
    const id = events[0]!.session;
    const early = await finalizeSession(db, id, settings);
    expect(early.status).toBe('not-due');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const swept = await sweepOnce(db, settings, { chunk: 2 });
    expect(swept.finalized).toBe(5);
    expect((await countUnfinalized(db)).pending).toBe(0);
  });

  it('re-arms a session still receiving events from its last receipt, writing session_state once per cycle', async () => {
    const state = async () =>
      (
        await db.query<{ change_seq: string; due_ms: number; ctid: string }>(
          `select change_seq::text, (extract(epoch from due_at) * 1000)::float8 as due_ms, ctid::text
            from session_state where session = 'live'`,
        )
      )[0]!;
    const event = (i: number): ListenEvent => ({
      id: `live-${i}`,
      session: 'live',
      stream: 'rock',
      output: 'shoutcast',
      time: Date.UTC(2026, 10, 2, 8, 0, i * 10),
      duration: 10,
      bytes: 1000,
    });
    const put = (i: number) => insertEvents(db, [event(i)], { idleS: settings.idleS });
    expect((await put(0)).toSchedule).toEqual(['live']);
    const opened = await state();
    // While the id waits for its finalization, later batches only lock its row: no new version.
    for (let i = 1; i <= 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await put(i)).toSchedule).toEqual([]);
    }
    expect(await state()).toEqual(opened);
    // Due by the first receipt, but the last came < idle ago: not finalized, due again 1 s after it.
    const lastReceived = Number(
      (
        await db.query<{ ms: number }>(
          `select (extract(epoch from max(received_at)) * 1000)::float8 as ms from listen_events where session = 'live'`,
        )
      )[0]!.ms,
    );
    const early = await finalizeSession(db, 'live', settings);
    expect(early.status).toBe('not-due');
    expect((await state()).due_ms).toBe(lastReceived + 1000);
    expect((await sweepOnce(db, settings)).finalized).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastReceived + 1100 - Date.now())));
    expect((await sweepOnce(db, settings)).finalized).toBe(1);
    expect(await readTables(db)).toEqual(expectedTables([0, 1, 2, 3].map(event), settings));
    // A late event (before the resume point) of a waiting id still marks it changed, and lists it
    // for scheduling again (its job is pending: the add is a no-op in Redis).
    await put(4);
    const waiting = await state();
    expect(
      (await insertEvents(db, [{ ...event(0), id: 'live-early', time: event(0).time - 5000 }], settings))
        .toSchedule,
    ).toEqual(['live']);
    expect(BigInt((await state()).change_seq)).toBeGreaterThan(BigInt(waiting.change_seq));
  });
});
