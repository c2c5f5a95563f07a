import {
  type Audience,
  type AudienceOf,
  type Basis,
  type BreakdownDimension,
  DEFAULT_LEFT_RUNNING_S,
  type ExclusionReason,
  originOnlyAudience,
  type SessionClass,
  UNKNOWN_GROUP,
} from './audience.js';
import { bucketStart, isoTime, MINUTE_MS, QUARTER_HOUR_MS } from './clock.js';
import type { Daypart } from './daypart.js';
import type { ListenEvent } from './event.js';
import { EventStore } from './event-store.js';
import { type ReportSummary, summarizeTotals } from './metrics.js';
import { dataExtent, periodMinuteTest, periodQuarterHours, resolvePeriod } from './period.js';
import {
  type CountSettings,
  DEFAULT_SESSION_SETTINGS,
  type FinalizedRuns,
  finalizeSessionId,
  type PlacedSession,
  type Session,
  type SessionSettings,
} from './sessions.js';

/** Every setting that shapes a report, in seconds (DESIGN sections 3 and 4). */
export interface ReportSettings extends SessionSettings, CountSettings {
  /**
   * Seconds a session must have in a quarter-hour to count in that QH's audience. Default 300 s
   * (5 minutes: Triton Webcast Metrics, legacy Nielsen diary rule; Nielsen PPM moved to 180 s in 2025).
   */
  aqhQualifierS: number;
  /**
   * Sessions with at least this much listening (seconds) look like streams left running: counted
   * apart in the summary (`leftRunning`), not removed. Default 28800 (8 h).
   */
  leftRunningS: number;
}

/**
 * Default report settings: idle 300 s, max session 86400 s, min session 60 s, AQH qualifier 300 s,
 * left running from 8 h.
 */
export const DEFAULT_REPORT_SETTINGS: Readonly<ReportSettings> = {
  ...DEFAULT_SESSION_SETTINGS,
  aqhQualifierS: 300,
  leftRunningS: DEFAULT_LEFT_RUNNING_S,
};

/** What a report covers and how it is computed. */
export interface ReportOptions extends Partial<ReportSettings> {
  /** Period start, epoch ms, inclusive. Default: the first quarter-hour with data ({@link resolvePeriod}). */
  from?: number;
  /** Period end, epoch ms (exclusive). Default: the end of the last quarter-hour with data (likewise). */
  to?: number;
  /** IANA time zone of the report. Default `UTC`. */
  tz?: string;
  /**
   * Only quarter-hours and minutes whose local start falls in this daypart count in `minutes`,
   * `quarterHours` and `summary`; the `sessions` list ignores it (see {@link Report.sessions}).
   */
  daypart?: Daypart | null;
  /** Only sessions of these streams (by session `stream`). Default: all. */
  streams?: readonly string[];
  /** `net` (humans only, the default) or `gross` (every counted session, bots and relays too). */
  basis?: Basis;
  /**
   * How a session's class and client are decided from its first user agent and IP origin. Default
   * {@link originOnlyAudience}; the CLI and the worker use `@earshot/audience`'s rules.
   */
  audience?: AudienceOf;
  /** Also break the summary figures down by this dimension ({@link Report.breakdown}). */
  by?: BreakdownDimension | null;
}

/**
 * The settings a report was made with (DESIGN section 7), so that every figure can be read with the
 * rules that shaped it: times ISO-8601 UTC with milliseconds, durations in seconds.
 */
