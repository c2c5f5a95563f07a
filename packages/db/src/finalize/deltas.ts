import { bucketStart, MINUTE_MS, QUARTER_HOUR_MS } from '@earshot/core';
import { utcMonth } from '../months.js';
import { QUALIFIER_MINUTES, SESSION_LENGTH_BOUNDS_S, sessionLengthBin } from '../schema.js';
import type { SessionRow, ShortRow } from './types.js';

/**
 * The rollups' share of a batch's row changes, as differences: a finalization adds each new session
 * row with sign +1 and each removed one with sign -1, and writes only the sums (stream_minutes and
 * stream_quarter_hours by upsert, stream_listener_months by OR or rebuild). Pure: no database.
 */

/** A (stream, minute) difference of `stream_minutes`. */
export interface MinuteDelta {
  stream: string;
  /** Epoch ms of the minute. */
  minute: number;
  ms: number;
  sessions: number;
}

/** A (stream, quarter-hour) difference of `stream_quarter_hours`. */
export interface QuarterHourDelta {
  stream: string;
  /** Epoch ms of the quarter-hour. */
  qh: number;
  ms: number;
  sessions: number;
  continuing: number;
  starts: number;
  /** `qualified[k - 1]`: sessions with at least k whole minutes in the QH, k = 1..{@link QUALIFIER_MINUTES}. */
  qualified: number[];
  /** Of `starts`, by bin of {@link SESSION_LENGTH_BOUNDS_S} (`stream_quarter_hours` only). */
  lengths: number[];
  /** Short sessions that start in the QH (`stream_quarter_hours` only). */
  shortStarts: number;
}

/**
 * A session's audience as the audience rollups key it (`stream_audience_quarter_hours`,
 * `stream_audience_months`): country (`unknown` for none, as core's breakdowns group it), device,
 * OS, player and output.
 */
export interface Audience {
  country: string;
  device: string;
  os: string;
  player: string;
  output: string;
}

/** The audience of a session row. */
export const audienceOfRow = (row: SessionRow): Audience => ({
  country: row.country ?? 'unknown',
  device: row.device,
  os: row.os,
  player: row.player,
  output: row.output,
});

const audienceKey = (a: Audience) =>
  `${a.country}\u0000${a.device}\u0000${a.os}\u0000${a.player}\u0000${a.output}`;

/** A (stream, quarter-hour, audience) difference of `stream_audience_quarter_hours`. */
export interface AudienceQuarterHourDelta extends QuarterHourDelta {
  audience: Audience;
}

/** A cume key's quarter-hours in one UTC month of a stream: bit indexes of `stream_listener_months.qhs`. */
export interface KeyMonth {
  stream: string;
  key: string;
  /** Epoch ms of the month's start and of the next month's. */
  month: number;
  end: number;
  indexes: Set<number>;
}

/** A cume key's quarter-hours in one UTC month of a stream by one audience (`stream_audience_months`). */
export interface AudienceMonth extends KeyMonth {
  audience: Audience;
}

/** A batch's rollup differences, keyed by stream (and key) and time. */
export interface RollupDeltas {
  minutes: Map<string, MinuteDelta>;
  quarterHours: Map<string, QuarterHourDelta>;
  /** Listener months that gain the bits of added rows. */
  addMonths: Map<string, KeyMonth>;
  /** Listener months that lost a row, rebuilt from the rows that remain (a bit may have been its alone). */
  rebuildMonths: Map<string, KeyMonth>;
  /** The same by audience: `stream_audience_quarter_hours` and `stream_audience_months`. */
  audienceQuarterHours: Map<string, AudienceQuarterHourDelta>;
  addAudienceMonths: Map<string, AudienceMonth>;
  rebuildAudienceMonths: Map<string, AudienceMonth>;
}

export function createRollupDeltas(): RollupDeltas {
  return {
    minutes: new Map(),
    quarterHours: new Map(),
    addMonths: new Map(),
    rebuildMonths: new Map(),
    audienceQuarterHours: new Map(),
    addAudienceMonths: new Map(),
    rebuildAudienceMonths: new Map(),
  };
}

