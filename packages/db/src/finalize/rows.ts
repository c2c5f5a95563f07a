import { finalizeRuns, isCounted, type ListenEvent, MINUTE_MS, sortUnique, splitSorted } from '@earshot/core';
import { audienceOf } from './audience.js';
import { iso } from './sql-time.js';
import type { FinalizeSettings, SessionRow, ShortRow } from './types.js';

/** A session id whose events cannot make rows (sums past what a row holds exactly). */
export class SessionDataError extends Error {
  override readonly name = 'SessionDataError';
  readonly session: string;
  constructor(session: string, message: string) {
    super(message);
    this.session = session;
  }
}

function denseMinutes(
  minutes: Map<number, number>,
  start: number,
): { firstMinute: number; minuteMs: number[] } {
  if (minutes.size === 0) return { firstMinute: Math.floor(start / MINUTE_MS) * MINUTE_MS, minuteMs: [] };
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const minute of minutes.keys()) {
    if (minute < first) first = minute;
    if (minute > last) last = minute;
  }
  const minuteMs = new Array<number>((last - first) / MINUTE_MS + 1).fill(0);
  for (const [minute, value] of minutes) minuteMs[(minute - first) / MINUTE_MS] = value;
  return { firstMinute: first, minuteMs };
}

/**
 * Cuts one id's events as core's `finalizeSessionId` does (`splitSorted`, `finalizeRuns`) and shapes
 * the rows the worker stores, each session classified and its client parsed by the settings' agent
 * rules (DESIGN 4: core's `assembleReport` with the same rules gives the same classes).
 */
export function computeSessionRows(
  events: readonly ListenEvent[],
  settings: FinalizeSettings,
): { counted: SessionRow[]; short: ShortRow[] } {
  const runs = splitSorted(sortUnique([...events]), settings);
  const done = finalizeRuns(runs, settings);
  const classify = audienceOf(settings);
  const firstTimes = runs.map((r) => r.events[0]!.time);
  const countedFirsts = firstTimes.filter((_, k) => isCounted(runs[k]!.session, settings));
  const shortFirsts = firstTimes.filter((_, k) => !isCounted(runs[k]!.session, settings));
  const counted: SessionRow[] = [];
  for (const [k, fact] of done.counted.entries()) {
    const s = fact.session;
    const audience = classify({ ua: s.ua, origin: s.origin });
    counted.push({
      session: s.session,
      start: s.start,
      firstTime: countedFirsts[k]!,
      stream: s.stream,
      output: s.output,
      end: s.end,
      elapsedMs: s.end - s.start,
      durationMs: Math.round(s.duration * 1000),
      bytes: s.bytes,
      listener: s.listener,
      ua: s.ua,
      country: s.country,
      class: audience.class,
      device: audience.device,
      os: audience.os,
      player: audience.player,
      ...denseMinutes(fact.minutes, s.start),
      quarterHours: fact.quarterHours,
    });
  }
  const short = done.short.map((s, k) => ({
    session: s.session,
    start: s.start,
    firstTime: shortFirsts[k]!,
    end: s.end,
    stream: s.stream,
    durationMs: Math.round(s.duration * 1000),
    class: classify({ ua: s.ua, origin: s.origin }).class,
  }));
  for (const row of counted) {
    for (const [field, value] of [
      ['bytes', row.bytes],
      ['duration', row.durationMs],
    ] as const) {
      if (!Number.isSafeInteger(value))
        throw new SessionDataError(
          row.session,
          `session ${row.session} starting ${iso(row.start)}: its ${field} add up to ${value}, past 2^53 - 1, which no row can hold exactly`,
        );
    }
  }
  return { counted, short };
}

/** Whether a stored session row and a computed one of the same (session, start) hold the same values. */
export function sameSessionRow(a: SessionRow, b: SessionRow): boolean {
  if (
    a.firstTime !== b.firstTime ||
    a.stream !== b.stream ||
    a.output !== b.output ||
    a.end !== b.end ||
    a.elapsedMs !== b.elapsedMs ||
    a.durationMs !== b.durationMs ||
    a.bytes !== b.bytes ||
    a.listener !== b.listener ||
    a.ua !== b.ua ||
    a.country !== b.country ||
    a.class !== b.class ||
    a.device !== b.device ||
    a.os !== b.os ||
    a.player !== b.player ||
    a.firstMinute !== b.firstMinute ||
    a.minuteMs.length !== b.minuteMs.length
  ) {
    return false;
  }
  for (let i = 0; i < a.minuteMs.length; i++) if (a.minuteMs[i] !== b.minuteMs[i]) return false;
  return true;
}

/** Whether a stored short-session row and a computed one of the same (session, start) hold the same values. */
export function sameShortRow(a: ShortRow, b: ShortRow): boolean {
  return (
    a.firstTime === b.firstTime &&
    a.stream === b.stream &&
    a.durationMs === b.durationMs &&
    a.end === b.end &&
    a.class === b.class
  );
}
