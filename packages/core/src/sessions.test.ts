import { describe, expect, it } from 'vitest';
import type { ListenEvent } from './event.js';
import { countShortSessions, isCounted, planSessionChanges, splitSessions } from './sessions.js';

const T0 = Date.UTC(2026, 10, 1, 9, 0);
const SETTINGS = { idleS: 300, maxSessionS: 86_400 };

let n = 0;
function ev(partial: Partial<ListenEvent> & { time: number }): ListenEvent {
  n++;
  return {
    id: `e${String(n).padStart(6, '0')}`,
    session: 's1',
    stream: 'main-64k',
    output: 'hls',
    duration: 10,
    bytes: 1000,
    ...partial,
  };
}

describe('splitSessions', () => {
  it('makes the reference HLS session: start event + 60 segments of 10 s -> 600 s, elapsed 590 s, group key', () => {
    const events: ListenEvent[] = [ev({ time: T0, duration: 0, bytes: 0, stream: 'main' })];
    for (let i = 0; i < 60; i++)
      events.push(ev({ time: T0 + i * 10_000, duration: 10, bytes: 307_200, stream: 'main-128k' }));
    const runs = splitSessions(events.reverse(), SETTINGS);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.session).toEqual({
      session: 's1',
      stream: 'main',
      start: T0,
      end: T0 + 590_000,
      elapsed: 590,
      duration: 600,
      bytes: 60 * 307_200,
      listener: null,
      output: 'hls',
      ua: null,
      country: null,
      origin: null,
    });
    expect(runs[0]!.output).toBe('hls');
    expect(isCounted(runs[0]!.session, { minSessionS: 60 })).toBe(true);
  });

  it("starts a Shoutcast session at its first tick's start: elapsed is the wall time played", () => {
    // A tick reports the 30 s before it: three ticks are 90 s of wall time, from T0 - 30 s.
    const events = [0, 30_000, 60_000].map((t) => ev({ time: T0 + t, duration: 30, output: 'shoutcast' }));
    const [run] = splitSessions(events, SETTINGS);
    expect(run!.session).toMatchObject({ start: T0 - 30_000, end: T0 + 60_000, elapsed: 90, duration: 90 });
  });

  it('takes the start from the first event in order: a zero-duration event at the same time comes first', () => {
    const segment = ev({ time: T0, duration: 6, id: 'a' });
    const startEvent = ev({ time: T0, duration: 0, id: 'z' });
    expect(splitSessions([segment, startEvent], SETTINGS)[0]!.session).toMatchObject({
      start: T0,
      elapsed: 0,
    });
    expect(splitSessions([segment], SETTINGS)[0]!.session).toMatchObject({ start: T0 - 6000, elapsed: 6 });
    // Integer ms: a fractional duration is rounded as the listening time is.
    const odd = ev({ time: T0, duration: 0.0005, id: 'b' });
    expect(splitSessions([odd], SETTINGS)[0]!.session.start).toBe(T0 - 1);
  });

  it('splits at a gap of idle or more, not below it', () => {
    const events = [ev({ time: T0 }), ev({ time: T0 + 299_999 }), ev({ time: T0 + 299_999 + 300_000 })];
    const runs = splitSessions(events, SETTINGS);
    // The gap compares event times; each start is its first event's interval start (10 s before).
    expect(runs.map((r) => [r.events[0]!.time, r.session.end])).toEqual([
      [T0, T0 + 299_999],
      [T0 + 599_999, T0 + 599_999],
    ]);
    expect(runs.map((r) => [r.session.start, r.session.elapsed])).toEqual([
      [T0 - 10_000, 309.999],
      [T0 + 589_999, 10],
    ]);
  });

  it('cuts at maxSession after the first event of the run', () => {
    const events: ListenEvent[] = [];
    for (let t = 0; t <= 3 * 3600_000; t += 60_000) events.push(ev({ time: T0 + t, duration: 60 }));
    const runs = splitSessions(events, { idleS: 300, maxSessionS: 3600 });
    // The cut compares event times (first events at 0, 60, 120, 180 min); starts are a minute earlier.
    expect(runs.map((r) => (r.events[0]!.time - T0) / 60_000)).toEqual([0, 60, 120, 180]);
    expect(runs.map((r) => (r.session.start - T0) / 60_000)).toEqual([-1, 59, 119, 179]);
    expect(runs.map((r) => r.session.duration)).toEqual([3600, 3600, 3600, 60]);
  });

  it('takes the first non-empty listener, the first stream, and keeps ids apart', () => {
    const runs = splitSessions(
      [
        ev({ time: T0, stream: 'a' }),
        ev({ time: T0 + 1000, listener: 'L1' }),
        ev({ time: T0 + 2000, listener: 'L2' }),
        ev({ time: T0, session: 's0', stream: 'b' }),
      ],
      SETTINGS,
    );
    expect(runs.map((r) => [r.session.session, r.session.stream, r.session.listener])).toEqual([
      ['s0', 'b', null],
      ['s1', 'a', 'L1'],
    ]);
  });

  it('orders zero-duration events first at the same instant, then by id', () => {
    const seg = ev({ time: T0, stream: 'variant', id: 'a' });
    const start = ev({ time: T0, stream: 'group', duration: 0, id: 'z' });
    expect(splitSessions([seg, start], SETTINGS)[0]!.session.stream).toBe('group');
    const x = ev({ time: T0, stream: 'x', id: 'b' });
    const y = ev({ time: T0, stream: 'y', id: 'c' });
    expect(splitSessions([y, x], SETTINGS)[0]!.session.stream).toBe('x');
  });

  it('drops an id repeated at one instant even when other events of that instant sort between', () => {
    const a = ev({ time: T0, id: 'm', duration: 10 });
    const aZero = { ...a, duration: 0 };
    // Sorted: zero-duration first (m, z), then timed (c, m): the two m's are not neighbours.
    const zero = ev({ time: T0, id: 'z', duration: 0 });
    const timed = ev({ time: T0, id: 'c', duration: 10 });
    for (const order of [
      [a, zero, timed, aZero],
      [aZero, zero, timed, a],
    ]) {
      const runs = splitSessions(order, SETTINGS);
      expect(runs[0]!.events.map((e) => e.id).sort()).toEqual(['c', 'm', 'z']);
    }
  });

  it('drops duplicates by id', () => {
    const a = ev({ time: T0 });
    const b = ev({ time: T0 + 10_000 });
    const runs = splitSessions([a, b, { ...a }, { ...b }, a], SETTINGS);
    expect(runs[0]!.session.duration).toBe(20);
    expect(runs[0]!.events).toHaveLength(2);
  });

  it('keeps the same one of two events that share an id and time but differ, in either order', () => {
    const a = ev({ time: T0, duration: 60, bytes: 1 });
    const b = { ...a, duration: 90, bytes: 2 };
    const ab = splitSessions([a, b], SETTINGS);
    const ba = splitSessions([b, a], SETTINGS);
    expect(ab[0]!.events).toHaveLength(1);
    expect(ba).toEqual(ab);
  });
});

