import { DEFAULT_SESSION_SETTINGS, eventKey, splitSessions } from '@earshot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../client.js';
import { type Driver, generateEvents, loadAndFinalize, openTestDb, type TestDb } from '../testing/index.js';
import { sessionEvents } from './session-events.js';

const SETTINGS = { ...DEFAULT_SESSION_SETTINGS, idleS: 1, maxSessionS: 20 };
const events = generateEvents({ seed: 31, ids: 60, idleS: 1 });
const keys = (list: typeof events) => [...new Set(list.map((e) => `${eventKey(e)}@${e.time}`))].sort();

describe.each<Driver>(['postgres', 'pglite'])('sessionEvents on %s', (driver) => {
  let test: TestDb;
  let db: Db;
  beforeAll(async () => {
    test = await openTestDb(driver);
    db = test.db;
    await loadAndFinalize(db, events, SETTINGS);
  }, 120_000);
  afterAll(() => test?.dispose());

  it("gives back every stored session's events, which core cuts into the same sessions", async () => {
    const times = events.map((e) => e.time);
    const all = await sessionEvents(db, {
      from: Math.min(...times) - 60_000,
      to: Math.max(...times) + 60_000,
    });
    expect(keys(all)).toEqual(keys(events));
    const cut = (list: typeof events) => splitSessions(list, SETTINGS).map((r) => r.session);
    expect(cut(all)).toEqual(cut(events));
  });

  it('gives the sessions that can have audio in a window (ending up to a day before it), each whole, and only of the streams asked', async () => {
    const runs = splitSessions(events, SETTINGS);
    const from = runs[Math.floor(runs.length / 2)]!.session.start;
    const to = from + 2_000;
    const got = await sessionEvents(db, { from, to, streams: ['rock'] });
    const expected = runs.filter(
      (r) => r.session.stream === 'rock' && r.session.start < to && r.session.end > from - 86_400_000,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(keys(got)).toEqual(keys(expected.flatMap((r) => r.events)));
  });
});
