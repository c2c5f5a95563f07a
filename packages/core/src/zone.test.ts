import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidTimeZone, localTime, parseReportTime, zonedTimeToUtc } from './zone.js';

describe('time zones', () => {
  it('reads local wall time and offset through Intl', () => {
    expect(localTime(Date.UTC(2026, 10, 2, 15, 7), 'America/New_York')).toEqual({
      year: 2026,
      month: 11,
      day: 2,
      weekday: 1,
      minuteOfDay: 10 * 60 + 7,
      offsetMin: -300,
    });
    expect(localTime(Date.UTC(2026, 10, 2, 0, 0), 'Asia/Kolkata').offsetMin).toBe(330);
  });

  it('turns local wall times into instants across DST changes', () => {
    const la = 'America/Los_Angeles';
    expect(zonedTimeToUtc({ year: 2026, month: 3, day: 8 }, la)).toBe(Date.UTC(2026, 2, 8, 8));
    expect(zonedTimeToUtc({ year: 2026, month: 3, day: 9 }, la)).toBe(Date.UTC(2026, 2, 9, 7));
    // 01:30 on 2026-11-01 happens twice; the first (PDT) wins.
    expect(zonedTimeToUtc({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, la)).toBe(
      Date.UTC(2026, 10, 1, 8, 30),
    );
    // 02:30 on 2026-03-08 does not exist; it resolves after the jump (03:30 PDT).
    expect(zonedTimeToUtc({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, la)).toBe(
      Date.UTC(2026, 2, 8, 10, 30),
    );
  });

  it('parses report times: zoned ISO as is, local dates in the report zone', () => {
    expect(parseReportTime('2026-11-02T06:00:00Z', 'America/New_York')).toEqual({
      ok: true,
      ms: Date.UTC(2026, 10, 2, 6),
    });
    expect(parseReportTime('2026-11-02', 'America/New_York')).toEqual({
      ok: true,
      ms: Date.UTC(2026, 10, 2, 5),
    });
    expect(parseReportTime('2026-11-02T06:00', 'Europe/Berlin')).toEqual({
      ok: true,
      ms: Date.UTC(2026, 10, 2, 5),
    });
    expect(parseReportTime('2026-02-30', 'UTC').ok).toBe(false);
    expect(parseReportTime('2026-02-30T00:00Z', 'UTC').ok).toBe(false);
    expect(parseReportTime('yesterday', 'UTC').ok).toBe(false);
  });

  it('reads UTC without Intl exactly as Intl reads it', () => {
    // Etc/UTC is the same zone to Intl, and takes its path.
    const ms = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }),
    );
    fc.assert(
      fc.property(ms, (t) => {
        expect(localTime(t, 'UTC')).toEqual(localTime(t, 'Etc/UTC'));
      }),
      { numRuns: 5000 },
    );
    for (const t of [0, -1, Date.UTC(1, 0, 1), Date.UTC(1, 0, 1) - 1, Date.UTC(99, 0, 1), 8.64e15, -8.64e15])
      expect(localTime(t, 'UTC')).toEqual(localTime(t, 'Etc/UTC'));
    expect(() => localTime(Number.NaN, 'UTC')).toThrow(RangeError);
  });

  it('knows valid zones', () => {
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
