import { stat } from 'node:fs/promises';
import { createAudienceOf } from '@earshot/audience';
import { assembleReport, type Report, reportCsv } from '@earshot/core';
import type { Env } from './env.js';
import { DataError, UsageError } from './errors.js';
import { formatTable } from './format-table.js';
import { createProgress, PROGRESS_MIN_BYTES } from './progress.js';
import { defaultThreads, readFile } from './read-file.js';
import { parseReportArgs, REPORT_HELP, type ReportRequest } from './report-args.js';

/** Invalid lines shown one by one with --skip-invalid; past that only the count. */
const MAX_INVALID_SHOWN = 20;

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** `earshot report`: resolves to the text to print on stdout. */
export async function runReport(args: readonly string[], env: Env, io: Io): Promise<string> {
  const request = parseReportArgs(args, env);
  if (request.help) return `${REPORT_HELP}\n`;
  if (request.events === undefined) {
    // Loaded only here: the database drivers add about 0.2 s to every start.
    const { reportFromDatabase } = await import('./report-db.js');
    const { report, source, shortByStream } = await reportFromDatabase(request, env);
    return render(report, request, { source, shortByStream });
  }
  return reportFromFile(request, request.events, io);
}

async function fileSize(path: string): Promise<number> {
  if (path === '-') return 0;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`--events: ${path} is not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--events: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

async function reportFromFile(request: ReportRequest, path: string, io: Io): Promise<string> {
  const name = path === '-' ? '<stdin>' : path;
  const size = await fileSize(path);
  const progress =
    io.stderr.isTTY && size >= PROGRESS_MIN_BYTES ? createProgress(io.stderr, name, size) : undefined;
  let result: Awaited<ReturnType<typeof readFile>>;
  try {
    result = await readFile({
      path,
      name,
      size,
      options: request.options,
      ranges: request.ranges,
      skipInvalid: request.skipInvalid,
      maxInvalid: MAX_INVALID_SHOWN,
      threads: request.threads ?? defaultThreads(path, size),
      ...(progress ? { onProgress: progress.update } : {}),
    });
  } catch (error) {
    if (error instanceof DataError) {
      throw new DataError(
        `${error.message}${request.skipInvalid ? '' : ' (--skip-invalid skips bad lines)'}`,
        error.line,
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
      throw new DataError(`${name}: not valid gzip (${(error as Error).message})`);
    }
    throw error;
  } finally {
    progress?.done();
  }

  const { finalized, stats } = result;
  for (const invalid of result.invalid) io.stderr.write(`${invalid}\n`);
  if (stats.skipped > 0) {
    const more = stats.skipped > result.invalid.length ? ` (first ${result.invalid.length} shown)` : '';
    io.stderr.write(
      `${name}: skipped ${stats.skipped} invalid line${stats.skipped === 1 ? '' : 's'}${more}\n`,
    );
  }

  const report = assembleReport(finalized.counted, {
    ...request.options,
    audience: createAudienceOf(request.agents),
  });
  return render(report, request, {
    source: name,
    events: stats.events,
    skipped: stats.skipped,
    shortByStream: shortSessionsInPeriod(report, finalized.short, request.options.streams),
  });
}

/** The report in the requested format; the same for a file and for the database. */
function render(
  report: Report,
  request: ReportRequest,
  extras: { source: string; events?: number; skipped?: number; shortByStream: ReadonlyMap<string, number> },
): string {
  switch (request.format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return reportCsv(report, request.part);
    default:
      return formatTable(report, { skipped: 0, ...extras, daypart: request.daypart });
  }
}

/** Tune-outs (sessions under minSession) whose start lies in the report's period, by stream. */
function shortSessionsInPeriod(
  report: Report,
  short: readonly { stream: string; start: number }[],
  streams: readonly string[] | undefined,
): Map<string, number> {
  const from = Date.parse(report.config.from);
  const to = Date.parse(report.config.to);
  const wanted = streams && streams.length > 0 ? new Set(streams) : undefined;
  const counts = new Map<string, number>();
  for (const s of short) {
    if (s.start < from || s.start >= to || (wanted && !wanted.has(s.stream))) continue;
    counts.set(s.stream, (counts.get(s.stream) ?? 0) + 1);
  }
  return counts;
}
