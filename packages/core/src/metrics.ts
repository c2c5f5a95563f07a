/**
 * Headline figures of one stream over the period's quarter-hours, daypart applied (DESIGN section 4).
 * "Listening seconds" are those of counted sessions placed inside those quarter-hours.
 */
export interface ReportSummary {
  /** Session `stream`. */
  stream: string;
  /**
   * Quarter-hours of the period: those starting in `[from, to)` and, with a daypart, whose local
   * start falls in it; empty ones included. A local day has 96, its DST days 92 or 100 (Nielsen).
   */
  quarterHours: number;
  /**
   * Average quarter-hour audience, sessions: for each QH of the period, the sessions with at least
   * `aqhQualifier` seconds in it; summed, / `quarterHours` (empty QHs included). Triton Webcast
   * Metrics and Nielsen (qualifier 300 s; Nielsen PPM 180 s since 2025).
   */
  aqh: number;
  /** Average active sessions (AAS), sessions: listening seconds / (`quarterHours` x 900 s). Triton. */
  aas: number;
  /** Total listening hours (TLH), hours: listening seconds / 3600. Triton. */
  tlh: number;
  /**
   * Cume, listeners: distinct `listener` keys among the active sessions, a session without one
   * counted by its session id. Nielsen, Triton.
   */
  cume: number;
  /** Active sessions (AS), sessions: sessions with listening seconds in the period. Triton. */
  activeSessions: number;
  /** Session starts (SS), sessions: sessions whose `start` lies in one of the period's QHs. Triton. */
  sessionStarts: number;
  /**
   * Average time spent listening (ATSL) per session, seconds: listening seconds / `activeSessions`.
   * Triton Webcast Metrics.
   */
  atsl: number;
  /**
   * Time spent listening (TSL) per listener, hours: `tlh` / `cume`. The measured counterpart of
   * Nielsen's TSL (`tslNielsen`), from every second of listening rather than qualified QHs.
   */
  tsl: number;
  /**
   * Nielsen TSL, hours: `aqh` x `quarterHours` x 0.25 / `cume` (Nielsen's formula: the average
   * audience's quarter-hours, in hours, per cume listener).
   */
  tslNielsen: number;
  /** Active sessions classified as bots (user agent), counted in gross figures only. */
  excludedBot: number;
  /** Active sessions from relays (IP range or agent), counted in gross figures only. */
  excludedRelay: number;
  /** Active sessions of the station's own monitoring (IP range or agent), counted in gross figures only. */
  excludedMonitor: number;
  /**
   * Of the active sessions counted here, those with at least `leftRunning` seconds of listening
   * (streams that look left running: kept in the figures, reported apart).
   */
  leftRunning: number;
}

/**
 * The counts one stream's summary is computed from, over the period's quarter-hours (daypart
 * applied): everything a report sums, in integers, before any division.
 */
export interface SummaryTotals {
  /** Session `stream` (or the group key of a station). */
  stream: string;
  /** Listening of counted sessions placed in the period's quarter-hours, integer milliseconds. */
  listeningMs: number;
  /** Sessions qualified in each of the period's quarter-hours (`aqhQualifier`), summed over them. */
  qualified: number;
  /** Quarter-hours of the period, empty ones included. */
  quarterHours: number;
  /** Sessions with listening in the period's quarter-hours. */
  activeSessions: number;
  /** Sessions whose start lies in one of the period's quarter-hours. */
  sessionStarts: number;
  /** Distinct cume keys (listener, else `session:` + session id) among the active sessions. */
  cume: number;
  /** Active sessions by exclusion reason (counted in the figures above only when gross). */
  excluded: { bot: number; relay: number; monitor: number };
  /** Active sessions counted above with at least `leftRunning` seconds of listening. */
  leftRunning: number;
}

/**
 * The headline figures of one stream from its totals: the one place the metric formulas live, so
 * the offline report (core) and the database report (`@earshot/db`) agree bit for bit.
 *
 * With `s` = `listeningMs` / 1000 (seconds) and `q` = `quarterHours`:
 * - AQH (sessions) = `qualified` / `q`. Triton Webcast Metrics, Nielsen.
 * - AAS (sessions) = `s` / (`q` x 900). Triton.
 * - TLH (hours) = `s` / 3600. Triton.
 * - ATSL (seconds per session) = `s` / `activeSessions`. Triton.
 * - TSL (hours per listener) = `s` / 3600 / `cume`: Earshot's measured form of Nielsen's TSL.
 * - Nielsen TSL (hours per listener) = AQH x `q` x 0.25 / `cume`. Nielsen.
 *
 * The divisions run in this order on purpose: changing it changes the last bits of the results.
 */
export function summarizeTotals(totals: SummaryTotals): ReportSummary {
  const { quarterHours, cume } = totals;
  const seconds = totals.listeningMs / 1000;
  const aqh = totals.qualified / quarterHours;
  return {
    stream: totals.stream,
    quarterHours,
    aqh,
    aas: seconds / (quarterHours * 900),
    tlh: seconds / 3600,
    cume,
    activeSessions: totals.activeSessions,
    sessionStarts: totals.sessionStarts,
    atsl: seconds / totals.activeSessions,
    tsl: seconds / 3600 / cume,
    tslNielsen: (aqh * quarterHours * 0.25) / cume,
    excludedBot: totals.excluded.bot,
    excludedRelay: totals.excluded.relay,
    excludedMonitor: totals.excluded.monitor,
    leftRunning: totals.leftRunning,
  };
}