export interface ReportConfig {
  /** Period start, inclusive, ISO-8601 UTC: as asked, else the start of the first quarter-hour with data. */
  from: string;
  /** Period end, exclusive, ISO-8601 UTC: as asked, else the end of the last quarter-hour with data. */
  to: string;
  /** IANA time zone the period's local days and dayparts are read in (`UTC` by default). */
  tz: string;
  /** Daypart spec (`Mon-Fri 06:00-10:00`) or null for the whole period. */
  daypart: string | null;
  /** Gap between consecutive events that ends a session, seconds (DESIGN section 3). Default 300. */
  idle: number;
  /** Listening a session needs to count, seconds (DESIGN section 3). Default 60 (Triton, IAB). */
  minSession: number;
  /**
   * Seconds a session needs in a quarter-hour to count in that QH's audience (DESIGN section 4).
   * Default 300 (Triton, legacy Nielsen); 180 is Nielsen PPM's rule since 2025; 0 counts any listening.
   */
  aqhQualifier: number;
  /**
   * Time after a session's first event from which an event starts a new session, seconds (DESIGN
   * section 3). Default 86400 (24 h).
   */
  maxSession: number;
  /** `net`: humans only (IAB, Triton); `gross`: every counted session. */
  basis: Basis;
  /** Listening from which a session counts as left running (summary `leftRunning`), seconds. Default 28800. */
  leftRunning: number;
  /** The dimension of `breakdown`, or null. */
  by: BreakdownDimension | null;
}

/** A counted session as reports show it (DESIGN section 3): times ISO-8601 UTC, durations seconds. */
export interface ReportSession {
  /** Session id; several sessions share one when a listener comes back after `idle`. */
  session: string;
  /** `stream` of its first event: the HLS stream-group key or the Shoutcast stream key. */
  stream: string;
  /** `time` of its first event, ISO-8601 UTC with milliseconds. */
  start: string;
  /** `time` of its last event, ISO-8601 UTC with milliseconds. */
  end: string;
  /** `end - start`, seconds. */
  elapsed: number;
  /** Listening time: the sum of its events' `duration` (delivered audio; pauses do not count), seconds. */
  duration: number;
  /** Sum of its events' `bytes`, bytes. */
  bytes: number;
  /** First non-empty `listener` key of its events, or null when none carried one. */
  listener: string | null;
  /** `output` of its first event. */
  output: string;
  /** `human`, or why it is left out of net figures (`bot`, `relay`, `monitor`). */
  class: SessionClass;
  /** Country of its first event's IP (ISO 3166-1 alpha-2), or null. */
  country: string | null;
  /** Device type, OS and player of its first user agent (`unknown` when not known). */
  device: string;
  os: string;
  player: string;
}

/** One group of a breakdown: the summary figures of the sessions whose dimension has this value. */
export type BreakdownRow = Omit<ReportSummary, 'stream'> & {
  /** The value (`US`, `mobile`, `VLC`, `hls`...; `unknown` when the session lacks it). */
  group: string;
};

/** One minute of one stream (DESIGN section 4, minute series), over counted sessions. */
export interface ReportMinute {
  /** Session `stream`. */
  stream: string;
  /** Minute start, ISO-8601 UTC with milliseconds. */
  minute: string;
  /** Average concurrent listeners: listening seconds placed in the minute / 60 (sessions, fractional). */
  listeners: number;
  /** Distinct sessions with listening seconds in the minute. */
  sessions: number;
}

/** One quarter-hour of one stream (DESIGN section 4), over counted sessions. */
export interface ReportQuarterHour {
  /** Session `stream`. */
  stream: string;
  /** Quarter-hour start (`:00 :15 :30 :45`), ISO-8601 UTC with milliseconds. */
  start: string;
  /**
   * Sessions with at least `aqhQualifier` seconds in this QH, each judged in this QH on its own: the
   * QH's contribution to AQH (Triton, Nielsen).
   */
  qualified: number;
  /** Listening seconds placed in the QH. */
  seconds: number;
}

/** The one report shape (DESIGN section 7): the API returns it, the dashboard draws it, the CLI prints it. */
export interface Report {
  /** The period and settings that shaped every figure below. */
  config: ReportConfig;
  /**
   * Counted sessions whose `start` is in `[from, to)`, by stream, start, session, whatever the
   * daypart: a session that starts outside the daypart is listed too (only its listening inside the
   * daypart counts in `minutes`, `quarterHours` and `summary`), and one that started before `from`
   * is not (though its listening in the period counts).
   */
  sessions: ReportSession[];
  /** Every minute in `[from, to)` (and in the daypart) with listening, by stream, minute. */
  minutes: ReportMinute[];
  /** Every quarter-hour of the period (daypart applied) with listening, by stream, start. */
  quarterHours: ReportQuarterHour[];
  /** One row per stream with listening in the period's quarter-hours (daypart applied), by stream. */
  summary: ReportSummary[];
  /**
   * With `by`: the summary figures of all selected streams together, one row per value of the
   * dimension with listening in the period, by value; empty otherwise.
   */
  breakdown: BreakdownRow[];
}

