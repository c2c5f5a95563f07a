import { MINUTE_MS, QUARTER_HOUR_MS } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import {
  addRowDeltas,
  addShortDeltas,
  changedMinutes,
  changedQuarterHours,
  createRollupDeltas,
  listenerMonthsToWrite,
  rowQuarterHours,
} from './deltas.js';
import { computeSessionRows } from './rows.js';
import type { SessionRow } from './types.js';

const H10 = Date.UTC(2026, 10, 20, 10, 0);

/** A counted session row listening `minuteMs[i]` in minute `firstMinute + i`. */
function row(firstMinute: number, minuteMs: number[], over: Partial<SessionRow> = {}): SessionRow {
  return {
    session: 's1',
    start: firstMinute,
    firstTime: firstMinute + MINUTE_MS,
    stream: 'rock',
    output: 'shoutcast',
    end: firstMinute + minuteMs.length * MINUTE_MS,
    elapsedMs: minuteMs.length * MINUTE_MS,
    durationMs: minuteMs.reduce((a, b) => a + b, 0),
    bytes: 1000,
    listener: 'L1',
    ua: null,
    country: null,
    class: 'human',
    device: 'unknown',
    os: 'unknown',
    player: 'unknown',
    firstMinute,
    minuteMs,
    ...over,
  };
}

const full = (n: number) => new Array<number>(n).fill(MINUTE_MS);

