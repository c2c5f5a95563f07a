import { QUARTER_HOUR_MS } from '@earshot/core';

/**
 * Quarter-hour bit strings by UTC calendar month, the shape of `stream_listener_months.qhs`: bit i
 * of a month's string is the quarter-hour that starts i x 15 min after the month's start, and the
 * string has one bit per quarter-hour of the month (2,688 to 2,976).
 */
export interface MonthBits {
  /** Epoch ms of the UTC month's start. */
  month: number;
  /** Epoch ms of the next UTC month's start. */
  end: number;
  bits: Uint8Array;
}

/** The UTC calendar month holding `ms`: its start and end (epoch ms). */
export function utcMonth(ms: number): { month: number; end: number } {
  const d = new Date(ms);
  return {
    month: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

/** Sets the bits of quarter-hour starts `qhs` (epoch ms) in `into`, by month start. */
export function addMonthBits(into: Map<number, MonthBits>, qhs: Iterable<number>): Map<number, MonthBits> {
  for (const qh of qhs) {
    const { month, end } = utcMonth(qh);
    let entry = into.get(month);
    if (!entry) {
      entry = { month, end, bits: new Uint8Array((end - month) / QUARTER_HOUR_MS) };
      into.set(month, entry);
    }
    entry.bits[(qh - month) / QUARTER_HOUR_MS] = 1;
  }
  return into;
}

/** A month's bits as PostgreSQL `bit varying` text ('0101...'). */
export function bitText(bits: Uint8Array): string {
  const chars = new Uint8Array(bits.length);
  for (let i = 0; i < bits.length; i++) chars[i] = bits[i] ? 49 : 48; // '1' : '0'
  return Buffer.from(chars.buffer, chars.byteOffset, chars.length).toString('latin1');
}
