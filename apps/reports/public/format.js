// @ts-check
// Figures and times as the page prints them. Every time is in the report's zone, whatever the
// browser's: the wall clock comes from @earshot/core (served at /assets/core.js), the same code that
// places the report's quarter-hours and dayparts, so the page cannot disagree with the API about a
// local day.
import { localTime, UNKNOWN_GROUP } from './assets/core.js';

/** @param {number} n */
const pad = (n) => String(n).padStart(2, '0');

/**
 * A figure with at most `digits` decimals, en-US grouping; '' when there is none.
 * @param {unknown} v
 * @param {number} [digits]
 */
export const fmt = (v, digits = 2) =>
  v === null || v === undefined || Number.isNaN(v)
    ? ''
    : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits });

/**
 * `14:05:09` in the zone (24-hour).
 * @param {number} ms epoch ms
 * @param {string} tz IANA zone
 */
export function clockIn(ms, tz) {
  const { minuteOfDay } = localTime(ms, tz);
  // Zone offsets are whole minutes, so the local second is the UTC one.
  const second = Math.floor(ms / 1000) - Math.floor(ms / 60_000) * 60;
  return `${pad(Math.floor(minuteOfDay / 60))}:${pad(minuteOfDay % 60)}:${pad(second)}`;
}

/**
 * `2026-11-01` in the zone.
 * @param {number} ms epoch ms
 * @param {string} tz IANA zone
 */
export function dateIn(ms, tz) {
  const { year, month, day } = localTime(ms, tz);
  return `${year}-${pad(month)}-${pad(day)}`;
}

/**
 * `2026-11-01` + `days` calendar days (a date has no zone, so no DST to mind).
 * @param {string} date `YYYY-MM-DD`
 * @param {number} days
 */
export const addDays = (date, days) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/**
 * A share as a percentage with one decimal (`62.5%`); '' when there is none.
 * @param {number | null} share 0..1
 */
export const percent = (share) => (share === null || Number.isNaN(share) ? '' : `${fmt(share * 100, 1)}%`);

/** English country names, built into the browser (no list shipped). */
const regions = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/**
 * A breakdown group as the page names it: `unknown` as "Unknown" in every dimension, a country code
 * by its English name (`United States`), a device type or class capitalized (`Desktop`, `Bot`), any
 * other value (players, OS names, outputs) as it is.
 * @param {string} dimension
 * @param {string} group
 */
export function groupLabel(dimension, group) {
  if (group === UNKNOWN_GROUP) return 'Unknown';
  if (dimension === 'device' || dimension === 'class') return group.charAt(0).toUpperCase() + group.slice(1);
  if (dimension !== 'country') return group;
  try {
    return regions.of(group.toUpperCase()) ?? group;
  } catch {
    return group; // not a region code Intl knows how to read
  }
}
