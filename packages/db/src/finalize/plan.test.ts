import type { ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { changedMinutes, changedQuarterHours } from './deltas.js';
import { planBatch } from './plan.js';
import type { BatchInput } from './read.js';
import { computeSessionRows } from './rows.js';
import type { SessionRow, StateRow } from './types.js';

const settings = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };
const T = Date.UTC(2026, 10, 20, 10, 0);

/** `n` 30-second ticks of id `s` from `from` on. */
const ticks = (s: string, from: number, n: number): ListenEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${s}-${from + i * 30_000}`,
    session: s,
    stream: 'rock',
    output: 'shoutcast' as const,
    time: from + i * 30_000,
    duration: 30,
    bytes: 4000,
    listener: 'L1',
  }));

const state = (session: string, changedFromMs: number | null, finalizedSeq = '1'): StateRow => ({
  session,
  first_ms: T,
  now_ms: T + 86_400_000,
  changed_from_ms: changedFromMs,
  change_seq: '2',
  finalized_seq: finalizedSeq,
  wait_ms: -1,
  check_ms: T,
  received_ms: T,
});

/** The rows as a finalization reads them back: without core's quarter-hour placement. */
const stored = (rows: readonly SessionRow[]): SessionRow[] => rows.map(({ quarterHours: _, ...row }) => row);

const input = (events: ListenEvent[], sessions: SessionRow[] = []): BatchInput => ({
  events: new Map([['s', events]]),
  sessions: new Map(sessions.length > 0 ? [['s', sessions]] : []),
  shorts: new Map(),
});

describe('planBatch', () => {
  it('inserts every row of an id finalized for the first time, and the rollups gain them', () => {
    const events = [...ticks('s', T, 20), ...ticks('s', T + 3_600_000, 20)];
    const plan = planBatch([state('s', null, '0')], input(events), settings);
    // Each start is its first tick's interval start, 30 s before the tick.
    expect(plan.insertSessions.map((r) => r.start)).toEqual([T - 30_000, T + 3_570_000]);
    expect(plan.removeSessions).toEqual([]);
    expect(plan.perId.get('s')).toEqual({ counted: 2, short: 0, written: 2 });
    expect(changedMinutes(plan.deltas).reduce((sum, d) => sum + d.ms, 0)).toBe(2 * 20 * 30_000);
  });

  it('writes nothing when the events give the rows already stored', () => {
    const events = [...ticks('s', T, 20), ...ticks('s', T + 3_600_000, 20)];
    const rows = stored(computeSessionRows(events, settings).counted);
    const plan = planBatch([state('s', null)], input(events, rows), settings);
    expect(plan.insertSessions).toEqual([]);
    expect(plan.removeSessions).toEqual([]);
    expect(plan.perId.get('s')).toEqual({ counted: 2, short: 0, written: 0 });
    expect(changedMinutes(plan.deltas)).toEqual([]);
    expect(changedQuarterHours(plan.deltas)).toEqual([]);
  });

  it('keeps the stored sessions before the resume point, even without their events, and replaces the one a late event changed', () => {
    const first = ticks('s', T, 20);
    const second = ticks('s', T + 3_600_000, 20);
    const rows = stored(computeSessionRows([...first, ...second], settings).counted);
    // A late event inside the second session; the first session's events are gone (retention).
    const late = { ...second[5]!, id: 'late', time: second[5]!.time + 10_000 };
    const plan = planBatch([state('s', late.time)], input([...second, late], rows), settings);
    expect(plan.removeSessions.map((r) => r.start)).toEqual([T + 3_570_000]);
    expect(plan.insertSessions.map((r) => r.start)).toEqual([T + 3_570_000]);
    expect(plan.perId.get('s')).toEqual({ counted: 2, short: 0, written: 1 });
    // The replaced session gains the late event's 30 s: its minutes change, its session count does not.
    expect(changedMinutes(plan.deltas).reduce((sum, d) => sum + d.ms, 0)).toBe(30_000);
    expect(changedMinutes(plan.deltas).every((d) => d.sessions === 0)).toBe(true);
  });

  it('resumes at the first event, not the start, when a session starts before the previous one ended (maxSession cut)', () => {
    const cut = { ...settings, maxSessionS: 600 };
    // 30 ticks in a row: cut at 600 s; the second session's first tick reports 60 s, so its start
    // (T + 540 s) lies before the first session's last tick (T + 570 s).
    const events = ticks('s', T, 30).map((e) => (e.time === T + 600_000 ? { ...e, duration: 60 } : e));
    const rows = stored(computeSessionRows(events, cut).counted);
    expect(rows.map((r) => [r.start, r.firstTime, r.end])).toEqual([
      [T - 30_000, T, T + 570_000],
      [T + 540_000, T + 600_000, T + 870_000],
    ]);
    const late = { ...events[25]!, id: 'late', time: events[25]!.time + 10_000 };
    const plan = planBatch([state('s', late.time)], input([...events, late], rows), cut);
    const expected = computeSessionRows([...events, late], cut).counted;
    expect(plan.removeSessions.map((r) => r.start)).toEqual([T + 540_000]);
    expect(stored(plan.insertSessions)).toEqual(stored(expected.slice(1)));
    expect(plan.perId.get('s')).toEqual({ counted: 2, short: 0, written: 1 });
  });
});
