import {
  type Basis,
  type BreakdownDimension,
  type Daypart,
  isoTime,
  periodQuarterHours,
  quarterHourExtent,
  type ReportOptions,
  type ReportPart,
  type ReportSettings,
  resolvePeriod,
  resolveSettings,
} from '@earshot/core';
import type { Queryable } from '../client.js';
import { epochMs, selectedStreams } from './sql.js';

/** What a database report covers: core's {@link ReportOptions}, and how the stored rows are read. */
export interface DbReportOptions extends ReportOptions {
  /**
   * Report the selected streams as ONE stream with this key (a station): sessions, minutes and
   * quarter-hours are summed across them and cume counts a listener once across them. Equal to core's
   * report over the same events with every selected stream key renamed to `groupAs`.
   */
  groupAs?: string | undefined;
  /** Which lists to compute; the others come back empty. Default all. */
  parts?: readonly ReportPart[] | undefined;
  /**
   * Read the quarter-hour rollup (`stream_quarter_hours`, see {@link rebuildQuarterHourRollup}); default
   * true. `false` computes the same figures from the per-session rows alone (slower; for checks).
   * The rollups hold human sessions only: a gross report always reads the per-session rows.
   */
  rollup?: boolean | undefined;
  /**
   * Which stored rows cume is counted from: `runs` (each session's first quarter-hour in the
   * period, cheap for short periods), `months` (`stream_listener_months`, one row per listener and
   * month, cheap for long ones) or `auto` (default: months beyond three days, or one for several
   * dayparts at once). Same figures either way.
   */
  cume?: 'auto' | 'runs' | 'months' | undefined;
}

/** A report's options settled: the period, its quarter-hours and the settings every query reads. */
export interface ResolvedReport {
  from: number;
  to: number;
  tz: string;
  daypart: Daypart | null;
  streams: string[] | null;
  groupAs: string | undefined;
  qhList: number[];
  qualifierMs: number;
  settings: ReportSettings;
  cume: 'auto' | 'runs' | 'months';
  /** Net (human sessions only: the rollups, or per-session rows with class `human`) or gross. */
  basis: Basis;
  by: BreakdownDimension | null;
}

/**
 * The data extent core uses when `from` or `to` is not given (see core's `dataExtent`): from the
 * first placed minute or session start to the last session end of the selected streams. Index
 * lookups only: per stream the first and last start (`sessions_stream_start`) and first minute
 * (`stream_minutes`), then the last end among sessions that start within `maxSession` of the last
 * start (a session is never longer, so no other session can end later).
 */
async function storedExtent(
  db: Queryable,
  streams: readonly string[] | null,
  maxSessionS: number,
): Promise<{ from: number; to: number } | undefined> {
  const perStream = await db.query<{
    stream: string;
    first_ms: number;
    last_start_ms: number;
    first_minute_ms: number | null;
  }>(
    `with recursive known(stream) as (
        select min(stream) from sessions
        union all
        select (select min(s.stream) from sessions s where s.stream > known.stream) from known where known.stream is not null
      )
      select stream, ${epochMs('(select min(start) from sessions s where s.stream = known.stream)')} as first_ms,
        ${epochMs('(select max(start) from sessions s where s.stream = known.stream)')} as last_start_ms,
        ${epochMs('(select min(minute) from stream_minutes m where m.stream = known.stream)')} as first_minute_ms
      from known where stream is not null and ($1::text[] is null or stream = any($1::text[]))`,
    [streams],
  );
  if (perStream.length === 0) return undefined;
  let lo = Number.POSITIVE_INFINITY;
  for (const p of perStream) lo = Math.min(lo, p.first_ms, p.first_minute_ms ?? Number.POSITIVE_INFINITY);
  // One query per stream with its own bound, so PostgreSQL sees the bound and scans the index.
  const ends = await Promise.all(
    perStream.map((p) =>
      db.query<{ hi: number | null }>(
        `select ${epochMs('max("end")')} as hi from sessions where stream = $1 and start >= $2::timestamptz`,
        [p.stream, isoTime(p.last_start_ms - maxSessionS * 1000)],
      ),
    ),
  );
  let hi = Number.NEGATIVE_INFINITY;
  for (const e of ends) if (e[0]?.hi != null) hi = Math.max(hi, e[0].hi);
  // The first minute with listening, or a start: both land in the quarter-hour core takes.
  return quarterHourExtent(lo, hi);
}

/**
 * The period `[from, to)` (epoch ms) that {@link reportFromDb} reports for `options`: the bounds
 * given, the stored data's extent (whole quarter-hours) for a bound not given, as core's
 * `resolvePeriod` settles it offline.
 */
export async function reportPeriod(
  db: Queryable,
  options: DbReportOptions,
): Promise<{ from: number; to: number }> {
  const extent =
    options.from === undefined || options.to === undefined
      ? await storedExtent(db, selectedStreams(options.streams), resolveSettings(options).maxSessionS)
      : undefined;
  return resolvePeriod(options, extent);
}

/** The options of {@link reportFromDb} settled against the stored data. */
export async function resolveReport(db: Queryable, options: DbReportOptions): Promise<ResolvedReport> {
  const settings = resolveSettings(options);
  const tz = options.tz ?? 'UTC';
  const daypart = options.daypart ?? null;
  const streams = selectedStreams(options.streams);
  const { from, to } = await reportPeriod(db, options);
  return {
    from,
    to,
    tz,
    daypart,
    streams,
    groupAs: options.groupAs,
    qhList: periodQuarterHours(from, to, tz, daypart),
    qualifierMs: Math.round(settings.aqhQualifierS * 1000),
    settings,
    // The listener months hold net keys only.
    cume: options.basis === 'gross' ? 'runs' : (options.cume ?? 'auto'),
    basis: options.basis ?? 'net',
    by: options.by ?? null,
  };
}