describe('isCounted', () => {
  it('counts at exactly minSession and not below', () => {
    expect(isCounted({ duration: 60 }, { minSessionS: 60 })).toBe(true);
    expect(isCounted({ duration: 59.999 }, { minSessionS: 60 })).toBe(false);
  });
});

describe('countShortSessions', () => {
  it('counts tune-outs by stream and start minute', () => {
    const base = {
      session: 's',
      end: 0,
      elapsed: 0,
      duration: 5,
      bytes: 0,
      listener: null,
      output: 'shoutcast' as const,
      ua: null,
      country: null,
      origin: null,
    };
    const counts = [
      ...countShortSessions([
        { ...base, stream: 'a', start: T0 + 1000 },
        { ...base, stream: 'a', start: T0 + 59_000 },
        { ...base, stream: 'a', start: T0 + 60_000 },
        { ...base, stream: 'b', start: T0 },
      ]).values(),
    ];
    expect(counts).toEqual([
      { stream: 'a', minute: T0, count: 2 },
      { stream: 'a', minute: T0 + 60_000, count: 1 },
      { stream: 'b', minute: T0, count: 1 },
    ]);
  });
});

describe('planSessionChanges', () => {
  it('corrects a resumed session instead of doubling it', () => {
    const first = splitSessions(
      [ev({ time: T0, id: 'p1' }), ev({ time: T0 + 60_000, id: 'p2' })],
      SETTINGS,
    ).map((r) => r.session);
    const later = splitSessions(
      [
        ev({ time: T0, id: 'p1' }),
        ev({ time: T0 + 60_000, id: 'p2' }),
        ev({ time: T0 + 120_000, id: 'p3' }),
        ev({ time: T0 + 900_000, id: 'p4' }),
      ],
      SETTINGS,
    ).map((r) => r.session);
    const changes = planSessionChanges(first, later);
    expect(changes.update.map((u) => [u.old.duration, u.row.duration])).toEqual([[20, 30]]);
    expect(changes.insert.map((s) => s.start)).toEqual([T0 + 890_000]);
    expect(changes.remove).toEqual([]);
    const early = splitSessions(
      [ev({ time: T0 - 1000, id: 'p0' }), ev({ time: T0, id: 'p1' })],
      SETTINGS,
    ).map((r) => r.session);
    const moved = planSessionChanges(first, early);
    expect(moved.insert).toHaveLength(1);
    expect(moved.remove).toHaveLength(1);
    expect(planSessionChanges(first, first).unchanged).toHaveLength(1);
  });
});
