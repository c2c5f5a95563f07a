import {
  BREAKDOWN_DIMENSIONS,
  type BreakdownDimension,
  type Daypart,
  DEFAULT_DAYPARTS,
  DEFAULT_LEFT_RUNNING_S,
  isValidTimeZone,
  localTime,
  parseReportTime,
  resolveDaypart,
  zonedTimeToUtc,
} from '@earshot/core';
import { type DbReportOptions, REPORT_PARTS, type ReportPart } from '@earshot/db';
import { HTTPException } from 'hono/http-exception';
import type { Station } from './stations.js';

/** The settings the worker finalized with (from the shared environment) and the default zone. */
export interface ReportDefaults {
  idleS: number;
  minSessionS: number;
  maxSessionS: number;
  aqhQualifierS: number;
  tz: string;
}

/** Longest period a query may ask for, days. */
export const MAX_PERIOD_DAYS = 400;

/** A 400 whose JSON body names the parameter and says what is wrong with it. */
export function badParameter(parameter: string, reason: string): HTTPException {
  return new HTTPException(400, {
    res: new Response(JSON.stringify({ error: 'bad parameter', parameter, reason }), {
      status: 400,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    }),
  });
}

type Queries = Record<string, string[]>;

function single(q: Queries, name: string): string | undefined {
  const values = q[name];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw badParameter(name, 'may be given only once');
  return values[0];
}

function seconds(q: Queries, name: string, max: number): number | undefined {
  const text = single(q, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > max) {
    throw badParameter(name, `must be a number of seconds between 0 and ${max}`);
  }
  return value;
}

/** Parameters every period query accepts. */
export const PERIOD_PARAMETERS = [
  'from',
  'to',
  'tz',
  'daypart',
  'stream',
  'station',
  'idle',
  'minSession',
  'maxSession',
  'aqhQualifier',
  'gross',
  'by',
  'leftRunning',
] as const;

/** What a period query asks for. */
export interface PeriodQuery {
  options: DbReportOptions & { tz: string; daypart: Daypart | null };
  station: Station | undefined;
  /** Dayparts known to the query (the station's, then the defaults). */
  dayparts: readonly Daypart[];
}

/**
 * Parses the period parameters of a query (`from`, `to`, `tz`, `daypart`, `stream`..., `station`,
 * and the settings) into report options. Anything unknown or bad is a 400 naming the parameter.
 */
export function parsePeriodQuery(
  q: Queries,
  defaults: ReportDefaults,
  stations: readonly Station[],
  extra: readonly string[] = [],
): PeriodQuery {
  const allowed = new Set<string>([...PERIOD_PARAMETERS, ...extra]);
  for (const name of Object.keys(q)) {
    if (!allowed.has(name))
      throw badParameter(name, `is not a parameter here (known: ${[...allowed].join(', ')})`);
  }

  const stationKey = single(q, 'station');
  let station: Station | undefined;
  if (stationKey !== undefined) {
    station = stations.find((s) => s.key === stationKey);
    if (!station) {
      throw badParameter(
        'station',
        `no station "${stationKey}" (known: ${stations.map((s) => s.key).join(', ') || 'none configured'})`,
      );
    }
    if (q.stream && q.stream.length > 0)
      throw badParameter('stream', 'give either station or stream, not both');
  }

  const tz = single(q, 'tz') ?? station?.tz ?? defaults.tz;
  if (!isValidTimeZone(tz)) throw badParameter('tz', `"${tz}" is not an IANA time zone`);

  const dayparts = [...(station?.dayparts ?? []), ...DEFAULT_DAYPARTS];
  const daypartText = single(q, 'daypart');
  let daypart: Daypart | null = null;
  if (daypartText !== undefined && daypartText.trim() !== '') {
    const resolved = resolveDaypart(daypartText, dayparts);
    if (!resolved.ok) throw badParameter('daypart', resolved.reason);
    daypart = resolved.daypart;
  }

  const time = (name: 'from' | 'to') => {
    const text = single(q, name);
    if (text === undefined) return undefined;
    const parsed = parseReportTime(text, tz);
    if (!parsed.ok) throw badParameter(name, parsed.reason);
    return parsed.ms;
  };
  const from = time('from');
  const to = time('to');
  if (from !== undefined && to !== undefined) {
    if (to <= from) throw badParameter('to', 'must be after from');
    checkPeriodLength({ from, to }, { from, to });
  }

  const streams = q.stream ?? [];
  for (const s of streams)
    if (s.length < 1 || s.length > 128) throw badParameter('stream', 'must be 1..128 characters');

  // Sessions were cut and counted by the worker with the deployment's settings: a report cannot
  // re-cut them, so a different value is refused rather than silently ignored.
  const fixed = [
    ['idle', defaults.idleS, 'EARSHOT_IDLE_S'],
    ['minSession', defaults.minSessionS, 'EARSHOT_MIN_SESSION_S'],
    ['maxSession', defaults.maxSessionS, 'EARSHOT_MAX_SESSION_S'],
  ] as const;
  for (const [name, value, variable] of fixed) {
    const asked = seconds(q, name, 7 * 86_400);
    if (asked !== undefined && asked !== value) {
      throw badParameter(
        name,
        `sessions in the database were finalized with ${name}=${value} s (${variable}); a report cannot change it (use the offline report to try other values)`,
      );
    }
  }
  const aqhQualifierS = seconds(q, 'aqhQualifier', 900) ?? defaults.aqhQualifierS;
  const leftRunningS = seconds(q, 'leftRunning', 7 * 86_400) ?? DEFAULT_LEFT_RUNNING_S;
  const grossText = single(q, 'gross');
  if (grossText !== undefined && grossText !== 'true' && grossText !== 'false')
    throw badParameter('gross', 'must be true (every counted session) or false (humans only, the default)');
  const byText = single(q, 'by');
  if (byText !== undefined && !(BREAKDOWN_DIMENSIONS as readonly string[]).includes(byText))
    throw badParameter('by', `must be one of ${BREAKDOWN_DIMENSIONS.join(', ')}`);

  const options: PeriodQuery['options'] = {
    tz,
    daypart,
    idleS: defaults.idleS,
    minSessionS: defaults.minSessionS,
    maxSessionS: defaults.maxSessionS,
    aqhQualifierS,
    leftRunningS,
    basis: grossText === 'true' ? 'gross' : 'net',
    by: (byText as BreakdownDimension | undefined) ?? null,
  };
  if (from !== undefined) options.from = from;
  if (to !== undefined) options.to = to;
  if (station) {
    options.streams = station.streams;
    options.groupAs = station.key;
  } else if (streams.length > 0) options.streams = [...new Set(streams)];
  return { options, station, dayparts };
}

