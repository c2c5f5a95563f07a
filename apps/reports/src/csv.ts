import type { Report } from '@earshot/core';
import type { ReportPart } from '@earshot/db';

/** Columns of each report part, in DESIGN section 7 order (the CLI's CSV has the same). */
export const CSV_COLUMNS: Record<ReportPart, readonly string[]> = {
  sessions: ['session', 'stream', 'start', 'end', 'elapsed', 'duration', 'bytes', 'listener'],
  minutes: ['stream', 'minute', 'listeners', 'sessions'],
  quarterHours: ['stream', 'start', 'qualified', 'seconds'],
  summary: [
    'stream',
    'quarterHours',
    'aqh',
    'aas',
    'tlh',
    'cume',
    'activeSessions',
    'sessionStarts',
    'atsl',
    'tsl',
    'tslNielsen',
  ],
};

/** One RFC 4180 field: quoted when it holds a comma, quote or line break; null is empty. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One part of a report as CSV with a header row; numbers are not rounded. */
export function reportCsv(report: Report, part: ReportPart): string {
  const columns = CSV_COLUMNS[part];
  const out = [columns.join(',')];
  for (const row of report[part] as unknown as readonly Record<string, unknown>[]) {
    out.push(columns.map((c) => field(row[c])).join(','));
  }
  return `${out.join('\n')}\n`;
}
