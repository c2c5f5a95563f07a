import {
  isoTime,
  REPORT_PARTS,
  type Report,
  type ReportQuarterHour,
  reportConfig,
  type ReportSummary,
  summarizeTotals,
} from '@earshot/core';
import type { Queryable } from '../client.js';
import { queryMinutes } from './minutes.js';
import { type DbReportOptions, resolveReport } from './options.js';
import { queryQuarterHours } from './quarter-hours.js';
import { rollupQualifier, rollupQuarterHours } from './rollup-quarter-hours.js';
import { rollupTotals } from './rollup-totals.js';
import { querySessions } from './sessions.js';
import { byText } from './sql.js';
import { queryTotals } from './totals.js';

/**
 * The section 7 report from the database: equal to core's `buildReport` on the events the worker
 * finalized (same config echo, sessions, minutes, quarter-hours and summary, bit for bit). Without
 * `from`/`to` the period is core's default: whole quarter-hours around the data of the selected
 * streams.
 */
export async function reportFromDb(db: Queryable, options: DbReportOptions = {}): Promise<Report> {
  const r = await resolveReport(db, options);
  const parts = new Set(options.parts ?? REPORT_PARTS);
  const wantQh = parts.has('quarterHours') || parts.has('summary');
  const useRollup = options.rollup !== false;
  const k = rollupQualifier(r.qualifierMs);
  const [sessions, minutes, qhRows, totals] = await Promise.all([
    parts.has('sessions') ? querySessions(db, r) : Promise.resolve([]),
    parts.has('minutes') ? queryMinutes(db, r) : Promise.resolve([]),
    !wantQh
      ? Promise.resolve([])
      : useRollup && k !== undefined
        ? rollupQuarterHours(db, r, k)
        : queryQuarterHours(db, r),
    !parts.has('summary') ? Promise.resolve(undefined) : useRollup ? rollupTotals(db, r) : queryTotals(db, r),
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
  };
}
