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
  type Session,
  type SessionFacts,
  type SessionSettings,
} from './sessions.js';

/** Every setting that shapes a report, in seconds (DESIGN sections 3 and 4). */
export interface ReportSettings extends SessionSettings, CountSettings {
  /**
   * Seconds a session must have in a quarter-hour to count in that QH's audience. Default 300 s
   * (5 minutes: Triton Webcast Metrics, legacy Nielsen diary rule; Nielsen PPM moved to 180 s in 2025).
   */
  aqhQualifierS: number;
}

/** Default report settings: idle 300 s, max session 86400 s, min session 60 s, AQH qualifier 300 s. */
export const DEFAULT_REPORT_SETTINGS: Readonly<ReportSettings> = {
  ...DEFAULT_SESSION_SETTINGS,
  aqhQualifierS: 300,
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
}

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
}

/**
 * The config a report echoes (DESIGN section 7): its period, zone and daypart, and the settings that
 * shaped it, in seconds. Every report (offline or from the database) states them the same way.
 */
export function reportConfig(
  period: { from: number; to: number; tz: string; daypart: Daypart | null },
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
  };
}

/** The settings given, each missing one set to its default ({@link DEFAULT_REPORT_SETTINGS}), in seconds. */
export function resolveSettings(options: Partial<ReportSettings>): ReportSettings {
  return {
    idleS: options.idleS ?? DEFAULT_REPORT_SETTINGS.idleS,
    maxSessionS: options.maxSessionS ?? DEFAULT_REPORT_SETTINGS.maxSessionS,
    minSessionS: options.minSessionS ?? DEFAULT_REPORT_SETTINGS.minSessionS,
    aqhQualifierS: options.aqhQualifierS ?? DEFAULT_REPORT_SETTINGS.aqhQualifierS,
  };
}

interface StreamTotals {
  ms: number;
  active: number;
  starts: number;
  listeners: Set<string>;
}

/**
 * Assembles the section 7 report from counted sessions and their placed listening (see
 * {@link finalizeRuns}). All sums are in integer milliseconds, so the result does not depend on the
 * order of `facts`.
 */
export function assembleReport(facts: readonly SessionFacts[], options: ReportOptions = {}): Report {
  const settings = resolveSettings(options);
  const tz = options.tz ?? 'UTC';
  const daypart = options.daypart ?? null;
  const streams = options.streams && options.streams.length > 0 ? new Set(options.streams) : undefined;
  const selected = streams ? facts.filter((f) => streams.has(f.session.stream)) : facts;
  const extent = options.from === undefined || options.to === undefined ? dataExtent(selected) : undefined;
  const { from, to } = resolvePeriod(options, extent);

  const qhList = periodQuarterHours(from, to, tz, daypart);
  const qhSet = new Set(qhList);
  const minuteIncluded = periodMinuteTest(from, to, tz, daypart);

  const qualifierMs = Math.round(settings.aqhQualifierS * 1000);
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
  const totals = new Map<string, StreamTotals>();
  const sessions: Session[] = [];

  for (const { session, minutes, quarterHours } of selected) {
    const stream = session.stream;
    if (session.start >= from && session.start < to) sessions.push(session);
    const streamMinutes = inner(minuteRows, stream);
    for (const [minute, ms] of minutes) {
      if (ms <= 0 || !minuteIncluded(minute)) continue;
      const row = streamMinutes.get(minute);
      if (row) {
        row.ms += ms;
        row.sessions += 1;
      } else streamMinutes.set(minute, { stream, minute, ms, sessions: 1 });
    }
    const streamQhs = inner(qhRows, stream);
    let sessionMs = 0;
    for (const [qh, ms] of quarterHours) {
      if (ms <= 0 || !qhSet.has(qh)) continue;
      sessionMs += ms;
      const qualified = ms >= qualifierMs ? 1 : 0;
      const row = streamQhs.get(qh);
      if (row) {
        row.ms += ms;
        row.qualified += qualified;
      } else streamQhs.set(qh, { stream, start: qh, ms, qualified });
    }
    const startsHere = qhSet.has(bucketStart(session.start, QUARTER_HOUR_MS));
    if (sessionMs === 0 && !startsHere) continue;
    let total = totals.get(stream);
    if (!total) {
      total = { ms: 0, active: 0, starts: 0, listeners: new Set() };
      totals.set(stream, total);
    }
    if (startsHere) total.starts += 1;
    if (sessionMs > 0) {
      total.ms += sessionMs;
      total.active += 1;
      total.listeners.add(session.listener ?? `session:${session.session}`);
    }
  }

  const qhCount = qhList.length;
  const qualifiedByStream = new Map<string, number>();
  for (const [stream, rows] of qhRows) {
    let qualified = 0;
    for (const row of rows.values()) qualified += row.qualified;
    qualifiedByStream.set(stream, qualified);
  }

  const summary: ReportSummary[] = [];
  for (const [stream, total] of [...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (total.ms === 0) continue;
    summary.push(
      summarizeTotals({
        stream,
        listeningMs: total.ms,
        qualified: qualifiedByStream.get(stream) ?? 0,
        quarterHours: qhCount,
        activeSessions: total.active,
        sessionStarts: total.starts,
        cume: total.listeners.size,
      }),
    );
  }

  const byStreamThen = <T extends { stream: string }>(a: T, b: T, at: number, bt: number) =>
    a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : at - bt;

  sessions.sort(
    (a, b) =>
      byStreamThen(a, b, a.start, b.start) || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0),
  );

  return {
    config: reportConfig({ from, to, tz, daypart }, settings),
    sessions: sessions.map(toReportSession),
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
    summary,
  };
}

/** A session as reports show it: times ISO-8601 UTC with milliseconds. */
export function toReportSession(session: Session): ReportSession {
  return {
    session: session.session,
    stream: session.stream,
    start: isoTime(session.start),
    end: isoTime(session.end),
    elapsed: session.elapsed,
    duration: session.duration,
    bytes: session.bytes,
    listener: session.listener,
  };
}

/**
 * Builds a report from raw listen events, incrementally: `add` events in any order (duplicates
 * allowed), then `finish`. Every event is kept in an {@link EventStore} (typed-array columns, about
 * 50 bytes an event; `ua` and `ip` dropped; streams and listener keys interned) for as long as the
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

  /** Adds one valid event (see `parseEvent`). Client facts (`ua`, `ip`) are not kept. */
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