/**
 * Adds a counted session row to the deltas (`sign` +1: a new row; -1: a removed one). The rollups
 * hold human sessions only (net figures): a row of any other class changes nothing in them.
 */
export function addRowDeltas(deltas: RollupDeltas, row: SessionRow, sign: 1 | -1): void {
  if (row.class !== 'human') return;
  addMinuteDeltas(deltas.minutes, row, sign);
  const qhs = addQuarterHourDeltas(
    deltas.quarterHours,
    row,
    sign,
    (qh) => `${row.stream}\u0000${qh}`,
    (d) => d,
  );
  addListenerMonths(sign === 1 ? deltas.addMonths : deltas.rebuildMonths, row, qhs);
  const audience = audienceOfRow(row);
  const ak = audienceKey(audience);
  addQuarterHourDeltas(
    deltas.audienceQuarterHours,
    row,
    sign,
    (qh) => `${row.stream}\u0000${ak}\u0000${qh}`,
    (d) => ({ ...d, audience }),
  );
  addListenerMonths(
    sign === 1 ? deltas.addAudienceMonths : deltas.rebuildAudienceMonths,
    row,
    qhs,
    ak,
    (m) => ({ ...m, audience }),
  );
}

/**
 * Adds a short session row (a tune-out) to the deltas: `short_starts` at the QH of its start, for
 * human rows (`sign` +1: a new row; -1: a removed one).
 */
export function addShortDeltas(deltas: RollupDeltas, row: ShortRow, sign: 1 | -1): void {
  if (row.class !== 'human') return;
  const qh = bucketStart(row.start, QUARTER_HOUR_MS);
  const key = `${row.stream}\u0000${qh}`;
  let d = deltas.quarterHours.get(key);
  if (!d) {
    d = emptyQuarterHourDelta(row.stream, qh);
    deltas.quarterHours.set(key, d);
  }
  d.shortStarts += sign;
}

const emptyQuarterHourDelta = (stream: string, qh: number): QuarterHourDelta => ({
  stream,
  qh,
  ms: 0,
  sessions: 0,
  continuing: 0,
  starts: 0,
  qualified: new Array<number>(QUALIFIER_MINUTES).fill(0),
  lengths: new Array<number>(SESSION_LENGTH_BOUNDS_S.length + 1).fill(0),
  shortStarts: 0,
});

/** The minute deltas that change something. */
export function changedMinutes(deltas: RollupDeltas): MinuteDelta[] {
  return [...deltas.minutes.values()].filter((d) => d.ms !== 0 || d.sessions !== 0);
}

/** The quarter-hour deltas that change something (`audience`: those of the audience rollup). */
export function changedQuarterHours(deltas: RollupDeltas): QuarterHourDelta[];
export function changedQuarterHours(deltas: RollupDeltas, audience: 'audience'): AudienceQuarterHourDelta[];
export function changedQuarterHours(deltas: RollupDeltas, audience?: 'audience'): QuarterHourDelta[] {
  const all = audience ? deltas.audienceQuarterHours : deltas.quarterHours;
  return [...all.values()].filter(
    (d) =>
      d.ms !== 0 ||
      d.sessions !== 0 ||
      d.continuing !== 0 ||
      d.starts !== 0 ||
      d.qualified.some((q) => q !== 0) ||
      d.lengths.some((n) => n !== 0) ||
      d.shortStarts !== 0,
  );
}

/**
 * The listener months to write: bits to add where nothing was removed, and months to rebuild
 * (a month that is rebuilt gets its added rows' bits from the rebuild).
 */
export function listenerMonthsToWrite(deltas: RollupDeltas): { added: KeyMonth[]; rebuilt: KeyMonth[] } {
  return {
    added: [...deltas.addMonths.entries()].filter(([id]) => !deltas.rebuildMonths.has(id)).map(([, m]) => m),
    rebuilt: [...deltas.rebuildMonths.values()],
  };
}

/** The same for the audience months (`stream_audience_months`). */
export function audienceMonthsToWrite(deltas: RollupDeltas): {
  added: AudienceMonth[];
  rebuilt: AudienceMonth[];
} {
  return {
    added: [...deltas.addAudienceMonths.entries()]
      .filter(([id]) => !deltas.rebuildAudienceMonths.has(id))
      .map(([, m]) => m),
    rebuilt: [...deltas.rebuildAudienceMonths.values()],
  };
}

