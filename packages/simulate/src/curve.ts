/**
 * How many listeners a station has across the day, relative to its busiest moment (0..1), given the
 * local hour (fractional, 0 <= hour < 24) and the ISO weekday (1 = Monday .. 7 = Sunday).
 */
export type DailyCurve = (hour: number, weekday: number) => number;

// Share of peak audience at the middle of each local hour. Weekdays peak in AM drive (07-09) and
// again in PM drive (16-18) with a lower midday plateau; weekends rise late and stay flat.
const WEEKDAY = [
  0.16, 0.11, 0.08, 0.07, 0.09, 0.22, 0.55, 0.9, 1, 0.86, 0.76, 0.72, 0.7, 0.7, 0.73, 0.8, 0.9, 0.92, 0.76,
  0.56, 0.45, 0.38, 0.31, 0.23,
];
const WEEKEND = [
  0.2, 0.15, 0.11, 0.09, 0.08, 0.1, 0.18, 0.33, 0.5, 0.62, 0.68, 0.7, 0.69, 0.67, 0.65, 0.63, 0.61, 0.58,
  0.54, 0.48, 0.42, 0.37, 0.32, 0.26,
];

/** The default daily listening curve of a music/talk station: drive times busiest, nights quiet. */
export const radioDayCurve: DailyCurve = (hour, weekday) => {
  const table = weekday >= 6 ? WEEKEND : WEEKDAY;
  // Linear between the hour midpoints, wrapping around midnight.
  const position = (hour - 0.5 + 24) % 24;
  const i = Math.floor(position);
  const frac = position - i;
  return table[i]! * (1 - frac) + table[(i + 1) % 24]! * frac;
};

/** A flat curve: the same audience all day (handy in tests). */
export const flatCurve: DailyCurve = () => 1;

const QH_MS = 900_000;
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/**
 * Local hour (fractional) and ISO weekday of an instant in an IANA zone, from the runtime's `Intl`.
 * Every UTC offset in use is a multiple of 15 minutes, so one look-up per quarter-hour is exact.
 */
export function createLocalClock(timeZone: string): (ms: number) => { hour: number; weekday: number } {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const cache = new Map<number, { minuteOfDay: number; weekday: number }>();
  return (ms) => {
    const qh = Math.floor(ms / QH_MS) * QH_MS;
    let local = cache.get(qh);
    if (!local) {
      let hour = 0;
      let minute = 0;
      let weekday = 1;
      for (const part of format.formatToParts(qh)) {
        if (part.type === 'hour') hour = Number(part.value);
        else if (part.type === 'minute') minute = Number(part.value);
        else if (part.type === 'weekday') weekday = WEEKDAYS[part.value] ?? 1;
      }
      local = { minuteOfDay: hour * 60 + minute, weekday };
      cache.set(qh, local);
    }
    return { hour: (local.minuteOfDay + (ms - qh) / 60_000) / 60, weekday: local.weekday };
  };
}
