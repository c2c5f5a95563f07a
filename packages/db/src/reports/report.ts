import {
  type BreakdownDimension,
  type BreakdownRow,
  type Daypart,
  isoTime,
  MINUTE_MS,
  REPORT_PARTS,
  type Report,
  type ReportMinute,
  type ReportQuarterHour,
  type ReportSummary,
  reportConfig,
  summarizeTotals,
} from '@earshot/core';
import type { Queryable } from '../client.js';
import { breakdownFromDb, excludedCounts, excludedMinutes, leftRunningCounts } from './audience.js';
import { cumeSource, monthsCumeOfMany } from './cume.js';
import { queryMinutes } from './minutes.js';
import { type DbReportOptions, type ResolvedReport, resolveReport } from './options.js';
import { queryQuarterHours } from './quarter-hours.js';
import { type AudienceDimension, rollupBreakdowns } from './rollup-breakdown.js';
import { rollupQualifier, rollupQuarterHours } from './rollup-quarter-hours.js';
import { rollupTotals } from './rollup-totals.js';
import { querySessions } from './sessions.js';
import { byText, shareInFlight } from './sql.js';
import { queryTotals } from './totals.js';

/**
 * The section 7 report from the database: equal to core's `buildReport` on the events the worker
 * finalized (same config echo, sessions, minutes, quarter-hours and summary, bit for bit). Without
 * `from`/`to` the period is core's default: whole quarter-hours around the data of the selected
 * streams.
 */
export async function reportFromDb(db: Queryable, options: DbReportOptions = {}): Promise<Report> {
  return reportOf(db, await resolveReport(db, options), options);
}

/**
 * The summaries of one period in several dayparts (null: all hours), each equal to
 * `reportFromDb(db, { ...options, daypart, parts: ['summary'] })`: the net cume of every daypart
 * counted from the listener months beyond a week is taken in one pass over them for all dayparts.
 */
export async function daypartReportsFromDb(
  db: Queryable,
  options: DbReportOptions,
  dayparts: readonly (Daypart | null)[],
): Promise<Report[]> {
  const each = { ...options, parts: ['summary'] as const };
  const rs = await Promise.all(dayparts.map((daypart) => resolveReport(db, { ...each, daypart })));
  const useRollup = options.rollup !== false && rs[0]?.basis === 'net';
  const months = useRollup
    ? rs.filter((r) => cumeSource(r, rs.length) === 'months' && r.qhList.length > 0)
    : [];
  const cumes = months.length > 1 ? await monthsCumeOfMany(db, months) : [];
  return Promise.all(
    rs.map((r) => {
      const i = months.indexOf(r);
      return reportOf(db, r, each, i >= 0 && cumes.length > 0 ? cumes[i] : undefined);
    }),
  );
}

async function reportOf(
  db: Queryable,
  r: ResolvedReport,
  options: DbReportOptions,
  cume?: Map<string, number>,
): Promise<Report> {
  const parts = new Set(options.parts ?? REPORT_PARTS);
  const wantQh = parts.has('quarterHours') || parts.has('summary');
  // The rollups hold human sessions only (net).
  const useRollup = options.rollup !== false && r.basis === 'net';
  const k = rollupQualifier(r.qualifierMs);
  const wantSummary = parts.has('summary');
  const [sessions, minutes, qhRows, totals, excluded, leftRunning, breakdown] = await Promise.all([
    parts.has('sessions') ? querySessions(db, r) : Promise.resolve([]),
    parts.has('minutes') ? grossMinutes(db, r) : Promise.resolve([]),
    !wantQh
      ? Promise.resolve([])
      : useRollup && k !== undefined
        ? rollupQuarterHours(db, r, k)
        : queryQuarterHours(db, r),
    !wantSummary
      ? Promise.resolve(undefined)
      : useRollup
        ? cume
          ? rollupTotals(db, r, cume)
          : shareInFlight(db, `totals ${totalsKey(r)}`, () => rollupTotals(db, r))
        : queryTotals(db, r),
    wantSummary ? excludedCounts(db, r) : Promise.resolve(new Map<string, never>()),
    wantSummary ? leftRunningCounts(db, r) : Promise.resolve(new Map<string, number>()),
    parts.has('breakdown') && r.by !== null
      ? breakdownOf(db, r, r.by, useRollup ? k : undefined)
      : Promise.resolve([]),
  ]);

  const quarterHours: ReportQuarterHour[] = parts.has('quarterHours')
    ? qhRows.map((q) => ({
        stream: q.stream,
        start: isoTime(q.qh_ms),
        qualified: q.qualified,
        seconds: q.ms / 1000,
      }))
    : [];

  const summary: ReportSummary[] = [];
  if (totals) {
    const qualified = new Map<string, number>();
    for (const q of qhRows) qualified.set(q.stream, (qualified.get(q.stream) ?? 0) + q.qualified);
    for (const t of [...totals.totals].sort((a, b) => byText(a.stream, b.stream))) {
      if (t.ms === 0) continue;
      summary.push(
        summarizeTotals({
          stream: t.stream,
          listeningMs: t.ms,
          qualified: qualified.get(t.stream) ?? 0,
          quarterHours: r.qhList.length,
          activeSessions: t.active,
          sessionStarts: totals.starts.get(t.stream) ?? 0,
          cume: t.cume,
          excluded: excluded.get(t.stream) ?? { bot: 0, relay: 0, monitor: 0 },
          leftRunning: leftRunning.get(t.stream) ?? 0,
        }),
      );
    }
  }

  return {
    config: reportConfig(r, r.settings),
    sessions,
    minutes,
    quarterHours,
    summary,
    breakdown,
  };
}

