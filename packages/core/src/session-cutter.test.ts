import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MINUTE_MS, placeEvent } from './clock.js';
import type { ListenEvent } from './event.js';
import { assembleReport } from './report.js';
import { BucketSeries, SessionCutter } from './session-cutter.js';
import { finalizeSessionId, type PlacedBuckets, type PlacedSession } from './sessions.js';

const BASE = Date.UTC(2026, 10, 2, 6, 50);

/** Events of a few session ids over ~3 hours, with instants shared (same `time`) and repeated events. */
const eventsArb = fc
  .array(
    fc.record({
      session: fc.constantFrom('s1', 's2', 's3', 's4'),
      stream: fc.constantFrom('main', 'main-64k', 'talk'),
      output: fc.constantFrom('shoutcast' as const, 'hls' as const),
      // Few distinct instants, so that several events of one id share a time.
      offsetMs: fc.oneof(
        fc.integer({ min: 0, max: 3 * 3600_000 }),
        fc.constantFrom(0, 30_000, 600_000, 3_600_000),
      ),
      durationMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_200_000 }), fc.constant(30_000)),
      bytes: fc.integer({ min: 0, max: 1_000_000 }),
      listener: fc.option(fc.constantFrom('L1', 'L2'), { nil: undefined }),
      ua: fc.option(fc.constantFrom('VLC/3.0', 'Googlebot/2.1'), { nil: undefined }),
      country: fc.option(fc.constantFrom('US', 'DE'), { nil: undefined }),
      id: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
      repeat: fc.boolean(),
    }),
    { minLength: 1, maxLength: 150 },
  )
  .map((rows) =>
    rows.flatMap((r): ListenEvent[] => {
      const event: ListenEvent = {
        session: r.session,
        stream: r.stream,
        output: r.output,
        time: BASE + r.offsetMs,
        duration: r.durationMs / 1000,
        bytes: r.bytes,
      };
      if (r.id) event.id = r.id;
      if (r.listener) event.listener = r.listener;
      if (r.ua) event.ua = r.ua;
      if (r.country) event.country = r.country;
      return r.repeat ? [event, { ...event }] : [event];
    }),
  );

/** The events in an order that is by time within each id (shuffled across ids and within instants). */
const inTimeOrderArb = eventsArb.chain((events) =>
  fc.shuffledSubarray(events, { minLength: events.length }).map((shuffled) => {
    // A stable sort by time alone keeps the shuffled order within an instant and across ids.
    return shuffled.sort((a, b) => a.time - b.time);
  }),
);

const settingsArb = fc.record({
  idleS: fc.constantFrom(0, 60, 300, 7200),
  maxSessionS: fc.constantFrom(600, 3600, 86_400),
  minSessionS: fc.constantFrom(0, 60, 300),
});

const entries = (placed: PlacedBuckets) => {
  const out: number[][] = [];
  placed.forEach((ms, bucket) => {
    out.push([bucket, ms]);
  });
  return out.sort((a, b) => a[0]! - b[0]!);
};
const plain = (facts: readonly PlacedSession[]) =>
  facts.map((f) => ({
    session: f.session,
    minutes: entries(f.minutes),
    quarterHours: entries(f.quarterHours),
  }));

describe('SessionCutter', () => {
  it('cuts the same sessions, figures and listening as finalizeSessionId, id by id', () => {
    fc.assert(
      fc.property(inTimeOrderArb, settingsArb, (events, settings) => {
        const cutter = new SessionCutter(settings);
        for (const event of events) expect(cutter.add(event)).toBe(true);
        const streamed = cutter.finish();
        const byId = new Map<string, ListenEvent[]>();
        for (const e of events) byId.set(e.session, [...(byId.get(e.session) ?? []), e]);
        const counted: PlacedSession[] = [];
        const short = [];
        for (const list of byId.values()) {
          const done = finalizeSessionId(list, settings);
          counted.push(...done.counted);
          short.push(...done.short);
        }
        const order = (a: { session: { session: string; start: number; end: number } }, b: typeof a) =>
          a.session.session.localeCompare(b.session.session) ||
          a.session.start - b.session.start ||
          a.session.end - b.session.end;
        expect(plain(streamed.counted).sort(order)).toEqual(plain(counted).sort(order));
        const keys = (list: { session: string; start: number; end: number }[]) =>
          list.map((s) => ({ ...s })).sort((a, b) => order({ session: a }, { session: b }));
        expect(keys(streamed.short)).toEqual(keys(short));
        // And so the same report, JSON for JSON.
        expect(JSON.stringify(assembleReport(streamed.counted, { ...settings, aqhQualifierS: 300 }))).toBe(
          JSON.stringify(assembleReport(counted, { ...settings, aqhQualifierS: 300 })),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an event earlier than its id latest, and keeps the rest', () => {
    const cutter = new SessionCutter({ idleS: 300, maxSessionS: 86_400, minSessionS: 0 });
    const event = (session: string, time: number): ListenEvent => ({
      session,
      stream: 'main',
      output: 'hls',
      time: BASE + time,
      duration: 10,
      bytes: 1,
    });
    expect(cutter.add(event('a', 20_000))).toBe(true);
    expect(cutter.add(event('b', 10_000))).toBe(true);
    expect(cutter.add(event('a', 20_000))).toBe(true);
    expect(cutter.add(event('a', 19_999))).toBe(false);
    const { counted } = cutter.finish();
    expect(counted.map((f) => f.session.session).sort()).toEqual(['a', 'b']);
  });
});

describe('BucketSeries', () => {
  it('holds what a Map holds when events are placed in it, growing either way', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 10 * 3600_000 }), fc.integer({ min: 0, max: 7200_000 }))),
        (placements) => {
          const map = new Map<number, number>();
          const series = new BucketSeries(MINUTE_MS);
          for (const [offset, durationMs] of placements) {
            placeEvent(BASE + offset, durationMs, MINUTE_MS, map);
            placeEvent(BASE + offset, durationMs, MINUTE_MS, series);
          }
          const expected = entries(map);
          expect(entries(series)).toEqual(expected);
          series.trim();
          expect(entries(series)).toEqual(expected);
        },
      ),
    );
  });
});
