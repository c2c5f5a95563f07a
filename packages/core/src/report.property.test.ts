import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AudienceOf, BREAKDOWN_DIMENSIONS } from './audience.js';
import type { ListenEvent } from './event.js';
import { assembleReport, buildReport, ReportBuilder } from './report.js';
import {
  finalizeSessionId,
  planSessionChanges,
  resumePoint,
  type Session,
  type SessionFacts,
  sessionRowKey,
  splitSessions,
} from './sessions.js';

const BASE = Date.UTC(2026, 10, 2, 6, 50);
const SETTINGS = { idleS: 300, maxSessionS: 3600, minSessionS: 60, aqhQualifierS: 300 };

/** Events of a few session ids over ~3 hours: ticks, zero-duration starts, gaps longer than idle. */
const eventsArb = fc
  .array(
    fc.record({
      session: fc.constantFrom('s1', 's2', 's3', 's4'),
      stream: fc.constantFrom('main', 'main-64k', 'talk'),
      output: fc.constantFrom('shoutcast' as const, 'hls' as const),
      offsetMs: fc.integer({ min: 0, max: 3 * 3600_000 }),
      durationMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120_000 }), fc.constant(30_000)),
      bytes: fc.integer({ min: 0, max: 1_000_000 }),
      listener: fc.option(fc.constantFrom('L1', 'L2', 'L3'), { nil: undefined }),
      ua: fc.option(fc.constantFrom('VLC/3.0', 'Googlebot/2.1', 'Mobile/1'), { nil: undefined }),
      country: fc.option(fc.constantFrom('US', 'DE'), { nil: undefined }),
      origin: fc.option(fc.constantFrom('relay' as const, 'monitor' as const), { nil: undefined, freq: 8 }),
      // Events without an id are deduplicated by their content.
      withId: fc.boolean(),
    }),
    { minLength: 1, maxLength: 120 },
  )
  .map((rows) =>
    rows.map((r, i): ListenEvent => {
      const event: ListenEvent = {
        session: r.session,
        stream: r.stream,
        output: r.output,
        time: BASE + r.offsetMs,
        duration: r.durationMs / 1000,
        bytes: r.bytes,
      };
      if (r.withId) event.id = `id-${String(i).padStart(4, '0')}`;
      if (r.listener) event.listener = r.listener;
      if (r.ua) event.ua = r.ua;
      if (r.country) event.country = r.country;
      if (r.origin) event.origin = r.origin;
      return event;
    }),
  );

/** The events, some repeated, in a shuffled order. */
const rearrangedArb = eventsArb.chain((events) =>
  fc
    .tuple(fc.shuffledSubarray(events, { minLength: events.length }), fc.subarray(events))
    .chain(([all, dupes]) =>
      fc.shuffledSubarray([...all, ...dupes.map((e) => ({ ...e }))], {
        minLength: all.length + dupes.length,
      }),
    )
    .map((rearranged) => ({ events, rearranged })),
);

const PERIODS = [
  {},
  { from: BASE, to: BASE + 4 * 3600_000 },
  { from: BASE + 17 * 60_000, to: BASE + 2 * 3600_000 + 1 },
  {
    from: BASE,
    to: BASE + 4 * 3600_000,
    tz: 'America/New_York',
    daypart: { name: 'x', spec: 'Mon 02:00-03:30', weekdays: [1], startMin: 120, endMin: 210 },
  },
];

/** Rules enough to give sessions different classes and clients. */
const AUDIENCE: AudienceOf = ({ ua, origin }) => ({
  class: origin ?? (ua?.includes('bot') ? 'bot' : 'human'),
  device: ua?.startsWith('Mobile') ? 'mobile' : 'unknown',
  os: 'unknown',
  player: ua?.split('/')[0] ?? 'unknown',
});

