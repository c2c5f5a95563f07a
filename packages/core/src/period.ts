import { bucketStart, MINUTE_MS, QUARTER_HOUR_MS } from './clock.js';
import { type Daypart, inDaypart } from './daypart.js';
import type { PlacedSession } from './sessions.js';
import { localTime } from './zone.js';

/**
 * The quarter-hours of a period (DESIGN section 4): those that start inside `[from, to)` and, with a
 * daypart, whose local start time in `tz` falls in it. Counting real instants makes DST days have
 * 92 or 100 quarter-hours. Returns their UTC starts, ascending.
 */
export function periodQuarterHours(from: number, to: number, tz: string, daypart?: Daypart | null): number[] {
  const out: number[] = [];
  for (let qh = Math.ceil(from / QUARTER_HOUR_MS) * QUARTER_HOUR_MS; qh < to; qh += QUARTER_HOUR_MS) {
    if (!daypart || inDaypart(localTime(qh, tz), daypart)) out.push(qh);
  }
  return out;
}

/**
 * Whether a minute (its start, epoch ms, minute-aligned) is in a report's minute series: it starts
 * inside `[from, to)` and, with a daypart, its local start in `tz` falls in the daypart (DESIGN
 * section 4). The predicate caches each quarter-hour's local time, so call one many times.
 */
export function periodMinuteTest(
  from: number,
  to: number,
  tz: string,
  daypart: Daypart | null,
): (minute: number) => boolean {
  // Local start (minute of day, weekday) of each quarter-hour: offsets change only on whole QHs.
  const qhLocal = new Map<number, { weekday: number; minuteOfDay: number }>();
  return (minute) => {
    if (minute < from || minute >= to) return false;
    if (!daypart) return true;
    const qh = bucketStart(minute, QUARTER_HOUR_MS);
    let local = qhLocal.get(qh);
    if (!local) {
      local = localTime(qh, tz);
      qhLocal.set(qh, local);
    }
    return inDaypart(
      { weekday: local.weekday, minuteOfDay: local.minuteOfDay + (minute - qh) / MINUTE_MS },
      daypart,
    );
  };
}

/**
 * The minutes of a report's minute series ({@link periodMinuteTest}) as runs of consecutive minutes:
 * `from[i]` to `to[i]` (epoch ms, exclusive), ascending. No daypart: one run at most.
 */
export function periodMinuteRanges(
  from: number,
  to: number,
  tz: string,
  daypart: Daypart | null,
): { from: number[]; to: number[] } {
  if (!(to > from)) return { from: [], to: [] };
  if (!daypart) {
    const first = Math.ceil(from / MINUTE_MS) * MINUTE_MS;
    return first < to ? { from: [first], to: [Math.ceil(to / MINUTE_MS) * MINUTE_MS] } : { from: [], to: [] };
  }
  const included = periodMinuteTest(from, to, tz, daypart);
  const runs: { from: number[]; to: number[] } = { from: [], to: [] };
  let runEnd = Number.NaN;
  for (let minute = Math.ceil(from / MINUTE_MS) * MINUTE_MS; minute < to; minute += MINUTE_MS) {
    if (!included(minute)) continue;
    if (minute === runEnd) runs.to[runs.to.length - 1] = minute + MINUTE_MS;
    else {
      runs.from.push(minute);
      runs.to.push(minute + MINUTE_MS);
    }
    runEnd = minute + MINUTE_MS;
  }
  return runs;
}

/**
 * Extent of some counted sessions' data: from the first placed minute or session start to the last
 * session end, in whole quarter-hours; undefined without data. The default period of a report.
 */
export function dataExtent(facts: readonly PlacedSession[]): { from: number; to: number } | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const fact of facts) {
    fact.minutes.forEach((_ms, minute) => {
      if (minute < min) min = minute;
    });
    if (fact.session.start < min) min = fact.session.start;
    if (fact.session.end > max) max = fact.session.end;
  }
  if (min === Number.POSITIVE_INFINITY) return undefined;
  return quarterHourExtent(min, max);
}

/**
 * Whole quarter-hours around data from `firstMs` (a placed minute or a session start) to `lastMs`
 * (a session end); an event ending exactly on a boundary belongs before it.
 */
export function quarterHourExtent(firstMs: number, lastMs: number): { from: number; to: number } {
  return {
    from: bucketStart(firstMs, QUARTER_HOUR_MS),
    to: bucketStart(lastMs - 1, QUARTER_HOUR_MS) + QUARTER_HOUR_MS,
  };
}

/**
 * The report period `[from, to)` in epoch ms: the bounds given, the data's extent (whole
 * quarter-hours around it) for a bound not given. A missing bound never lands on the wrong side of
 * the given one: a `from` after the data, or a `to` before it, makes an empty period at that bound.
 * No bound and no data: the empty period at 0.
 */
export function resolvePeriod(
  given: { from?: number | undefined; to?: number | undefined },
  extent: { from: number; to: number } | undefined,
): { from: number; to: number } {
  if (given.from !== undefined && given.to !== undefined) return { from: given.from, to: given.to };
  if (given.from !== undefined)
    return { from: given.from, to: Math.max(given.from, extent?.to ?? given.from) };
  if (given.to !== undefined) return { from: Math.min(given.to, extent?.from ?? given.to), to: given.to };
  return extent ?? { from: 0, to: 0 };
}
