import type { Report } from './report.js';

/** The list parts of a report (DESIGN section 7), each exportable as CSV. */
export type ReportPart = 'sessions' | 'minutes' | 'quarterHours' | 'summary' | 'breakdown';

/** The report's list parts, in section 7 order. */
export const REPORT_PARTS: readonly ReportPart[] = [
  'sessions',
  'minutes',
  'quarterHours',
  'summary',
  'breakdown',
];

const SUMMARY_FIGURES = [
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
  'excludedBot',
  'excludedRelay',
  'excludedMonitor',
  'leftRunning',
] as const;

/** CSV columns of each report part, in section 7 field order; every Earshot CSV uses these. */
export const REPORT_COLUMNS: Readonly<Record<ReportPart, readonly string[]>> = {
  sessions: [
    'session',
    'stream',
    'start',
    'end',
    'elapsed',
    'duration',
    'bytes',
    'listener',
    'output',
    'class',
    'country',
    'device',
    'os',
    'player',
  ],
  minutes: ['stream', 'minute', 'listeners', 'sessions'],
  quarterHours: ['stream', 'start', 'qualified', 'seconds'],
  summary: ['stream', ...SUMMARY_FIGURES],
  breakdown: ['group', ...SUMMARY_FIGURES],
};

// Spreadsheets run a cell that starts with = + - @ as a formula; a leading tab or CR can hide one
// from an importer that trims whitespace first.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; quotes doubled;
 * `null` and `undefined` empty.
 *
 * A string that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a
 * spreadsheet shows it as text instead of running it as a formula (CSV injection; the OWASP
 * recommendation). Session ids, stream keys and listener keys come from clients, so any of them
 * may try. Numbers are never changed: `-1.5` stays a number.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One part of a report as CSV with a header row and `\n` line ends; numbers unrounded, `null` as an
 * empty field, text fields guarded against formula injection (see {@link csvField}).
 */
export function reportCsv(report: Report, part: ReportPart): string {
  const columns = REPORT_COLUMNS[part];
  const lines = [columns.join(',')];
  for (const row of report[part] as unknown as readonly Record<string, unknown>[]) {
    lines.push(columns.map((c) => csvField(row[c])).join(','));
  }
  return `${lines.join('\n')}\n`;
}