describe('report invariants (property tests)', () => {
  it('shuffling and duplicating events changes no figure', () => {
    fc.assert(
      fc.property(
        rearrangedArb,
        fc.constantFrom(...PERIODS),
        fc.constantFrom('net' as const, 'gross' as const),
        fc.constantFrom(null, ...BREAKDOWN_DIMENSIONS),
        ({ events, rearranged }, period, basis, by) => {
          const options = { ...SETTINGS, ...period, basis, by, audience: AUDIENCE };
          expect(buildReport(rearranged, options)).toEqual(buildReport(events, options));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finalizing each session id on its own, in batches, gives the same report as all at once', () => {
    fc.assert(
      fc.property(rearrangedArb, fc.integer({ min: 1, max: 20 }), ({ events, rearranged }, batchSize) => {
        // Like the worker: events arrive in batches; after each batch, the touched ids are re-finalized
        // from everything stored so far, replacing what was stored for them.
        const stored = new Map<string, ListenEvent[]>();
        const rows = new Map<string, SessionFacts[]>();
        for (let i = 0; i < rearranged.length; i += batchSize) {
          const touched = new Set<string>();
          for (const event of rearranged.slice(i, i + batchSize)) {
            stored.set(event.session, [...(stored.get(event.session) ?? []), event]);
            touched.add(event.session);
          }
          for (const id of touched) rows.set(id, finalizeSessionId(stored.get(id)!, SETTINGS).counted);
        }
        const online = assembleReport([...rows.values()].flat(), SETTINGS);
        expect(online).toEqual(buildReport(events, SETTINGS));
      }),
      { numRuns: 200 },
    );
  });

  it('re-finalizing from resumePoint after each batch keeps exactly the sessions of a full recompute', () => {
    fc.assert(
      fc.property(rearrangedArb, fc.integer({ min: 1, max: 20 }), ({ events, rearranged }, batchSize) => {
        // Like the worker: after each batch, each touched id keeps its stored sessions that start
        // before the resume point and recomputes the rest from the events at or after it.
        const stored = new Map<string, ListenEvent[]>();
        // Each stored row with its first event's time, as the worker stores it.
        const rows = new Map<string, { session: Session; first: number }[]>();
        for (let i = 0; i < rearranged.length; i += batchSize) {
          const changedFrom = new Map<string, number>();
          for (const event of rearranged.slice(i, i + batchSize)) {
            stored.set(event.session, [...(stored.get(event.session) ?? []), event]);
            changedFrom.set(event.session, Math.min(changedFrom.get(event.session) ?? Infinity, event.time));
          }
          for (const [id, earliest] of changedFrom) {
            const before = rows.get(id) ?? [];
            const from = resumePoint(
              before.map((r) => ({ first: r.first, end: r.session.end })),
              earliest,
              SETTINGS,
            );
            const recomputed = splitSessions(
              stored.get(id)!.filter((e) => e.time >= from),
              SETTINGS,
            ).map((r) => ({ session: r.session, first: r.events[0]!.time }));
            rows.set(id, [...before.filter((r) => r.first < from), ...recomputed]);
          }
        }
        const byKey = (a: Session, b: Session) => (sessionRowKey(a) < sessionRowKey(b) ? -1 : 1);
        expect(
          [...rows.values()]
            .flat()
            .map((r) => r.session)
            .sort(byKey),
        ).toEqual(
          splitSessions(events, SETTINGS)
            .map((r) => r.session)
            .sort(byKey),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('applying planned changes to the old rows yields the new rows', () => {
    fc.assert(
      fc.property(eventsArb, fc.integer({ min: 0, max: 120 }), (events, cut) => {
        const before = splitSessions(events.slice(0, cut), SETTINGS).map((r) => r.session);
        const after = splitSessions(events, SETTINGS).map((r) => r.session);
        const changes = planSessionChanges(before, after);
        const table = new Map<string, Session>(before.map((s) => [sessionRowKey(s), s]));
        for (const s of changes.remove) table.delete(sessionRowKey(s));
        for (const s of [...changes.update.map((u) => u.row), ...changes.insert])
          table.set(sessionRowKey(s), s);
        const sortKey = (s: Session) => sessionRowKey(s);
        expect([...table.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))).toEqual(
          after.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('minute seconds, quarter-hour seconds and TLH agree', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const report = buildReport(events, { ...SETTINGS, from: BASE - 3600_000, to: BASE + 5 * 3600_000 });
        const minuteSeconds =
          report.minutes.reduce((sum, m) => sum + Math.round(m.listeners * 60_000), 0) / 1000;
        const qhSeconds = report.quarterHours.reduce((sum, q) => sum + q.seconds * 1000, 0) / 1000;
        const tlhSeconds = report.summary.reduce((sum, s) => sum + s.tlh * 3600_000, 0) / 1000;
        const sessionSeconds = report.sessions.reduce((sum, s) => sum + s.duration * 1000, 0) / 1000;
        expect(Math.round(qhSeconds * 1000)).toBe(Math.round(minuteSeconds * 1000));
        expect(Math.round(tlhSeconds * 1000)).toBe(Math.round(qhSeconds * 1000));
        // The period covers all the data, so every counted session's listening is placed in it.
        expect(Math.round(sessionSeconds * 1000)).toBe(Math.round(qhSeconds * 1000));
        for (const s of report.summary) {
          expect(s.aas * s.quarterHours * 900).toBeCloseTo(s.tlh * 3600, 6);
          expect(s.atsl * s.activeSessions).toBeCloseTo(s.tlh * 3600, 6);
          expect(s.aqh).toBeLessThanOrEqual(s.activeSessions);
          expect(s.cume).toBeLessThanOrEqual(s.activeSessions);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ReportBuilder frees nothing it needs: adding in two halves equals one pass', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const builder = new ReportBuilder(SETTINGS);
        for (const e of events.slice(0, events.length / 2)) builder.add(e);
        for (const e of events.slice(events.length / 2)) builder.add(e);
        expect(builder.size).toBe(events.length);
        expect(builder.finish()).toEqual(buildReport([...events].reverse(), SETTINGS));
      }),
      { numRuns: 100 },
    );
  });
});
