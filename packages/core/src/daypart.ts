import type { LocalTime } from './zone.js';

/**
 * A daypart: a named window of local time on some weekdays, such as `Mon-Fri 06:00-10:00` (AM drive).
 * A quarter-hour belongs to it when its local start time does.
 */
export interface Daypart {
  /** Human name, e.g. "AM drive"; for a parsed spec without a name, the spec itself. */
  name: string;
  /** Canonical spec, e.g. `Mon-Fri 06:00-10:00`. */
  spec: string;
  /** ISO weekdays (1 = Monday .. 7 = Sunday) it covers. */
  weekdays: readonly number[];
  /** Local start, minutes after midnight (inclusive). */
  startMin: number;
  /** Local end, minutes after midnight (exclusive), up to 1440 (`24:00`). */
  endMin: number;
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function dayNumber(text: string): number | undefined {
  const index = DAY_NAMES.findIndex((d) => d.toLowerCase() === text.slice(0, 3).toLowerCase());
  // Accept "Mon" and "Monday", nothing looser.
  if (index < 0) return undefined;
  const full = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'][index]!;
  const lower = text.toLowerCase();
  return lower.length === 3 || lower === full ? index + 1 : undefined;
}

function parseClock(text: string): number | undefined {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!match) return undefined;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (minute > 59 || hour > 24 || (hour === 24 && minute !== 0)) return undefined;
  return hour * 60 + minute;
}

function formatClock(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

function formatDays(weekdays: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < weekdays.length) {
    let j = i;
    while (j + 1 < weekdays.length && weekdays[j + 1] === weekdays[j]! + 1) j++;
    const a = DAY_NAMES[weekdays[i]! - 1]!;
    const b = DAY_NAMES[weekdays[j]! - 1]!;
    parts.push(i === j ? a : `${a}-${b}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * Parses a daypart spec: `Mon-Fri 06:00-10:00`, `Sat,Sun 10:00-15:00`, `Fri-Mon 00:00-06:00`
 * (day ranges may wrap past Sunday), end up to `24:00`. A window that would cross midnight is
 * refused with a reason: write it as two dayparts. Returns a reason instead of throwing.
 */
export function parseDaypart(
  text: string,
  name?: string,
): { ok: true; daypart: Daypart } | { ok: false; reason: string } {
  const match = /^\s*([A-Za-z,\- ]+?)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a daypart like "Mon-Fri 06:00-10:00"` };
  const days = new Set<number>();
  for (const part of match[1]!.split(',')) {
    const range = part
      .trim()
      .split('-')
      .map((p) => p.trim());
    if (range.length === 1 || range.length === 2) {
      const a = dayNumber(range[0]!);
      const b = dayNumber(range[range.length - 1]!);
      if (a === undefined || b === undefined)
        return { ok: false, reason: `"${part.trim()}" is not a weekday or weekday range (Mon-Fri)` };
      for (let d = a; ; d = (d % 7) + 1) {
        days.add(d);
        if (d === b) break;
      }
    } else {
      return { ok: false, reason: `"${part.trim()}" is not a weekday or weekday range (Mon-Fri)` };
    }
  }
  const startMin = parseClock(match[2]!);
  const endMin = parseClock(match[3]!);
  if (startMin === undefined || startMin >= 1440)
    return { ok: false, reason: `start "${match[2]}" is not a time 00:00..23:59` };
  if (endMin === undefined) return { ok: false, reason: `end "${match[3]}" is not a time 00:01..24:00` };
  if (endMin <= startMin) {
    return {
      ok: false,
      reason: `end ${match[3]} must be after start ${match[2]} (split a window across midnight into two dayparts)`,
    };
  }
  const weekdays = [...days].sort((a, b) => a - b);
  const spec = `${formatDays(weekdays)} ${formatClock(startMin)}-${formatClock(endMin)}`;
  return { ok: true, daypart: { name: name ?? spec, spec, weekdays, startMin, endMin } };
}

function daypartOrThrow(spec: string, name: string): Daypart {
  const parsed = parseDaypart(spec, name);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.daypart;
}

/**
 * The standard radio dayparts (Nielsen/Triton conventions). The first, Mon-Sun 6a-12m, is the
 * headline figure radio is sold on.
 */
export const DEFAULT_DAYPARTS: readonly Daypart[] = [
  daypartOrThrow('Mon-Sun 06:00-24:00', 'Mon-Sun 6a-12m'),
  daypartOrThrow('Mon-Fri 06:00-10:00', 'AM drive'),
  daypartOrThrow('Mon-Fri 10:00-15:00', 'Midday'),
  daypartOrThrow('Mon-Fri 15:00-19:00', 'PM drive'),
  daypartOrThrow('Mon-Fri 19:00-24:00', 'Evening'),
  daypartOrThrow('Mon-Sun 00:00-06:00', 'Overnight'),
];

/**
 * Finds a daypart by name (case-insensitive, among `known`, the defaults unless given) or parses it
 * as a spec.
 */
export function resolveDaypart(
  text: string,
  known: readonly Daypart[] = DEFAULT_DAYPARTS,
): { ok: true; daypart: Daypart } | { ok: false; reason: string } {
  const wanted = text.trim().toLowerCase();
  const named = known.find((d) => d.name.toLowerCase() === wanted || d.spec.toLowerCase() === wanted);
  if (named) return { ok: true, daypart: named };
  const parsed = parseDaypart(text);
  if (parsed.ok) return parsed;
  return {
    ok: false,
    reason: `${parsed.reason}; known dayparts: ${known.map((d) => `"${d.name}"`).join(', ')}`,
  };
}

/** Whether a local time (a quarter-hour's or a minute's start) falls inside the daypart. */
export function inDaypart(local: Pick<LocalTime, 'weekday' | 'minuteOfDay'>, daypart: Daypart): boolean {
  return (
    daypart.weekdays.includes(local.weekday) &&
    local.minuteOfDay >= daypart.startMin &&
    local.minuteOfDay < daypart.endMin
  );
}
