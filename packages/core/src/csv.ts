import type { Report } from './report.js';

/** The list parts of a report (DESIGN section 7), each exportable as CSV. */
export type ReportPart = 'sessions' | 'minutes' | 'quarterHours' | 'summary';

/** The report's list parts, in section 7 order. */
export const REPORT_PARTS: readonly ReportPart[] = ['sessions', 'minutes', 'quarterHours', 'summary'];

/** CSV columns of each report part, in section 7 field order; every Earshot CSV uses these. */
export const REPORT_COLUMNS: Readonly<Record<ReportPart, readonly string[]>> = {
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

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; quotes doubled; null empty. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One part of a report as CSV with a header row; numbers unrounded, `null` as an empty field. */
export function reportCsv(report: Report, part: ReportPart): string {
  const columns = REPORT_COLUMNS[part];
  const lines = [columns.join(',')];
  for (const row of report[part] as unknown as readonly Record<string, unknown>[]) {
    lines.push(columns.map((c) => csvField(row[c])).join(','));
  }
  return `${lines.join('\n')}\n`;
}
