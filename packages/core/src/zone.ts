import { isCalendarTime } from './event.js';
/**
 * Local wall-clock facts of an instant in an IANA time zone, from the runtime's `Intl` (no time-zone
 * database of our own).
 */
export interface LocalTime {
  /** Local calendar year. */
  year: number;
  /** Local month, 1..12. */
  month: number;
  /** Local day of the month, 1..31. */
  day: number;
  /** ISO weekday: 1 = Monday .. 7 = Sunday. */
  weekday: number;
  /** Minutes since local midnight, 0..1439. */
  minuteOfDay: number;
  /** Offset from UTC in minutes (local = UTC + offset). */
  offsetMin: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** Whether `zone` is an IANA time-zone name this runtime knows (or `UTC`). */
export function isValidTimeZone(zone: string): boolean {
  if (zone === 'UTC') return true;
  if (typeof zone !== 'string' || zone === '') return false;
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** Local wall-clock time of epoch ms `ms` in IANA zone `zone`. Throws a RangeError for an unknown zone. */
export function localTime(ms: number, zone: string): LocalTime {
  return localTimeOf(ms, (zone === 'UTC' ? utcWall(ms) : undefined) ?? intlWall(ms, zone));
}

/** The fields of a wall-clock time that {@link localTime} derives the rest from. */
interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

function localTimeOf(ms: number, { year, month, day, hour, minute, weekday }: Wall): LocalTime {
  const wallMs = Date.UTC(year, month - 1, day, hour, minute);
  const offsetMin = Math.round((wallMs - Math.floor(ms / 60_000) * 60_000) / 60_000);
  return { year, month, day, weekday, minuteOfDay: hour * 60 + minute, offsetMin };
}

function intlWall(ms: number, zone: string): Wall {
  const parts = formatterFor(zone).formatToParts(ms);
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, weekday: 0 };
  for (const part of parts) {
    switch (part.type) {
      case 'year':
        wall.year = Number(part.value);
        break;
      case 'month':
        wall.month = Number(part.value);
        break;
      case 'day':
        wall.day = Number(part.value);
        break;
      case 'hour':
        wall.hour = Number(part.value);
        break;
      case 'minute':
        wall.minute = Number(part.value);
        break;
      case 'weekday':
        wall.weekday = WEEKDAYS[part.value] ?? 0;
        break;
    }
  }
  return wall;
}

/**
 * UTC's wall time from `Date` alone, as Intl tells it: the first Intl.DateTimeFormat of a process
 * loads ICU's zone data, about 30 ms and 11 MB, which a report in UTC (the default) does not need.
 * Undefined before year 1, where Intl counts years by era, and for a time `Date` cannot hold.
 */
function utcWall(ms: number): Wall | undefined {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (!(year >= 1)) return undefined;
  return {
    year,
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    weekday: date.getUTCDay() || 7,
  };
}

/**
 * The instant of a local wall-clock time in `zone`, epoch ms. A time skipped by a DST jump resolves
 * after the jump; a repeated time resolves to its first occurrence.
 */
export function zonedTimeToUtc(
  wall: {
    year: number;
    month: number;
    day: number;
    hour?: number;
    minute?: number;
    second?: number;
    ms?: number;
  },
  zone: string,
): number {
  const wallMs = Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour ?? 0,
    wall.minute ?? 0,
    wall.second ?? 0,
    wall.ms ?? 0,
  );
  // Try the offsets in force a day either side; the earliest candidate that reads back as the wall
  // time wins (first occurrence of a repeated hour).
  const offsets = new Set([
    localTime(wallMs - 86_400_000, zone).offsetMin,
    localTime(wallMs, zone).offsetMin,
    localTime(wallMs + 86_400_000, zone).offsetMin,
  ]);
  const candidates = [...offsets].map((o) => wallMs - o * 60_000).sort((a, b) => a - b);
  for (const candidate of candidates) {
    if (localTime(candidate, zone).offsetMin * 60_000 === wallMs - candidate) return candidate;
  }
  // Skipped wall time (spring forward): use the offset before the jump, which lands after it.
  return wallMs - localTime(wallMs - 86_400_000, zone).offsetMin * 60_000;
}

/**
 * Parses a report boundary: ISO-8601 with a zone (`2026-11-01T06:00:00Z`) is that instant; a local
 * date or date-time without a zone (`2026-11-01`, `2026-11-01T06:00`) is read in `zone`.
 */
export function parseReportTime(
  text: string,
  zone: string,
): { ok: true; ms: number } | { ok: false; reason: string } {
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;
  if (zoned.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) || !isCalendarTime(text)
      ? { ok: false, reason: `"${text}" is not a valid time` }
      : { ok: true, ms };
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!local) {
    return {
      ok: false,
      reason: `"${text}" is not ISO-8601 (2026-11-01, 2026-11-01T06:00 or 2026-11-01T06:00:00Z)`,
    };
  }
  const [, y, mo, d, h, mi, s] = local;
  const wall = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
  };
  const check = new Date(Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second));
  if (
    check.getUTCMonth() !== wall.month - 1 ||
    check.getUTCDate() !== wall.day ||
    wall.hour > 23 ||
    wall.minute > 59 ||
    wall.second > 59
  ) {
    return { ok: false, reason: `"${text}" is not a valid date` };
  }
  return { ok: true, ms: zonedTimeToUtc(wall, zone) };
}