/**
 * Refuses a period longer than {@link MAX_PERIOD_DAYS}. `given` says which bounds the query gave:
 * a bound it left out came from the data's extent, so the 400 names the missing bound and says what
 * the data spans, instead of blaming a parameter the client never sent.
 */
export function checkPeriodLength(
  period: { from: number; to: number },
  given: { from?: number | undefined; to?: number | undefined },
): void {
  const lengthMs = period.to - period.from;
  if (lengthMs <= MAX_PERIOD_DAYS * 86_400_000) return;
  if (given.from !== undefined && given.to !== undefined)
    throw badParameter('to', `the period may be at most ${MAX_PERIOD_DAYS} days`);
  const days = Math.ceil(lengthMs / 86_400_000);
  const span = `${new Date(period.from).toISOString()} to ${new Date(period.to).toISOString()}`;
  if (given.from === undefined && given.to === undefined) {
    throw badParameter(
      'from',
      `without from and to the period is the data's, ${span} (${days} days), longer than the ${MAX_PERIOD_DAYS} days a report may cover: give from and to`,
    );
  }
  const missing = given.from === undefined ? 'from' : 'to';
  throw badParameter(
    missing,
    `without ${missing} the period runs to the data's ${missing === 'from' ? 'start' : 'end'}: ${span} (${days} days), longer than the ${MAX_PERIOD_DAYS} days a report may cover: give ${missing}`,
  );
}

/** For endpoints without parameters: any query parameter is a 400 naming it, as elsewhere. */
export function rejectParameters(q: Queries): void {
  const name = Object.keys(q)[0];
  if (name !== undefined) throw badParameter(name, 'is not a parameter here (this endpoint takes none)');
}

/** Parses a comma-separated list of report parts (`parts=summary,minutes`). */
export function parseParts(q: Queries, name = 'parts'): ReportPart[] | undefined {
  const text = single(q, name);
  if (text === undefined) return undefined;
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of parts) {
    if (!(REPORT_PARTS as readonly string[]).includes(p))
      throw badParameter(name, `"${p}" is not one of ${REPORT_PARTS.join(', ')}`);
  }
  if (parts.length === 0) throw badParameter(name, `must list at least one of ${REPORT_PARTS.join(', ')}`);
  return parts as ReportPart[];
}

/** Reads a one-of parameter. */
export function parseChoice<T extends string>(
  q: Queries,
  name: string,
  choices: readonly T[],
): T | undefined {
  const text = single(q, name);
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text))
    throw badParameter(name, `must be one of ${choices.join(', ')}`);
  return text as T;
}

/** The same local wall-clock time `days` days away in `tz` (a week earlier across DST stays at the same local hour). */
export function shiftLocalDays(ms: number, tz: string, days: number): number {
  const local = localTime(ms, tz);
  const wall = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
  const rest = ms - Math.floor(ms / 60_000) * 60_000;
  return (
    zonedTimeToUtc(
      {
        year: wall.getUTCFullYear(),
        month: wall.getUTCMonth() + 1,
        day: wall.getUTCDate(),
        hour: Math.floor(local.minuteOfDay / 60),
        minute: local.minuteOfDay % 60,
      },
      tz,
    ) + rest
  );
}
