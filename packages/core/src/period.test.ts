import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from './clock.js';
import { resolveDaypart } from './daypart.js';
import { periodMinuteRanges, periodMinuteTest, periodQuarterHours, quarterHourExtent } from './period.js';

const at = (h: number, m: number, s = 0) => Date.UTC(2026, 10, 2, h, m, s); // Monday 2026-11-02

describe('periodQuarterHours', () => {
  it('counts the real quarter-hours of DST days in America/Los_Angeles: 92 and 100', () => {
    const la = 'America/Los_Angeles';
    // 2026-03-08 00:00 PST = 08:00Z .. 2026-03-09 00:00 PDT = 07:00Z
    expect(periodQuarterHours(Date.UTC(2026, 2, 8, 8), Date.UTC(2026, 2, 9, 7), la)).toHaveLength(92);
    // 2026-11-01 00:00 PDT = 07:00Z .. 2026-11-02 00:00 PST = 08:00Z
    expect(periodQuarterHours(Date.UTC(2026, 10, 1, 7), Date.UTC(2026, 10, 2, 8), la)).toHaveLength(100);
    const allDay = resolveDaypart('Mon-Sun 00:00-24:00');
    if (!allDay.ok) throw new Error(allDay.reason);
    // The repeated 01:00-02:00 hour counts twice in a daypart that covers it.
    const overnight = resolveDaypart('Sun 01:00-02:00');
    if (!overnight.ok) throw new Error(overnight.reason);
    expect(
      periodQuarterHours(Date.UTC(2026, 10, 1, 7), Date.UTC(2026, 10, 2, 8), la, overnight.daypart),
    ).toHaveLength(8);
    expect(
      periodQuarterHours(Date.UTC(2026, 2, 8, 8), Date.UTC(2026, 2, 9, 7), la, allDay.daypart),
    ).toHaveLength(92);
    // The skipped 02:00-03:00 hour of the spring day has no quarter-hours.
    const skipped = resolveDaypart('Sun 02:00-03:00');
    if (!skipped.ok) throw new Error(skipped.reason);
    expect(
      periodQuarterHours(Date.UTC(2026, 2, 8, 8), Date.UTC(2026, 2, 9, 7), la, skipped.daypart),
    ).toHaveLength(0);
  });

  it('starts at the first quarter-hour inside an unaligned period', () => {
    expect(periodQuarterHours(at(7, 1), at(7, 31), 'UTC')).toEqual([at(7, 15), at(7, 30)]);
  });
});

describe('periodMinuteRanges', () => {
  it('joins the minutes the report counts into runs, across a DST change and a daypart', () => {
    const la = 'America/Los_Angeles';
    const morning = resolveDaypart('Sun 01:30-02:10');
    if (!morning.ok) throw new Error(morning.reason);
    // 2026-11-01, the day 01:00-02:00 happens twice: two runs of the daypart.
    const from = Date.UTC(2026, 10, 1, 7, 0, 30);
    const to = Date.UTC(2026, 10, 1, 12);
    const ranges = periodMinuteRanges(from, to, la, morning.daypart);
    const included = periodMinuteTest(from, to, la, morning.daypart);
    const expected: number[] = [];
    for (let m = Math.ceil(from / MINUTE_MS) * MINUTE_MS; m < to; m += MINUTE_MS)
      if (included(m)) expected.push(m);
    const fromRanges = ranges.from.flatMap((start, i) =>
      Array.from({ length: (ranges.to[i]! - start) / MINUTE_MS }, (_, k) => start + k * MINUTE_MS),
    );
    expect(fromRanges).toEqual(expected);
    expect(ranges.from).toHaveLength(2);
    expect(expected).toHaveLength(30 + 40);
  });

  it('is one run from the first whole minute without a daypart, none for an empty period', () => {
    expect(periodMinuteRanges(at(7, 0, 30), at(7, 10, 30), 'UTC', null)).toEqual({
      from: [at(7, 1)],
      to: [at(7, 11)],
    });
    expect(periodMinuteRanges(at(7, 0), at(7, 0), 'UTC', null)).toEqual({ from: [], to: [] });
  });
});

describe('quarterHourExtent', () => {
  it('takes whole quarter-hours around the data; an end on a boundary belongs before it', () => {
    expect(quarterHourExtent(at(7, 5), at(8, 0))).toEqual({ from: at(7, 0), to: at(8, 0) });
    expect(quarterHourExtent(at(7, 15), at(8, 0, 1))).toEqual({ from: at(7, 15), to: at(8, 15) });
  });
});