/**
 * The config a report echoes (DESIGN section 7): its period, zone and daypart, and the settings that
 * shaped it, in seconds. Every report (offline or from the database) states them the same way.
 */
export function reportConfig(
  period: {
    from: number;
    to: number;
    tz: string;
    daypart: Daypart | null;
    basis?: Basis | undefined;
    by?: BreakdownDimension | null | undefined;
  },
  settings: ReportSettings,
): ReportConfig {
  return {
    from: isoTime(period.from),
    to: isoTime(period.to),
    tz: period.tz,
    daypart: period.daypart ? period.daypart.spec : null,
    idle: settings.idleS,
    minSession: settings.minSessionS,
    aqhQualifier: settings.aqhQualifierS,
    maxSession: settings.maxSessionS,
    basis: period.basis ?? 'net',
    leftRunning: settings.leftRunningS,
    by: period.by ?? null,
  };
}

/** The settings given, each missing one set to its default ({@link DEFAULT_REPORT_SETTINGS}), in seconds. */
export function resolveSettings(options: Partial<ReportSettings>): ReportSettings {
  return {
    idleS: options.idleS ?? DEFAULT_REPORT_SETTINGS.idleS,
    maxSessionS: options.maxSessionS ?? DEFAULT_REPORT_SETTINGS.maxSessionS,
    minSessionS: options.minSessionS ?? DEFAULT_REPORT_SETTINGS.minSessionS,
    aqhQualifierS: options.aqhQualifierS ?? DEFAULT_REPORT_SETTINGS.aqhQualifierS,
    leftRunningS: options.leftRunningS ?? DEFAULT_REPORT_SETTINGS.leftRunningS,
  };
}

/** A session's value for a breakdown dimension (`unknown` when the session lacks it). */
export function groupValue(by: BreakdownDimension, session: Session, audience: Audience): string {
  switch (by) {
    case 'country':
      return session.country ?? UNKNOWN_GROUP;
    case 'output':
      return session.output;
    case 'class':
      return audience.class;
    default:
      return audience[by] || UNKNOWN_GROUP;
  }
}

/** What a report sums for one stream (or one breakdown group) over the period's quarter-hours. */
interface Tally {
  ms: number;
  active: number;
  starts: number;
  qualified: number;
  listeners: Set<string>;
  excluded: Record<ExclusionReason, number>;
  leftRunning: number;
}

const newTally = (): Tally => ({
  ms: 0,
  active: 0,
  starts: 0,
  qualified: 0,
  listeners: new Set(),
  excluded: { bot: 0, relay: 0, monitor: 0 },
  leftRunning: 0,
});

function tallyOf(tallies: Map<string, Tally>, key: string): Tally {
  let tally = tallies.get(key);
  if (!tally) {
    tally = newTally();
    tallies.set(key, tally);
  }
  return tally;
}

