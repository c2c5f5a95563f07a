import { parseArgs } from 'node:util';
import { type AgentRules, type IpRanges, parseAgentPatterns, parseIpRanges } from '@earshot/audience';
import {
  BREAKDOWN_DIMENSIONS,
  type Daypart,
  isValidTimeZone,
  parseReportTime,
  type ReportOptions,
  resolveDaypart,
} from '@earshot/core';
import type { Env } from './env.js';
import { UsageError } from './errors.js';

export const FORMATS = ['table', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];
export const CSV_PARTS = [
  'sessions',
  'minutes',
  'quarterHours',
  'summary',
  'breakdown',
  'plays',
  'songs',
  'shows',
  'ath',
] as const;
/** CSV parts that come from the track figures (they need --tracks). */
export const TRACK_CSV_PARTS: readonly CsvPart[] = ['plays', 'songs', 'shows', 'ath'];
export type CsvPart = (typeof CSV_PARTS)[number];

/** Everything `earshot report` was asked to do, validated. */
export interface ReportRequest {
  /** NDJSON event file (`-` = stdin), or undefined for the database mode. */
  events: string | undefined;
  /** NDJSON track-event file (`-` = stdin): the report gets the track figures (DESIGN section 9). */
  tracks: string | undefined;
  /** Seconds of listening inside a play that make a performance; 0 = any listening. */
  performanceMinS: number;
  options: ReportOptions & { tz: string };
  daypart: Daypart | null;
  /** The user-agent rules that classify sessions offline (the worker's, from the environment). */
  agents: AgentRules;
  /** Relay and monitor IP ranges applied offline to events that carry an `ip` (as ingest does). */
  ranges: IpRanges;
  /** Which of the classification options were given on the command line (the database refuses them). */
  classificationOptions: string[];
  format: Format;
  part: CsvPart;
  skipInvalid: boolean;
  /** Reader threads; undefined: by file size and cores. */
  threads: number | undefined;
  help: boolean;
}

export const REPORT_HELP = `Usage: earshot report [--events FILE.ndjson] [options]

Listener report (DESIGN section 7): sessions, listeners per minute, quarter-hours, and per stream
AQH, cume, TLH, AAS, ATSL, TSL. Offline from an NDJSON export of listen events (one JSON event per
line; FILE may end in .gz; - reads stdin), or without --events from the database the worker fills
(DATABASE_URL, else the embedded database in EARSHOT_DATA_DIR, default ./.earshot). From the
database, --idle, --min-session and --max-session must be the worker's (sessions are cut when
finalized); --aqh-qualifier may be anything.

The session list (--format json, --part sessions) holds the counted sessions that start in
[--from, --to), whatever --daypart; minutes, quarter-hours and the summary count only the listening
inside the daypart's quarter-hours.

Options:
  --events FILE         NDJSON event file (.gz read as gzip, - for stdin); omit it to read the database
  --from TIME           period start, inclusive (ISO-8601; without a zone, read in --tz)
  --to TIME             period end, exclusive (default: the quarter-hours with data)
  --tz ZONE             IANA time zone of the report (env EARSHOT_TZ, default UTC)
  --daypart DAYPART     "Mon-Fri 06:00-10:00" or a standard daypart's name:
                        "Mon-Sun 6a-12m", "AM drive", "Midday", "PM drive", "Evening", "Overnight"
  --stream KEY          only sessions of this stream (repeatable)
  --idle S              idle gap that ends a session, seconds (env EARSHOT_IDLE_S, default 300)
  --min-session S       shortest session that counts, seconds (env EARSHOT_MIN_SESSION_S, default 60)
  --aqh-qualifier S     seconds in a quarter-hour to count in it, 0..900, 0 = any listening
                        (env EARSHOT_AQH_QUALIFIER_S, default 300)
  --max-session S       longest session, seconds (env EARSHOT_MAX_SESSION_S, default 86400)
  --gross               count every session: bots, relays and the station's monitoring too
                        (default: net, humans only, as the IAB and Triton report)
  --by DIMENSION        also break the summary down by country, device, os, player, output or class
  --left-running S      listening from which a session looks left running, counted apart
                        (default 28800, 8 h)
  --bot-agents LIST     user agents of bots beside isbot's list: comma-separated substrings or
                        /regex/ (env EARSHOT_BOT_AGENTS); --relay-agents, --monitor-agents likewise
  --relay-ips LIST      IP ranges of relays (CIDR or addresses, env EARSHOT_RELAY_IPS);
                        --monitor-ips likewise: applied to events that carry an ip
  --format FORMAT       table (default), json (the DESIGN section 7 shape) or csv
  --part PART           with --format csv: summary (default; breakdown with --by), sessions, minutes,
                        quarterHours, breakdown, or with --tracks plays, songs, shows or ath
  --tracks FILE         NDJSON track events (what each stream plays from when, DESIGN section 9;
                        .gz read as gzip): adds per play listeners at start, performances, TLH,
                        tune-outs and a tune-out index, per song totals and ATH per month
                        (json: "tracks"; csv: --part plays, songs, shows or ath; table: a Tracks section);
                        plays cover the whole period, whatever --daypart
  --performance-min S   listening inside a play that makes a performance, seconds (default 0:
                        any listening, as SoundExchange counts)
  --skip-invalid        skip malformed lines (counted on stderr) instead of failing
  --threads N           reader threads (default: one per core, up to 4, for files over 16 MB)
  -h, --help            this help

Exit codes: 0 done, 1 bad input data, 2 bad options.
Example: earshot report --events samples/station.ndjson.gz --tz America/New_York --daypart "AM drive"`;