/**
 * The breakdowns by each of `dims` over one period (the dashboard's audience tables): equal, dimension
 * for dimension, to `reportFromDb(db, { ...options, by, parts: ['breakdown'] }).breakdown`, with the
 * period settled once and the audience rollups read once for all net dimensions.
 */
export async function breakdownsFromDb(
  db: Queryable,
  options: DbReportOptions,
  dims: readonly BreakdownDimension[],
): Promise<Map<BreakdownDimension, BreakdownRow[]>> {
  const r = await resolveReport(db, { ...options, by: null });
  const k = options.rollup !== false ? rollupQualifier(r.qualifierMs) : undefined;
  const rolled = dims.filter((d) => fromAudienceRollups(r, d, k));
  const others = dims.filter((d) => !(rolled as readonly string[]).includes(d));
  const [fromRollup, ...each] = await Promise.all([
    rollupBreakdowns(db, r, rolled, k ?? 0),
    ...others.map((by) => breakdownFromDb(db, { ...r, by })),
  ]);
  const out = new Map<BreakdownDimension, BreakdownRow[]>();
  for (const d of dims) {
    const i = others.indexOf(d);
    out.set(d, i >= 0 ? each[i]! : (fromRollup.get(d as AudienceDimension) ?? []));
  }
  return out;
}

/** One breakdown: from the audience rollups when net with a whole-minute qualifier (`k`), else per session. */
async function breakdownOf(
  db: Queryable,
  r: ResolvedReport,
  by: BreakdownDimension,
  k: number | undefined,
): Promise<BreakdownRow[]> {
  if (!fromAudienceRollups(r, by, k)) return breakdownFromDb(db, r);
  return (await rollupBreakdowns(db, r, [by], k!)).get(by) ?? [];
}

/** Whether a breakdown by `by` reads the audience rollups: net, by an audience dimension, with a whole-minute qualifier `k`. */
const fromAudienceRollups = (
  r: ResolvedReport,
  by: BreakdownDimension,
  k: number | undefined,
): by is AudienceDimension => k !== undefined && r.basis === 'net' && by !== 'class';

/** What a summary's totals depend on (the quarter-hours stand for the period, zone and daypart). */
const totalsKey = (r: ResolvedReport) =>
  JSON.stringify([r.qhList, r.streams, r.groupAs ?? null, r.cume, r.basis]);

/** The minute series: the rollup's (human sessions), plus the excluded sessions' when gross. */
async function grossMinutes(db: Queryable, r: ResolvedReport): Promise<ReportMinute[]> {
  if (r.basis === 'net') return queryMinutes(db, r);
  const [net, extra] = await Promise.all([queryMinutes(db, r), excludedMinutes(db, r)]);
  if (extra.length === 0) return net;
  const rows = new Map<string, { stream: string; minute: number; ms: number; sessions: number }>();
  for (const m of net) {
    const minute = Date.parse(m.minute);
    rows.set(`${m.stream}\u0000${minute}`, {
      stream: m.stream,
      minute,
      ms: Math.round(m.listeners * MINUTE_MS),
      sessions: m.sessions,
    });
  }
  for (const m of extra) {
    const key = `${m.stream}\u0000${m.minute}`;
    const row = rows.get(key);
    if (row) {
      row.ms += m.ms;
      row.sessions += m.sessions;
    } else rows.set(key, { ...m });
  }
  return [...rows.values()]
    .sort((a, b) => byText(a.stream, b.stream) || a.minute - b.minute)
    .map((m) => ({
      stream: m.stream,
      minute: isoTime(m.minute),
      listeners: m.ms / MINUTE_MS,
      sessions: m.sessions,
    }));
}