/** The summary rows of some tallies: keys with listening, by key. */
function summarize(tallies: Map<string, Tally>, qhCount: number): ReportSummary[] {
  const out: ReportSummary[] = [];
  for (const [stream, t] of [...tallies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (t.ms === 0) continue;
    out.push(
      summarizeTotals({
        stream,
        listeningMs: t.ms,
        qualified: t.qualified,
        quarterHours: qhCount,
        activeSessions: t.active,
        sessionStarts: t.starts,
        cume: t.listeners.size,
        excluded: t.excluded,
        leftRunning: t.leftRunning,
      }),
    );
  }
  return out;
}

/** Summary rows of a breakdown, keyed by `group` instead of `stream`. */
export function breakdownRows(summary: readonly ReportSummary[]): BreakdownRow[] {
  return summary.map(({ stream, ...rest }) => ({ group: stream, ...rest }));
}

/**
 * Assembles the section 7 report from counted sessions and their placed listening (see
 * {@link finalizeRuns}). All sums are in integer milliseconds, so the result does not depend on the
 * order of `facts`. Net (the default) counts human sessions only; gross counts every session; both
 * count the non-human active sessions by reason in the summary's `excluded*` fields.
 */
export function assembleReport(facts: readonly PlacedSession[], options: ReportOptions = {}): Report {
  const settings = resolveSettings(options);
  const tz = options.tz ?? 'UTC';
  const daypart = options.daypart ?? null;
  const basis = options.basis ?? 'net';
  const by = options.by ?? null;
  const audienceOf = options.audience ?? originOnlyAudience;
  const streams = options.streams && options.streams.length > 0 ? new Set(options.streams) : undefined;
  const selected = streams ? facts.filter((f) => streams.has(f.session.stream)) : facts;
  const extent = options.from === undefined || options.to === undefined ? dataExtent(selected) : undefined;
  const { from, to } = resolvePeriod(options, extent);

  const qhList = periodQuarterHours(from, to, tz, daypart);
  const qhSet = new Set(qhList);
  const minuteIncluded = periodMinuteTest(from, to, tz, daypart);

  const qualifierMs = Math.round(settings.aqhQualifierS * 1000);
  const leftRunningMs = Math.round(settings.leftRunningS * 1000);
  // Rows by stream, then by bucket start: numeric inner keys keep the hot loop free of string building.
  const minuteRows = new Map<
    string,
    Map<number, { stream: string; minute: number; ms: number; sessions: number }>
  >();
  const qhRows = new Map<
    string,
    Map<number, { stream: string; start: number; ms: number; qualified: number }>
  >();
  const inner = <V>(outer: Map<string, Map<number, V>>, stream: string): Map<number, V> => {
    let map = outer.get(stream);
    if (!map) {
      map = new Map();
      outer.set(stream, map);
    }
    return map;
  };
  const totals = new Map<string, Tally>();
  const groups = new Map<string, Tally>();
  const sessions: { session: Session; audience: Audience }[] = [];

  for (const { session, minutes, quarterHours } of selected) {
    const stream = session.stream;
    const audience = audienceOf({ ua: session.ua, origin: session.origin });
    let sessionMs = 0;
    let qualifiedQhs = 0;
    quarterHours.forEach((ms, qh) => {
      if (ms <= 0 || !qhSet.has(qh)) return;
      sessionMs += ms;
      if (ms >= qualifierMs) qualifiedQhs += 1;
    });
    const group = by === null ? undefined : groupValue(by, session, audience);
    const human = audience.class === 'human';
    if (!human && basis === 'net') {
      if (sessionMs > 0) {
        tallyOf(totals, stream).excluded[audience.class as ExclusionReason] += 1;
        if (group !== undefined) tallyOf(groups, group).excluded[audience.class as ExclusionReason] += 1;
      }
      continue;
    }
    if (session.start >= from && session.start < to) sessions.push({ session, audience });
    const streamMinutes = inner(minuteRows, stream);
    minutes.forEach((ms, minute) => {
      if (ms <= 0 || !minuteIncluded(minute)) return;
      const row = streamMinutes.get(minute);
      if (row) {
        row.ms += ms;
        row.sessions += 1;
      } else streamMinutes.set(minute, { stream, minute, ms, sessions: 1 });
    });
    const streamQhs = inner(qhRows, stream);
    quarterHours.forEach((ms, qh) => {
      if (ms <= 0 || !qhSet.has(qh)) return;
      const qualified = ms >= qualifierMs ? 1 : 0;
      const row = streamQhs.get(qh);
      if (row) {
        row.ms += ms;
        row.qualified += qualified;
      } else streamQhs.set(qh, { stream, start: qh, ms, qualified });
    });
    const startsHere = qhSet.has(bucketStart(session.start, QUARTER_HOUR_MS));
    if (sessionMs === 0 && !startsHere) continue;
    for (const tally of group === undefined
      ? [tallyOf(totals, stream)]
      : [tallyOf(totals, stream), tallyOf(groups, group)]) {
      if (startsHere) tally.starts += 1;
      if (sessionMs === 0) continue;
      tally.ms += sessionMs;
      tally.active += 1;
      tally.qualified += qualifiedQhs;
      tally.listeners.add(session.listener ?? `session:${session.session}`);
      if (!human) tally.excluded[audience.class as ExclusionReason] += 1;
      if (Math.round(session.duration * 1000) >= leftRunningMs) tally.leftRunning += 1;
    }
  }

  const qhCount = qhList.length;
  const byStreamThen = <T extends { stream: string }>(a: T, b: T, at: number, bt: number) =>
    a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : at - bt;

  sessions.sort(
    (a, b) =>
      byStreamThen(a.session, b.session, a.session.start, b.session.start) ||
      (a.session.session < b.session.session ? -1 : a.session.session > b.session.session ? 1 : 0),
  );

  return {
    config: reportConfig({ from, to, tz, daypart, basis, by }, settings),
    sessions: sessions.map((s) => toReportSession(s.session, s.audience)),
    minutes: [...minuteRows.values()]
      .flatMap((rows) => [...rows.values()])
      .sort((a, b) => byStreamThen(a, b, a.minute, b.minute))
      .map((r) => ({
        stream: r.stream,
        minute: isoTime(r.minute),
        listeners: r.ms / MINUTE_MS,
        sessions: r.sessions,
      })),
    quarterHours: [...qhRows.values()]
      .flatMap((rows) => [...rows.values()])
      .sort((a, b) => byStreamThen(a, b, a.start, b.start))
      .map((r) => ({
        stream: r.stream,
        start: isoTime(r.start),
        qualified: r.qualified,
        seconds: r.ms / 1000,
      })),
    summary: summarize(totals, qhCount),
    breakdown: by === null ? [] : breakdownRows(summarize(groups, qhCount)),
  };
}

/** A session as reports show it: times ISO-8601 UTC with milliseconds. */
export function toReportSession(session: Session, audience: Audience): ReportSession {
  return {
    session: session.session,
    stream: session.stream,
    start: isoTime(session.start),
    end: isoTime(session.end),
    elapsed: session.elapsed,
    duration: session.duration,
    bytes: session.bytes,
    listener: session.listener,
    output: session.output,
    class: audience.class,
    country: session.country,
    device: audience.device,
    os: audience.os,
    player: audience.player,
  };
}

/**
 * Builds a report from raw listen events, incrementally: `add` events in any order (duplicates
 * allowed), then `finish`. Every event is kept in an {@link EventStore} (typed-array columns, about
 * 50 bytes an event; `ip` dropped; streams, listener keys and client facts interned) for as long as the
 * builder lives: `finish` cuts, counts and places each session id's events but frees nothing, so
 * memory grows with the events added, not with the sessions open.
 */
export class ReportBuilder {
  private readonly store = new EventStore();
  private readonly options: ReportOptions;

  constructor(options: ReportOptions = {}) {
    this.options = options;
  }

  /** Events added so far (duplicates included). */
  get size(): number {
    return this.store.size;
  }

  /** Makes room for about `events` events at once (an estimate saves growing and copying). */
  reserve(events: number): void {
    this.store.reserve(events);
  }

  /** Adds one valid event (see `parseEvent`). Its `ip` is not kept (enrich the event first). */
  add(event: ListenEvent): void {
    this.store.add(event);
  }

  /**
   * Cuts, counts and places every session id's events (the same result each call: the events stay
   * in the store).
   */
  finalize(): FinalizedRuns {
    const settings = resolveSettings(this.options);
    const result: FinalizedRuns = { counted: [], short: [] };
    for (const session of this.store.sessions.keys()) {
      const done = finalizeSessionId(this.store.events(session), settings);
      for (const fact of done.counted) result.counted.push(fact);
      for (const short of done.short) result.short.push(short);
    }
    return result;
  }

  /** The section 7 report of everything added. */
  finish(): Report {
    return assembleReport(this.finalize().counted, this.options);
  }
}

/** The section 7 report of a set of listen events (any order, duplicates allowed). */
export function buildReport(events: Iterable<ListenEvent>, options: ReportOptions = {}): Report {
  const builder = new ReportBuilder(options);
  for (const event of events) builder.add(event);
  return builder.finish();
}
