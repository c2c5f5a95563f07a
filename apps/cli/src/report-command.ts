import { createAudienceOf } from '@earshot/audience';
import {
  assembleReport,
  assembleTrackReport,
  type Report,
  type ReportPart,
  reportCsv,
  resolveSettings,
  type SessionRun,
  sortUnique,
  splitSorted,
  type TrackPart,
  type TrackReport,
  trackCsv,
} from '@earshot/core';
import type { Env } from './env.js';
import { DataError } from './errors.js';
import { formatTable } from './format-table.js';
import { formatTracks } from './format-tracks.js';
import { createProgress, PROGRESS_MIN_BYTES } from './progress.js';
import { defaultThreads, readFile } from './read-file.js';
import { fileSize, readTracks } from './read-tracks.js';
import { parseReportArgs, REPORT_HELP, type ReportRequest, TRACK_CSV_PARTS } from './report-args.js';

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
    return render(report, undefined, request, { source, shortByStream });
  }
  const { report, tracks, extras } = await reportFromFile(request, request.events, io);
  return render(report, tracks, request, extras);
}

/** What an offline report computed: the report, the track figures with --tracks, the table's extras. */
export interface FileReport {
  report: Report;
  tracks: TrackReport | undefined;
  extras: RenderExtras;
}

type RenderExtras = {
  source: string;
  events?: number;
  skipped?: number;
  shortByStream: ReadonlyMap<string, number>;
};

/**
 * The report of an event file (and with `request.tracks` the track figures over the same period,
 * sessions and basis: DESIGN section 9). Bad lines of either file are written to stderr.
 */
export async function reportFromFile(request: ReportRequest, path: string, io: Io): Promise<FileReport> {
  const name = path === '-' ? '<stdin>' : path;
  const size = await fileSize('events', path);
  // Track events first: a bad track file fails before the (long) read of the events.
  const trackRead = request.tracks
    ? await readTracks({
        path: request.tracks,
        skipInvalid: request.skipInvalid,
        maxInvalid: MAX_INVALID_SHOWN,
      })
    : undefined;
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
      keepStore: trackRead !== undefined,
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

  const audience = createAudienceOf(request.agents);
  const report = assembleReport(finalized.counted, { ...request.options, audience });
  let tracks: TrackReport | undefined;
  if (trackRead) {
    const trackName = request.tracks === '-' ? '<stdin>' : request.tracks;
    for (const invalid of trackRead.invalid) io.stderr.write(`${invalid}\n`);
    if (trackRead.stats.skipped > 0) {
      const n = trackRead.stats.skipped;
      const more = n > trackRead.invalid.length ? ` (first ${trackRead.invalid.length} shown)` : '';
      io.stderr.write(`${trackName}: skipped ${n} invalid line${n === 1 ? '' : 's'}${more}\n`);
    }
    const store = result.store!;
    const settings = resolveSettings(request.options);
    // One session id's events at a time: the runs are read once, in a single pass.
    function* runs(): Generator<SessionRun> {
      for (const id of store.sessions.keys()) yield* splitSorted(sortUnique(store.events(id)), settings);
    }
    tracks = assembleTrackReport(runs(), trackRead.tracks, {
      ...request.options,
      audience,
      performanceMinS: request.performanceMinS,
      // The listen report's period, so that both cover the same time.
      from: Date.parse(report.config.from),
      to: Date.parse(report.config.to),
    });
  }
  return {
    report,
    tracks,
    extras: {
      source: name,
      events: stats.events,
      skipped: stats.skipped,
      shortByStream: shortSessionsInPeriod(report, finalized.short, request.options.streams),
    },
  };
}

/** The report in the requested format; the same for a file and for the database. */
function render(
  report: Report,
  tracks: TrackReport | undefined,
  request: ReportRequest,
  extras: RenderExtras,
): string {
  switch (request.format) {
    case 'json': {
      const out = tracks
        ? {
            ...report,
            tracks: {
              performanceMin: tracks.config.performanceMin,
              kinds: tracks.config.kinds,
              plays: tracks.plays,
              songs: tracks.songs,
              shows: tracks.shows,
              ath: tracks.ath,
            },
          }
        : report;
      return `${JSON.stringify(out, null, 2)}\n`;
    }
    case 'csv':
      return TRACK_CSV_PARTS.includes(request.part)
        ? trackCsv(tracks!, request.part as TrackPart)
        : reportCsv(report, request.part as ReportPart);
    default: {
      const table = formatTable(report, { skipped: 0, ...extras, daypart: request.daypart });
      return tracks ? `${table}\n${formatTracks(tracks)}` : table;
    }
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
