import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originOnlyAudience } from './audience.js';
import type { ListenEvent } from './event.js';
import { splitSessions } from './sessions.js';
import type { TrackEvent } from './track.js';
import { buildTrackReport, listeningInWindow, type TrackReportOptions, trackPlays } from './tracks.js';

const BASE = Date.UTC(2026, 10, 2, 6, 50);
const SETTINGS = { idleS: 300, maxSessionS: 3600, minSessionS: 60 };
const STREAMS = ['main', 'main-64k', 'talk'] as const;

const eventsArb = fc
  .array(
    fc.record({
      session: fc.constantFrom('s1', 's2', 's3', 's4', 's5'),
      stream: fc.constantFrom(...STREAMS),
      offsetMs: fc.integer({ min: 0, max: 3 * 3600_000 }),
      durationMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120_000 }), fc.constant(30_000)),
      origin: fc.option(fc.constant('relay' as const), { nil: undefined, freq: 6 }),
      withId: fc.boolean(),
    }),
    { minLength: 1, maxLength: 100 },
  )
  .map((rows) =>
    rows.map((r, i): ListenEvent => {
      const event: ListenEvent = {
        session: r.session,
        stream: r.stream,
        output: 'shoutcast',
        time: BASE + r.offsetMs,
        duration: r.durationMs / 1000,
        bytes: 100,
      };
      if (r.withId) event.id = `e${i}`;
      if (r.origin) event.origin = r.origin;
      return event;
    }),
  );

const tracksArb = fc
  .array(
    fc.record({
      stream: fc.constantFrom(...STREAMS),
      offsetMs: fc.integer({ min: -600_000, max: 3 * 3600_000 }),
      song: fc.integer({ min: 0, max: 5 }),
      duration: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
      kind: fc.constantFrom('music' as const, 'music' as const, 'talk' as const, 'ad' as const),
    }),
    { maxLength: 40 },
  )
  .map((rows) =>
    rows.map((r, i): TrackEvent => {
      const track: TrackEvent = {
        id: `t${i}`,
        stream: r.stream,
        time: BASE + r.offsetMs,
        artist: `Artist ${r.song % 3}`,
        title: `Title ${r.song}`,
        kind: r.kind,
      };
      if (r.song < 2) track.isrc = `USRC1760783${r.song}`;
      if (r.duration !== undefined) track.duration = r.duration;
      return track;
    }),
  );

/** Some items, some repeated (copies), in a shuffled order. */
function rearranged<T extends object>(items: T[]): fc.Arbitrary<T[]> {
  return fc.subarray(items).chain((dupes) =>
    fc.shuffledSubarray([...items, ...dupes.map((e) => ({ ...e }))], {
      minLength: items.length + dupes.length,
    }),
  );
}

const OPTIONS: TrackReportOptions[] = [
  { ...SETTINGS },
  { ...SETTINGS, from: BASE, to: BASE + 4 * 3600_000, basis: 'gross' },
  { ...SETTINGS, from: BASE + 17 * 60_000, to: BASE + 2 * 3600_000 + 1, tz: 'America/New_York' },
  { ...SETTINGS, from: BASE, to: BASE + 4 * 3600_000, performanceMinS: 20, streams: ['main', 'talk'] },
];

describe('buildTrackReport properties', () => {
  it('gives the same report for shuffled, duplicated listen and track events', () => {
    fc.assert(
      fc.property(
        eventsArb.chain((events) => fc.tuple(fc.constant(events), rearranged(events))),
        tracksArb.chain((tracks) => fc.tuple(fc.constant(tracks), rearranged(tracks))),
        fc.constantFrom(...OPTIONS),
        ([events, events2], [tracks, tracks2], options) => {
          const report = buildTrackReport(events, tracks, options);
          expect(buildTrackReport(events2, tracks2, options)).toEqual(report);
          // Track events arriving late (after everything else, newest first) change nothing either.
          expect(buildTrackReport(events, [...tracks].reverse(), options)).toEqual(report);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('has no more performances or listeners at start than sessions, and adds listening up per stream', () => {
    fc.assert(
      fc.property(eventsArb, tracksArb, fc.constantFrom(...OPTIONS), (events, tracks, options) => {
        const report = buildTrackReport(events, tracks, options);
        const from = Date.parse(report.config.from);
        const to = Date.parse(report.config.to);
        const runs = splitSessions(events, SETTINGS).filter(
          (r) =>
            options.basis === 'gross' ||
            originOnlyAudience({ ua: r.session.ua, origin: r.session.origin }).class === 'human',
        );
        const windows = trackPlays(tracks, { from, to, streams: options.streams });
        for (const stream of STREAMS) {
          const sessions = runs.filter((r) => r.session.stream === stream);
          const plays = report.plays.filter((p) => p.stream === stream);
          for (const play of plays) {
            expect(play.performances).toBeLessThanOrEqual(sessions.length);
            expect(play.listenersAtStart).toBeLessThanOrEqual(sessions.length);
            expect(play.tuneOuts).toBeLessThanOrEqual(sessions.length);
          }
          if (options.performanceMinS) continue;
          // The plays of a stream are disjoint: their listening is the stream's inside their union.
          const playMs = plays.reduce((sum, p) => sum + Math.round(p.tlh * 3_600_000), 0);
          let unionMs = 0;
          for (const { start, end } of mergeWindows(windows.get(stream) ?? []))
            for (const run of sessions) unionMs += listeningInWindow(run.events, start, end);
          expect(playMs).toBe(unionMs);
        }
      }),
      { numRuns: 200 },
    );
  });
});

function mergeWindows(windows: readonly { start: number; end: number }[]): { start: number; end: number }[] {
  const merged: { start: number; end: number }[] = [];
  for (const w of [...windows].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else merged.push({ start: w.start, end: w.end });
  }
  return merged;
}