describe('rollup deltas', () => {
  it('leaves the rollups alone for a session of another class than human (they hold net figures)', () => {
    const deltas = createRollupDeltas();
    addRowDeltas(deltas, row(H10, [60_000, 60_000], { class: 'bot' }), 1);
    addRowDeltas(deltas, row(H10, [60_000], { session: 's2', class: 'relay' }), -1);
    expect(changedMinutes(deltas)).toEqual([]);
    expect(changedQuarterHours(deltas)).toEqual([]);
    expect(listenerMonthsToWrite(deltas)).toEqual({ added: [], rebuilt: [] });
  });

  it('gives zero deltas when a session row is added and then removed', () => {
    const deltas = createRollupDeltas();
    const r = row(H10 + 5 * MINUTE_MS, full(40));
    addRowDeltas(deltas, r, 1);
    expect(changedMinutes(deltas)).toHaveLength(40);
    addRowDeltas(deltas, r, -1);
    expect(changedMinutes(deltas)).toEqual([]);
    expect(changedQuarterHours(deltas)).toEqual([]);
  });

  it('counts a session spanning quarter-hours in each, continuing after the first, started in the first', () => {
    const deltas = createRollupDeltas();
    // 10:05 to 10:21: 10 minutes in the 10:00 QH, 6 in the 10:15 QH.
    addRowDeltas(deltas, row(H10 + 5 * MINUTE_MS, full(16)), 1);
    const qualified = (k: number) => Array.from({ length: 15 }, (_, i) => (i < k ? 1 : 0));
    expect(changedQuarterHours(deltas)).toEqual([
      {
        stream: 'rock',
        qh: H10,
        ms: 10 * MINUTE_MS,
        sessions: 1,
        continuing: 0,
        starts: 1,
        qualified: qualified(10),
        lengths: [0, 0, 1, 0, 0, 0], // 16 minutes: the 10-30 min bin
        shortStarts: 0,
      },
      {
        stream: 'rock',
        qh: H10 + QUARTER_HOUR_MS,
        ms: 6 * MINUTE_MS,
        sessions: 1,
        continuing: 1,
        starts: 0,
        qualified: qualified(6),
        lengths: [0, 0, 0, 0, 0, 0],
        shortStarts: 0,
      },
    ]);
    const minutes = changedMinutes(deltas);
    expect(minutes).toHaveLength(16);
    expect(minutes.every((d) => d.ms === MINUTE_MS && d.sessions === 1)).toBe(true);
    expect(minutes[0]!.minute).toBe(H10 + 5 * MINUTE_MS);
  });

  it("counts a human short session's start in its quarter-hour, and nothing of another class", () => {
    const deltas = createRollupDeltas();
    const short = {
      session: 's',
      start: H10 + 20 * MINUTE_MS,
      firstTime: H10 + 20 * MINUTE_MS,
      end: H10 + 20 * MINUTE_MS + 30_000,
      stream: 'rock',
      durationMs: 30_000,
      class: 'human',
    };
    addShortDeltas(deltas, short, 1);
    addShortDeltas(deltas, { ...short, session: 'b', class: 'bot' }, 1);
    expect(changedQuarterHours(deltas)).toEqual([
      expect.objectContaining({ qh: H10 + QUARTER_HOUR_MS, sessions: 0, starts: 0, shortStarts: 1 }),
    ]);
    addShortDeltas(deltas, short, -1);
    expect(changedQuarterHours(deltas)).toEqual([]);
  });

  it('does not count a quarter-hour after a gap as continuing', () => {
    const deltas = createRollupDeltas();
    // Listening in 10:00-10:05, nothing in the 10:15 QH, again in 10:30-10:35.
    const minuteMs = [...full(5), ...new Array<number>(25).fill(0), ...full(5)];
    addRowDeltas(deltas, row(H10, minuteMs), 1);
    expect(changedQuarterHours(deltas).map((d) => [d.qh - H10, d.continuing, d.sessions])).toEqual([
      [0, 0, 1],
      [2 * QUARTER_HOUR_MS, 0, 1],
    ]);
    // Minutes without listening are no delta.
    expect(changedMinutes(deltas)).toHaveLength(10);
  });

  it('counts whole minutes only for qualifiers, at most fifteen', () => {
    const deltas = createRollupDeltas();
    addRowDeltas(deltas, row(H10, [...full(14), MINUTE_MS - 1]), 1);
    addRowDeltas(deltas, row(H10, full(15), { session: 's2' }), 1);
    const [qh] = changedQuarterHours(deltas);
    expect(qh!.sessions).toBe(2);
    expect(qh!.qualified).toEqual([...new Array<number>(14).fill(2), 1]);
  });

  it('subtracts exactly what was added when a row is replaced by a longer one', () => {
    const deltas = createRollupDeltas();
    const old = row(H10, full(10));
    const replacement = row(H10, full(20), { end: H10 + 20 * MINUTE_MS });
    addRowDeltas(deltas, old, -1);
    addRowDeltas(deltas, replacement, 1);
    // Only the ten new minutes change stream_minutes, by one session each.
    expect(changedMinutes(deltas).map((d) => (d.minute - H10) / MINUTE_MS)).toEqual([
      10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]);
    const qhs = changedQuarterHours(deltas);
    // 10:00: 5 more minutes, no new session or start; 10:15: a new session, continuing.
    expect(qhs.map((d) => [d.qh - H10, d.ms, d.sessions, d.continuing, d.starts])).toEqual([
      [0, 5 * MINUTE_MS, 0, 0, 0],
      [QUARTER_HOUR_MS, 5 * MINUTE_MS, 1, 1, 0],
    ]);
  });

  it("places a computed row's quarter-hours as its stored minutes do, so storing and reading it back cancels out", () => {
    const events = Array.from({ length: 50 }, (_, i) => ({
      session: 'id-1',
      stream: 'rock',
      output: 'shoutcast' as const,
      time: H10 + 7_000 + i * 30_000,
      duration: 30,
      bytes: 4000,
      listener: 'L9',
    }));
    const { counted } = computeSessionRows(events, { idleS: 300, maxSessionS: 86_400, minSessionS: 60 });
    expect(counted).toHaveLength(1);
    const computed = counted[0]!;
    const { quarterHours: _, ...stored } = computed;
    expect(rowQuarterHours(stored)).toEqual(rowQuarterHours(computed));
    expect(rowQuarterHours(computed).length).toBeGreaterThan(1);
    const deltas = createRollupDeltas();
    addRowDeltas(deltas, computed, 1);
    addRowDeltas(deltas, stored, -1);
    expect(changedMinutes(deltas)).toEqual([]);
    expect(changedQuarterHours(deltas)).toEqual([]);
  });

  it("sets a cume key's bits in each UTC month its session listens in, and rebuilds the months a removed row touched", () => {
    const monthEnd = Date.UTC(2026, 11, 1);
    // 23:50 on November 30th to 00:20 on December 1st, without a listener: keyed by the session id.
    const crossing = row(monthEnd - 10 * MINUTE_MS, full(30), { listener: null, session: 'anon' });
    const deltas = createRollupDeltas();
    addRowDeltas(deltas, crossing, 1);
    const { added, rebuilt } = listenerMonthsToWrite(deltas);
    expect(rebuilt).toEqual([]);
    const novStart = Date.UTC(2026, 10, 1);
    const lastNovQh = (monthEnd - QUARTER_HOUR_MS - novStart) / QUARTER_HOUR_MS;
    expect(added.map((m) => ({ ...m, indexes: [...m.indexes] }))).toEqual([
      { stream: 'rock', key: 'session:anon', month: novStart, end: monthEnd, indexes: [lastNovQh] },
      { stream: 'rock', key: 'session:anon', month: monthEnd, end: Date.UTC(2027, 0, 1), indexes: [0, 1] },
    ]);
    // The row replaced: both months are rebuilt, and no bits are added to them on top.
    addRowDeltas(deltas, crossing, -1);
    addRowDeltas(deltas, { ...crossing, bytes: 2000 }, 1);
    const again = listenerMonthsToWrite(deltas);
    expect(again.added).toEqual([]);
    expect(again.rebuilt.map((m) => m.month)).toEqual([novStart, monthEnd]);
  });
});
