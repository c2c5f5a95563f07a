import { type Basis, type Daypart, isoTime, periodQuarterHours, QUARTER_HOUR_MS } from '@earshot/core';
import { selectedStreams } from './sql.js';

/** Selection shared by the breakdown queries: sessions that START in the period's quarter-hours. */
export interface SessionSelection {
  from: number;
  to: number;
  tz?: string | undefined;
  daypart?: Daypart | null | undefined;
  streams?: readonly string[] | undefined;
  /** Net (human sessions only, the default) or gross. */
  basis?: Basis | undefined;
}

/**
 * The query parameters of a selection: its quarter-hours (ISO), their bounds and the streams; undefined
 * when the period has no quarter-hour (nothing can start in it).
 */
export function startSelection(
  sel: SessionSelection,
): { qhs: string[]; lo: string; hi: string; streams: string[] | null; gross: boolean } | undefined {
  const qhList = periodQuarterHours(sel.from, sel.to, sel.tz ?? 'UTC', sel.daypart ?? null);
  if (qhList.length === 0) return undefined;
  return {
    qhs: qhList.map(isoTime),
    lo: isoTime(qhList[0]!),
    hi: isoTime(qhList[qhList.length - 1]! + QUARTER_HOUR_MS),
    streams: selectedStreams(sel.streams),
    gross: sel.basis === 'gross',
  };
}

/**
 * Sessions that start in one of `$1` (QH starts, within `[$2, $3)`) on streams `$4` (null: all),
 * human ones unless `$5` (gross).
 */
export const START_IN_PERIOD = `start >= $2::timestamptz and start < $3::timestamptz
  and date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') in (select unnest(($1::text[])::timestamptz[]))
  and ($4::text[] is null or stream = any($4::text[])) and (class = 'human' or $5::boolean)`;
