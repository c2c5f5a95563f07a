import type { Report } from '@earshot/core';
import type { CsvPart } from './report-args.js';

/** Columns of each report part, in the DESIGN section 7 order. */
export const CSV_COLUMNS = {
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
} as const satisfies Record<CsvPart, readonly string[]>;

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One part of the report as CSV with a header row; numbers unrounded, `null` as an empty field. */
export function formatCsv(report: Report, part: CsvPart): string {
  const columns: readonly string[] = CSV_COLUMNS[part];
  const rows = report[part] as unknown as readonly Record<string, unknown>[];
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}