function seconds(
  option: string,
  text: string | undefined,
  fallback: number | undefined,
  rule: 'positive' | 'nonnegative',
): number | undefined {
  if (text === undefined) return fallback;
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`--${option}: "${text}" is not a number of seconds`);
  if (rule === 'positive' && value <= 0)
    throw new UsageError(`--${option}: must be more than 0 seconds, got ${text}`);
  if (rule === 'nonnegative' && value < 0)
    throw new UsageError(`--${option}: must be 0 seconds or more, got ${text}`);
  return value;
}

function oneOf<T extends string>(
  option: string,
  text: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  const found = allowed.find((a) => a.toLowerCase() === text.toLowerCase());
  if (!found) throw new UsageError(`--${option}: "${text}" is not one of ${allowed.join(', ')}`);
  return found;
}

/** node:util parseArgs errors, reworded to name the option in one line. */
function explainParseError(error: unknown, command: string): UsageError {
  const err = error as { code?: string; message?: string };
  const message = err.message ?? String(error);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(
        `unknown option ${option ?? ''} (see earshot ${command} --help)`.replace('  ', ' '),
      );
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(option ? `${option}: needs a value` : message);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(
        `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''} (options take the form --name value)`,
      );
    default:
      return new UsageError(message);
  }
}

/** Parses and validates `earshot report` arguments; throws {@link UsageError} naming the bad option. */
export function parseReportArgs(args: readonly string[], env: Env): ReportRequest {
  return parseRequest(args, env, 'report').request;
}