/** Adds a session row's minutes to the (stream, minute) deltas with `sign` +1 or -1. */
function addMinuteDeltas(deltas: Map<string, MinuteDelta>, row: SessionRow, sign: 1 | -1): void {
  for (let i = 0; i < row.minuteMs.length; i++) {
    const value = row.minuteMs[i]!;
    if (value <= 0) continue;
    const minute = row.firstMinute + i * MINUTE_MS;
    const key = `${row.stream}\u0000${minute}`;
    const d = deltas.get(key);
    if (d) {
      d.ms += sign * value;
      d.sessions += sign;
    } else deltas.set(key, { stream: row.stream, minute, ms: sign * value, sessions: sign });
  }
}

/**
 * A counted session row's listening by quarter-hour, ascending, only QHs with listening: core's
 * placement for a new row, the sums of its stored `minute_ms` for a stored one (a QH holds whole
 * minutes, and both placements are exact integer ms, so the two agree).
 */
export function rowQuarterHours(row: SessionRow): [number, number][] {
  if (row.quarterHours) {
    return [...row.quarterHours].filter(([, value]) => value > 0).sort((a, b) => a[0] - b[0]);
  }
  const out: [number, number][] = [];
  for (let i = 0; i < row.minuteMs.length; i++) {
    const value = row.minuteMs[i]!;
    if (value <= 0) continue;
    const qh = bucketStart(row.firstMinute + i * MINUTE_MS, QUARTER_HOUR_MS);
    const last = out[out.length - 1];
    if (last && last[0] === qh) last[1] += value;
    else out.push([qh, value]);
  }
  return out;
}

/**
 * Adds a session row to a quarter-hour rollup's deltas (keyed by `keyOf` a QH, made by `make`)
 * with `sign` +1 or -1; returns the row's quarter-hours with listening.
 */
function addQuarterHourDeltas<D extends QuarterHourDelta>(
  deltas: Map<string, D>,
  row: SessionRow,
  sign: 1 | -1,
  keyOf: (qh: number) => string,
  make: (d: QuarterHourDelta) => D,
): number[] {
  const at = (qh: number): D => {
    const key = keyOf(qh);
    let d = deltas.get(key);
    if (!d) {
      d = make(emptyQuarterHourDelta(row.stream, qh));
      deltas.set(key, d);
    }
    return d;
  };
  let prev = Number.NaN;
  const listened: number[] = [];
  for (const [qh, value] of rowQuarterHours(row)) {
    listened.push(qh);
    const d = at(qh);
    d.ms += sign * value;
    d.sessions += sign;
    if (prev === qh - QUARTER_HOUR_MS) d.continuing += sign;
    const minutes = Math.min(QUALIFIER_MINUTES, Math.floor(value / MINUTE_MS));
    for (let k = 0; k < minutes; k++) d.qualified[k]! += sign;
    prev = qh;
  }
  const start = at(bucketStart(row.start, QUARTER_HOUR_MS));
  start.starts += sign;
  start.lengths[sessionLengthBin(row.durationMs)]! += sign;
  return listened;
}

/** The cume key of a counted session row, as core's cume counts it. */
export const cumeKey = (row: SessionRow) => row.listener ?? `session:${row.session}`;

/** Adds a session row's quarter-hours to the (stream, key, month[, audience]) bits to set. */
function addListenerMonths<M extends KeyMonth>(
  into: Map<string, M>,
  row: SessionRow,
  qhs: readonly number[],
  audience = '',
  make: (m: KeyMonth) => M = (m) => m as M,
): void {
  const key = cumeKey(row);
  for (const qh of qhs) {
    const { month, end } = utcMonth(qh);
    const id = `${row.stream}\u0000${key}\u0000${month}\u0000${audience}`;
    let entry = into.get(id);
    if (!entry) {
      entry = make({ stream: row.stream, key, month, end, indexes: new Set() });
      into.set(id, entry);
    }
    entry.indexes.add((qh - month) / QUARTER_HOUR_MS);
  }
}
