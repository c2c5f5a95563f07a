import { buildReport, type ListenEvent, parseEvent, type SessionRun, splitSessions } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { flatCurve } from './curve.js';
import { generateStation, type StationOptions, streamStation } from './station.js';

const BASE: StationOptions = {
  seed: 7,
  start: '2026-11-03T05:00:00-05:00',
  hours: 3,
  listeners: 40,
  tz: 'America/New_York',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SETTINGS = { idleS: 300, maxSessionS: 86_400 };

function runsOf(events: readonly ListenEvent[]): SessionRun[] {
  return splitSessions(events, SETTINGS);
}

/** Sessions that ended well before the window's end, so the cut at the end does not shorten them. */
function finishedRuns(events: readonly ListenEvent[], endMs: number): SessionRun[] {
  return runsOf(events).filter((r) => r.session.end < endMs - 3_600_000);
}

describe('generateStation', () => {
  const events = generateStation(BASE);
  const startMs = Date.parse('2026-11-03T05:00:00-05:00');
  const endMs = startMs + 3 * 3_600_000;

  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateStation(BASE)).toEqual(events);
    const other = generateStation({ ...BASE, seed: 8 });
    expect(other.length).toBeGreaterThan(0);
    expect(other[0]!.id).not.toBe(events[0]!.id);
    expect(generateStation({ ...BASE, seed: 'seven' })).toEqual(generateStation({ ...BASE, seed: 'seven' }));
  });

  it('streams the same events it returns', () => {
    expect([...streamStation(BASE)]).toEqual(events);
  });

  it('emits only valid events, sorted by time, inside the window, with unique UUIDv7 ids', () => {
    expect(events.length).toBeGreaterThan(1000);
    const ids = new Set<string>();
    let previous = 0;
    for (const event of events) {
      const parsed = parseEvent(JSON.parse(JSON.stringify(event)));
      expect(parsed.ok ? parsed.event : parsed.issues).toEqual(event);
      expect(event.id).toMatch(UUID);
      ids.add(event.id!);
      expect(event.time).toBeGreaterThanOrEqual(previous);
      expect(Number.isInteger(event.time)).toBe(true);
      previous = event.time;
    }
    expect(ids.size).toBe(events.length);
    expect(events[0]!.time).toBeGreaterThanOrEqual(startMs);
    expect(events.at(-1)!.time).toBeLessThan(endMs);
  });

  it('puts the event time into the UUIDv7 timestamp', () => {
    for (const event of events.slice(0, 100)) {
      const hex = event.id!.replaceAll('-', '').slice(0, 12);
      expect(Number.parseInt(hex, 16)).toBe(event.time);
    }
  });

  it('has Shoutcast ticks every 30 s with bytes near bitrate x seconds and a burst at connect', () => {
    const shoutcast = runsOf(events).filter((r) => r.output === 'shoutcast');
    expect(shoutcast.length).toBeGreaterThan(10);
    for (const run of shoutcast) {
      expect(run.session.stream).toBe('main-mp3');
      const [first, ...rest] = run.events;
      // The first event of a connection carries the burst-on-connect (48..64 KiB).
      expect(first!.bytes).toBeGreaterThan(16_000 * first!.duration + 40_000);
      rest.slice(0, -1).forEach((event, i) => {
        // Ticks are 30 s apart (timers fire up to 25 ms late); after a pause, a reconnect has a new burst.
        const previous = run.events[i]!;
        if (event.time - previous.time < 31_000 && event.duration > 29) {
          expect(event.bytes / event.duration).toBeGreaterThan(16_000 * 0.93);
          expect(event.bytes / event.duration).toBeLessThan(16_000 * 1.07);
        }
      });
    }
    const durations = shoutcast.flatMap((r) => r.events.map((e) => e.duration));
    const ticks = durations.filter((d) => d >= 29.97 && d <= 30.03).length;
    expect(ticks / durations.length).toBeGreaterThan(0.8);
    // Remainders on close: shorter than a tick.
    expect(durations.some((d) => d > 0 && d < 30)).toBe(true);
  });

  it('starts HLS sessions with a zero-duration group-key event and a prefetch of three segments within a second', () => {
    const hls = runsOf(events).filter((r) => r.output === 'hls' && r.session.start > startMs);
    expect(hls.length).toBeGreaterThan(10);
    for (const run of hls) {
      const [start, ...segments] = run.events;
      expect(start).toMatchObject({ stream: 'main', output: 'hls', duration: 0 });
      expect(run.session.stream).toBe('main');
      const prefetch = segments.slice(0, 3);
      expect(prefetch.every((s) => s.stream === 'main-64k' || s.stream === 'main-128k')).toBe(true);
      expect(prefetch.at(-1)!.time - start!.time).toBeLessThan(1000);
      if (segments.length > 4) expect(segments[3]!.time - start!.time).toBeGreaterThanOrEqual(10_000);
    }
  });

  it('cuts some HLS segments short with pro-rata duration and bytes', () => {
    const segments = events.filter((e) => e.output === 'hls' && e.duration > 0);
    const cut = segments.filter((e) => e.duration < 10);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.length).toBeLessThan(segments.length * 0.05);
    for (const event of cut) {
      const kbps = event.stream === 'main-64k' ? 64 : 128;
      const full = kbps * 125 * 10 * 1.04;
      expect(event.bytes / full).toBeCloseTo(event.duration / 10, 1);
    }
  });

  it('gives most sessions a listener key, some none, and listeners that come back', () => {
    const runs = runsOf(events);
    const withKey = runs.filter((r) => r.session.listener !== null);
    expect(withKey.length / runs.length).toBeGreaterThan(0.85);
    expect(withKey.length).toBeLessThan(runs.length);
    const listeners = new Set(withKey.map((r) => r.session.listener));
    expect(listeners.size).toBeLessThan(withKey.length);
    // A session's events all carry the same key, or none.
    for (const run of runs) expect(new Set(run.events.map((e) => e.listener)).size).toBe(1);
    const none = generateStation({ ...BASE, listenerKeyShare: 0 });
    expect(none.some((e) => e.listener !== undefined)).toBe(false);
    const all = generateStation({ ...BASE, listenerKeyShare: 1 });
    expect(all.every((e) => e.listener !== undefined)).toBe(true);
  });

  it('makes about shortShare of the sessions tune-outs under 60 s', () => {
    const options = { ...BASE, hours: 6, listeners: 60, curve: flatCurve };
    const end = startMs + 6 * 3_600_000;
    const some = finishedRuns(generateStation({ ...options, shortShare: 0.3 }), end);
    const short = some.filter((r) => r.session.duration < 60).length / some.length;
    expect(short).toBeGreaterThan(0.22);
    expect(short).toBeLessThan(0.38);
    const none = finishedRuns(generateStation({ ...options, shortShare: 0 }), end);
    expect(none.filter((r) => r.session.duration < 60)).toEqual([]);
  });

  it('resumes after pauses under the same session id: one session below idle, a new one above', () => {
    const options = { ...BASE, hours: 8, curve: flatCurve, shortShare: 0, pausesPerHour: 3 };
    const end = startMs + 8 * 3_600_000;
    const shortPauses = generateStation({ ...options, longPauseShare: 0 });
    const shortRuns = finishedRuns(shortPauses, end);
    // Every id is one session, but some have gaps: the pauses (HLS gaps show as > 10 s between fetches).
    const ids = new Set(shortRuns.map((r) => r.session.session));
    expect(shortRuns.length).toBe(ids.size);
    const paused = shortRuns.filter((r) =>
      r.events.some((e, i) => i > 0 && e.time - r.events[i - 1]!.time > 40_000),
    );
    expect(paused.length).toBeGreaterThan(shortRuns.length / 4);

    const longPauses = generateStation({ ...options, longPauseShare: 1 });
    const longRuns = runsOf(longPauses);
    const perId = new Map<string, number>();
    for (const run of longRuns) perId.set(run.session.session, (perId.get(run.session.session) ?? 0) + 1);
    const resumed = [...perId.values()].filter((n) => n > 1).length;
    expect(resumed).toBeGreaterThan(perId.size / 4);
    // An HLS player reloads the master playlist after a long pause: the resumed session keeps the group key.
    for (const run of longRuns.filter((r) => r.output === 'hls' && r.session.start > startMs)) {
      expect(run.session.stream).toBe('main');
    }

    const noPauses = finishedRuns(generateStation({ ...options, pausesPerHour: 0 }), end);
    expect(
      noPauses.filter(
        (r) =>
          r.output === 'hls' && r.events.some((e, i) => i > 0 && e.time - r.events[i - 1]!.time > 11_000),
      ),
    ).toEqual([]);
  });

  it('follows the daily curve: more arrivals in AM drive than overnight', () => {
    const day = generateStation({
      ...BASE,
      start: '2026-11-03T00:00:00-05:00',
      hours: 24,
      listeners: 30,
      shortShare: 0,
    });
    const starts = runsOf(day).map((r) => new Date(r.session.start - 5 * 3_600_000).getUTCHours());
    const count = (from: number, to: number) => starts.filter((h) => h >= from && h < to).length;
    expect(count(7, 9)).toBeGreaterThan(3 * count(2, 4));
  });

  it('reaches about `listeners` concurrent listeners at a flat peak', () => {
    const flat = generateStation({ ...BASE, hours: 10, listeners: 80, curve: flatCurve });
    const report = buildReport(flat, { from: startMs + 6 * 3_600_000, to: startMs + 10 * 3_600_000 });
    const aas = report.summary.reduce((sum, s) => sum + s.aas, 0);
    expect(aas).toBeGreaterThan(80 * 0.75);
    expect(aas).toBeLessThan(80 * 1.25);
  });

  it('splits sessions between the Shoutcast stream and the HLS group by share', () => {
    const runs = runsOf(events);
    const hls = runs.filter((r) => r.session.stream === 'main').length;
    const mp3 = runs.filter((r) => r.session.stream === 'main-mp3').length;
    expect(hls + mp3).toBe(runs.length);
    expect(hls / runs.length).toBeGreaterThan(0.3);
    expect(hls / runs.length).toBeLessThan(0.7);
    const onlyMp3 = generateStation({
      ...BASE,
      streams: [{ output: 'shoutcast', key: 'talk', bitrateKbps: 64, share: 1 }],
    });
    expect(new Set(onlyMp3.map((e) => e.stream))).toEqual(new Set(['talk']));
  });

  it('opens some HLS variants directly when asked (sessions keyed by the variant)', () => {
    const direct = runsOf(generateStation({ ...BASE, variantDirectShare: 1 }));
    const hls = direct.filter((r) => r.output === 'hls');
    expect(hls.length).toBeGreaterThan(0);
    expect(hls.every((r) => r.session.stream !== 'main')).toBe(true);
  });

  it('adds user agents only when asked', () => {
    expect(events.some((e) => e.ua !== undefined)).toBe(false);
    const withUa = generateStation({ ...BASE, hours: 1, userAgents: true });
    expect(withUa.every((e) => typeof e.ua === 'string')).toBe(true);
  });

  it('refuses nonsense options', () => {
    expect(() => generateStation({ ...BASE, hours: 0 })).toThrow(/hours/);
    expect(() => generateStation({ ...BASE, start: 'yesterday' })).toThrow(/start/);
    expect(() => generateStation({ ...BASE, shortShare: 2 })).toThrow(/shortShare/);
    expect(generateStation({ ...BASE, listeners: 0 })).toEqual([]);
  });
});