/** Parses `earshot report` (or `soundexchange`) arguments: the request, and the raw values. */
export function parseRequest(
  args: readonly string[],
  env: Env,
  command: 'report' | 'soundexchange',
): { request: ReportRequest; values: ReturnType<typeof parse>['values'] } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args, command);
  } catch (error) {
    throw explainParseError(error, command);
  }
  const v = parsed.values;
  const base = {
    tracks: undefined,
    performanceMinS: 0,
    format: 'table' as Format,
    part: 'summary' as CsvPart,
    skipInvalid: false,
    daypart: null,
    threads: undefined,
    agents: { botAgents: [], relayAgents: [], monitorAgents: [] },
    ranges: { relay: [], monitor: [] },
    classificationOptions: [],
  };
  if (v.help)
    return { request: { ...base, events: undefined, options: { tz: 'UTC' }, help: true }, values: v };

  const tz = v.tz ?? env.EARSHOT_TZ ?? 'UTC';
  if (!isValidTimeZone(tz)) {
    throw new UsageError(
      `--tz: "${tz}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  }
  const time = (option: 'from' | 'to'): number | undefined => {
    const text = v[option];
    if (text === undefined) return undefined;
    const result = parseReportTime(text.trim(), tz);
    if (!result.ok) throw new UsageError(`--${option}: ${result.reason}`);
    return result.ms;
  };
  const from = time('from');
  const to = time('to');
  if (from !== undefined && to !== undefined && to <= from) {
    throw new UsageError(`--to: must be after --from (${v.from} .. ${v.to})`);
  }
  let daypart: Daypart | null = null;
  if (v.daypart !== undefined) {
    const result = resolveDaypart(v.daypart);
    if (!result.ok) throw new UsageError(`--daypart: ${result.reason}`);
    daypart = result.daypart;
  }
  const streams = (v.stream ?? []).map((s) => s.trim());
  const empty = streams.find((s) => s === '');
  if (empty !== undefined) throw new UsageError('--stream: needs a stream key');

  // 0 is a real setting (any listening in a QH qualifies), as the reports API accepts it.
  const aqhQualifierS = seconds(
    'aqh-qualifier',
    v['aqh-qualifier'],
    env.EARSHOT_AQH_QUALIFIER_S,
    'nonnegative',
  );
  if (aqhQualifierS !== undefined && aqhQualifierS > 900) {
    // Blame where the value came from: the option beats the environment.
    throw new UsageError(
      v['aqh-qualifier'] === undefined
        ? `bad environment: EARSHOT_AQH_QUALIFIER_S="${aqhQualifierS}" must be at most 900 (a quarter-hour has 900 seconds)`
        : `--aqh-qualifier: a quarter-hour has 900 seconds, got ${aqhQualifierS}`,
    );
  }
  const format = oneOf('format', v.format, FORMATS, 'table');
  if (v.part !== undefined && format !== 'csv') throw new UsageError('--part: only applies to --format csv');
  const by = v.by === undefined ? null : oneOf('by', v.by, BREAKDOWN_DIMENSIONS, 'country');
  const part = oneOf('part', v.part, CSV_PARTS, by === null ? 'summary' : 'breakdown');
  if (TRACK_CSV_PARTS.includes(part) && v.tracks === undefined)
    throw new UsageError(`--part ${part}: needs --tracks FILE.ndjson (track events)`);
  if (part === 'breakdown' && by === null)
    throw new UsageError('--part breakdown: needs --by country|device|os|player|output|class');
  const leftRunningS = seconds('left-running', v['left-running'], undefined, 'positive');
  const list = <T>(
    option: string,
    parse: (text: string | undefined, source?: string) => T,
    fallback: T,
  ): T => {
    const text = v[option as keyof typeof v] as string | undefined;
    if (text === undefined) return fallback;
    try {
      return parse(text, `--${option}`);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  };
  const agents: AgentRules = {
    botAgents: list('bot-agents', parseAgentPatterns, env.EARSHOT_BOT_AGENTS ?? []),
    relayAgents: list('relay-agents', parseAgentPatterns, env.EARSHOT_RELAY_AGENTS ?? []),
    monitorAgents: list('monitor-agents', parseAgentPatterns, env.EARSHOT_MONITOR_AGENTS ?? []),
  };
  const ranges: IpRanges = {
    relay: list('relay-ips', parseIpRanges, env.EARSHOT_RELAY_IPS ?? []),
    monitor: list('monitor-ips', parseIpRanges, env.EARSHOT_MONITOR_IPS ?? []),
  };
  const classificationOptions = [
    'bot-agents',
    'relay-agents',
    'monitor-agents',
    'relay-ips',
    'monitor-ips',
  ].filter((o) => v[o as keyof typeof v] !== undefined);

  const options: ReportRequest['options'] = { tz, daypart, basis: v.gross ? 'gross' : 'net', by };
  if (leftRunningS !== undefined) options.leftRunningS = leftRunningS;
  if (from !== undefined) options.from = from;
  if (to !== undefined) options.to = to;
  if (streams.length > 0) options.streams = streams;
  const idleS = seconds('idle', v.idle, env.EARSHOT_IDLE_S, 'positive');
  const minSessionS = seconds('min-session', v['min-session'], env.EARSHOT_MIN_SESSION_S, 'nonnegative');
  const maxSessionS = seconds('max-session', v['max-session'], env.EARSHOT_MAX_SESSION_S, 'positive');
  if (idleS !== undefined) options.idleS = idleS;
  if (minSessionS !== undefined) options.minSessionS = minSessionS;
  if (maxSessionS !== undefined) options.maxSessionS = maxSessionS;
  if (aqhQualifierS !== undefined) options.aqhQualifierS = aqhQualifierS;

  let threads: number | undefined;
  if (v.threads !== undefined) {
    threads = Number(v.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new UsageError(`--threads: "${v.threads}" is not a whole number from 1 to 64`);
    }
  }

  if (v.events !== undefined && v.events.trim() === '')
    throw new UsageError('--events: needs a file name (or - for stdin)');
  if (v.tracks !== undefined) {
    if (v.tracks.trim() === '') throw new UsageError('--tracks: needs a file name (or - for stdin)');
    if (v.events === undefined)
      throw new UsageError('--tracks: needs --events FILE (track figures are computed offline only)');
    if (v.tracks === '-' && v.events === '-')
      throw new UsageError('--tracks: --events already reads stdin; give one of them a file');
  }
  const performanceMinS = seconds('performance-min', v['performance-min'], 0, 'nonnegative') ?? 0;
  if (v['performance-min'] !== undefined && v.tracks === undefined)
    throw new UsageError('--performance-min: only applies with --tracks');
  const request: ReportRequest = {
    events: v.events,
    tracks: v.tracks,
    performanceMinS,
    options,
    daypart,
    agents,
    ranges,
    classificationOptions,
    format,
    part,
    skipInvalid: v['skip-invalid'] ?? false,
    threads,
    help: false,
  };
  return { request, values: v };
}

const STRING_OPTIONS = new Set([
  '--threads',
  '--from',
  '--to',
  '--idle',
  '--min-session',
  '--aqh-qualifier',
  '--max-session',
  '--left-running',
  '--performance-min',
]);

/** `--min-session -1` reads as two options to parseArgs; join a negative number to its option. */
function joinNegativeNumbers(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (STRING_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function parse(args: readonly string[], command: 'report' | 'soundexchange') {
  const parsed = parseArgs({
    args: joinNegativeNumbers(args),
    strict: true,
    allowPositionals: false,
    options: {
      events: { type: 'string', short: 'e' },
      from: { type: 'string' },
      to: { type: 'string' },
      tz: { type: 'string' },
      daypart: { type: 'string' },
      stream: { type: 'string', multiple: true },
      idle: { type: 'string' },
      'min-session': { type: 'string' },
      'aqh-qualifier': { type: 'string' },
      'max-session': { type: 'string' },
      gross: { type: 'boolean' },
      by: { type: 'string' },
      'left-running': { type: 'string' },
      'bot-agents': { type: 'string' },
      'relay-agents': { type: 'string' },
      'monitor-agents': { type: 'string' },
      'relay-ips': { type: 'string' },
      'monitor-ips': { type: 'string' },
      format: { type: 'string', short: 'f' },
      part: { type: 'string' },
      tracks: { type: 'string', short: 't' },
      'performance-min': { type: 'string' },
      'skip-invalid': { type: 'boolean' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      service: { type: 'string' },
      category: { type: 'string' },
    },
  });
  if (command === 'report') {
    // The report of use's own options; parseArgs cannot vary its option list and keep the types.
    for (const option of ['service', 'category'] as const)
      if (parsed.values[option] !== undefined)
        throw new UsageError(
          `unknown option --${option} (see earshot report --help; earshot soundexchange takes it)`,
        );
  }
  return parsed;
}
