import type { Origin } from './audience.js';
import { MINUTE_MS, placeEvent, QUARTER_HOUR_MS } from './clock.js';
import { durationMsOf, eventKey, type ListenEvent, type Output } from './event.js';

/** Settings that cut a session id's events into sessions (DESIGN section 3), in seconds. */
export interface SessionSettings {
  /** A gap of `idleS` or more between consecutive events starts a new session. Default 300. */
  idleS: number;
  /** An event `maxSessionS` or more after a session's first event starts a new one. Default 86400. */
  maxSessionS: number;
}

/** Settings that decide which sessions count (DESIGN section 3). */
export interface CountSettings {
  /** A session counts only when its listening time is at least this, in seconds. Default 60 (Triton, IAB). */
  minSessionS: number;
}

/** Default session settings: 5 min idle, 24 h maximum, 60 s minimum (Triton Webcast Metrics, IAB). */
export const DEFAULT_SESSION_SETTINGS: Readonly<SessionSettings & CountSettings> = {
  idleS: 300,
  maxSessionS: 86_400,
  minSessionS: 60,
};

/**
 * One listening session (DESIGN section 3): a maximal run of one session id's events with no gap of
 * `idle` or more, cut again at `maxSession` after its first event (gaps and cut compare event
 * `time`s; `start` is the first event's interval start). Times are epoch milliseconds,
 * `elapsed` and `duration` seconds.
 */
export interface Session {
  /** The session id; several sessions share one when a listener comes back after `idle`. */
  session: string;
  /** `stream` of the first event: the HLS group key, or the Shoutcast stream key. */
  stream: string;
  /**
   * Start of the first event's interval: its `time - duration` (integer ms), epoch ms. A Shoutcast
   * event reports a tick at its end, so its first event's `time` is a tick after the listener began.
   */
  start: number;
  /** `time` of the last event, epoch ms. */
  end: number;
  /** `end - start`, seconds. */
  elapsed: number;
  /** Listening time: the sum of the events' `duration` (delivered audio; pauses do not count), seconds. */
  duration: number;
  /** Sum of the events' `bytes`, bytes. */
  bytes: number;
  /** The first non-empty `listener` of the events, or null. */
  listener: string | null;
  /** `output` of the first event. */
  output: Output;
  /** The first non-empty `ua` of the events, or null. */
  ua: string | null;
  /** The first `country` of the events (ingest's lookup of the IP), or null. */
  country: string | null;
  /** The first `origin` of the events (a relay or monitor IP range, by ingest), or null. */
  origin: Origin | null;
}

/** A session together with the (deduplicated, ordered) events it is made of. */
export interface SessionRun {
  /** The session's figures (DESIGN section 3), counted or not. */
  session: Session;
  /** `output` of the first event. */
  output: Output;
  /** Its events, deduplicated, in {@link compareEvents} order. */
  events: ListenEvent[];
}

/**
 * The order of events inside a session id (DESIGN section 3): by `time`, then zero-duration events
 * first (an HLS start event precedes the segment that ends at the same instant), then by id
 * ({@link eventKey}), then by content (so that of two events sharing an id and time the same one
 * is kept, whatever order they came in).
 */
export function compareEvents(a: ListenEvent, b: ListenEvent): number {
  if (a.time !== b.time) return a.time - b.time;
  const az = durationMsOf(a) === 0 ? 0 : 1;
  const bz = durationMsOf(b) === 0 ? 0 : 1;
  if (az !== bz) return az - bz;
  const ak = eventKey(a);
  const bk = eventKey(b);
  if (ak !== bk) return ak < bk ? -1 : 1;
  if (a.id === undefined) return 0; // the key of an event without id is its content
  // One id and time with different content: a client bug, but the one kept (the first after sorting)
  // must not depend on arrival order, so order such twins by their content.
  const ac = eventKey({ ...a, id: undefined });
  const bc = eventKey({ ...b, id: undefined });
  return ac < bc ? -1 : ac > bc ? 1 : 0;
}

/**
 * Sorts one session id's events by {@link compareEvents} and drops duplicates: events with the same
 * {@link eventKey} and `time` (the identity ingest stores them under) are one event. Works in place:
 * returns `events` itself, shortened.
 */
export function sortUnique(events: ListenEvent[]): ListenEvent[] {
  events.sort(compareEvents);
  let kept = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    // Duplicates share `time`, so only the kept events of the same instant (nearly always none or
    // one) need a look; a zero-duration and a timed event of one key may sit apart in that run.
    let duplicate = false;
    for (let j = kept - 1; j >= 0 && events[j]!.time === event.time; j--) {
      if (eventKey(events[j]!) === eventKey(event)) {
        duplicate = true;
        break;
      }
    }
    if (!duplicate) events[kept++] = event;
  }
  events.length = kept;
  return events;
}

/**
 * @internal The running figures of one session, its events added in {@link compareEvents} order:
 * what {@link splitSorted} and the streaming {@link SessionCutter} both turn into a {@link Session}.
 */
export interface SessionTally {
  first: ListenEvent;
  lastTime: number;
  durationMs: number;
  bytes: number;
  listener: string | null;
  ua: string | null;
  country: string | null;
  origin: Origin | null;
}

/** @internal A tally of a session's first event. */
export function startTally(first: ListenEvent): SessionTally {
  const tally: SessionTally = {
    first,
    lastTime: first.time,
    durationMs: 0,
    bytes: 0,
    listener: null,
    ua: null,
    country: null,
    origin: null,
  };
  addToTally(tally, first);
  return tally;
}

/** @internal Adds a session's next event (in order) to its tally. */
export function addToTally(tally: SessionTally, event: ListenEvent): void {
  tally.lastTime = event.time;
  tally.durationMs += durationMsOf(event);
  tally.bytes += event.bytes;
  if (tally.listener === null && event.listener) tally.listener = event.listener;
  if (tally.ua === null && event.ua) tally.ua = event.ua;
  if (tally.country === null && event.country) tally.country = event.country;
  if (tally.origin === null && event.origin) tally.origin = event.origin;
}

/** @internal The session a tally adds up to. */
export function tallySession(tally: SessionTally): Session {
  const first = tally.first;
  const start = first.time - durationMsOf(first);
  return {
    session: first.session,
    stream: first.stream,
    start,
    end: tally.lastTime,
    elapsed: (tally.lastTime - start) / 1000,
    duration: tally.durationMs / 1000,
    bytes: tally.bytes,
    listener: tally.listener,
    output: first.output,
    ua: tally.ua,
    country: tally.country,
    origin: tally.origin,
  };
}

function toSession(events: ListenEvent[]): Session {
  const tally = startTally(events[0]!);
  for (let i = 1; i < events.length; i++) addToTally(tally, events[i]!);
  return tallySession(tally);
}

/**
 * Cuts events into sessions (DESIGN section 3). The events may belong to any number of session ids,
 * arrive in any order and contain duplicates (see {@link sortUnique}); the result
 * is the same for every such arrangement of the same events. Runs are ordered by session id, then start.
 */
export function splitSessions(events: Iterable<ListenEvent>, settings: SessionSettings): SessionRun[] {
  const byId = new Map<string, ListenEvent[]>();
  for (const event of events) {
    const list = byId.get(event.session);
    if (list) list.push(event);
    else byId.set(event.session, [event]);
  }
  const ids = [...byId.keys()].sort();
  const runs: SessionRun[] = [];
  for (const id of ids) splitSorted(sortUnique(byId.get(id)!), settings, runs);
  return runs;
}

/**
 * Short sessions (under `minSession`: tune-outs, DESIGN section 3) counted by stream and by the UTC
 * minute of their start, as the worker stores them. Keyed by stream and minute start (epoch ms)
 * joined with U+0000; each row holds the stream, the minute start (epoch ms) and the count.
 */
export function countShortSessions(
  short: Iterable<Session>,
): Map<string, { stream: string; minute: number; count: number }> {
  const counts = new Map<string, { stream: string; minute: number; count: number }>();
  for (const session of short) {
    const minute = Math.floor(session.start / 60_000) * 60_000;
    const key = `${session.stream}\u0000${minute}`;
    const row = counts.get(key);
    if (row) row.count += 1;
    else counts.set(key, { stream: session.stream, minute, count: 1 });
  }
  return counts;
}

/**
 * Cuts one session id's events, already deduplicated and sorted by {@link compareEvents}, into
 * sessions, appending them to `into`.
 */
export function splitSorted(
  sorted: ListenEvent[],
  settings: SessionSettings,
  into: SessionRun[] = [],
): SessionRun[] {
  const idleMs = settings.idleS * 1000;
  const maxMs = settings.maxSessionS * 1000;
  let current: ListenEvent[] = [];
  let firstTime = 0;
  let lastTime = 0;
  const close = () => {
    if (current.length > 0)
      into.push({ session: toSession(current), output: current[0]!.output, events: current });
  };
  for (const event of sorted) {
    if (current.length > 0 && (event.time - lastTime >= idleMs || event.time - firstTime >= maxMs)) {
      close();
      current = [];
    }
    if (current.length === 0) firstTime = event.time;
    current.push(event);
    lastTime = event.time;
  }
  close();
  return into;
}

/** Whether a session counts: listening time of at least `minSessionS` (Triton, IAB: 60 s). */
export function isCounted(session: Pick<Session, 'duration'>, settings: CountSettings): boolean {
  return Math.round(session.duration * 1000) >= Math.round(settings.minSessionS * 1000);
}

/**
 * Identity of a session row: its session id and start (epoch ms), joined with U+0000 (which no
 * valid session id holds).
 */
export function sessionRowKey(session: Pick<Session, 'session' | 'start'>): string {
  return `${session.session}\u0000${session.start}`;
}

/** Whether two sessions are field-for-field equal (every {@link Session} field, by `===`). */
export function sameSession(a: Session, b: Session): boolean {
  return (
    a.session === b.session &&
    a.stream === b.stream &&
    a.start === b.start &&
    a.end === b.end &&
    a.elapsed === b.elapsed &&
    a.duration === b.duration &&
    a.bytes === b.bytes &&
    a.listener === b.listener &&
    a.output === b.output &&
    a.ua === b.ua &&
    a.country === b.country &&
    a.origin === b.origin
  );
}

/**
 * Rows to write so that stored rows become the newly computed ones (see {@link planRowChanges}),
 * rows keyed by {@link sessionRowKey} (session id and start).
 */
export interface RowChanges<T> {
  /** Computed rows with no stored row under their key: to insert. */
  insert: T[];
  /** A stored row (`old`) and the computed row (`row`) with other figures that replaces it under its key. */
  update: { old: T; row: T }[];
  /** Stored rows whose key no computed row has any more: to delete. */
  remove: T[];
  /** Computed rows equal to the stored row under their key: nothing to write. */
  unchanged: T[];
}

/** {@link RowChanges} of core's own {@link Session} rows (see {@link planSessionChanges}). */
export type SessionChanges = RowChanges<Session>;

/**
 * The incremental form of finalization: given what was stored before for a session id (or any set
 * of ids) and what its events now give, which rows to insert, update (same id and start, other
 * figures) and remove. A re-finalization after a resume, a late event or a retried batch thus
 * corrects rows and never doubles them. Rows are keyed by {@link sessionRowKey}; `same` says whether
 * a stored row needs no rewrite. The worker plans its `sessions` and `short_sessions` rows with it.
 */
export function planRowChanges<T extends Pick<Session, 'session' | 'start'>>(
  previous: readonly T[],
  next: readonly T[],
  same: (a: T, b: T) => boolean,
): RowChanges<T> {
  const before = new Map(previous.map((s) => [sessionRowKey(s), s]));
  const changes: RowChanges<T> = { insert: [], update: [], remove: [], unchanged: [] };
  for (const row of next) {
    const key = sessionRowKey(row);
    const old = before.get(key);
    if (!old) changes.insert.push(row);
    else {
      before.delete(key);
      if (same(old, row)) changes.unchanged.push(row);
      else changes.update.push({ old, row });
    }
  }
  changes.remove.push(...before.values());
  return changes;
}

/** {@link planRowChanges} for core's own {@link Session} rows, compared by {@link sameSession}. */
export function planSessionChanges(previous: readonly Session[], next: readonly Session[]): SessionChanges {
  return planRowChanges(previous, next, sameSession);
}

/**
 * Where a re-finalization of one session id starts, as an event `time` (epoch ms): the sessions
 * stored for the id whose first event comes before it stay as they are, and everything from it on
 * is recomputed from the id's events with `time >=` it (and replaces the stored rows whose first
 * event is at or after it). `-Infinity`: recompute everything.
 *
 * Cutting is memoryless at a session's first event: the sessions from one first event on depend
 * only on the events from it on. So for the earliest `time` among the events that arrived since the
 * stored rows were computed (`changedFrom`), the point is the first event's `time` of the last
 * stored session (counted or short) whose first event is at or before it, or `changedFrom` itself
 * when the new events cannot join that session (they come `idle` or more after its end, or
 * `maxSession` or more after its first event). Older events are then never needed, so a
 * re-finalization neither re-reads a long history nor loses sessions whose events retention has
 * dropped. The point is a first event's `time`, not a session's `start` (`time - duration`): an
 * interval start can lie before the previous session's last event (after a `maxSession` cut).
 *
 * `stored` must be what {@link splitSessions} made of the id's earlier events, each given by its
 * first event's `time` (`first`) and its `end`; `end` may be unknown (`undefined`), which only moves
 * the point back to that session's first event.
 */
export function resumePoint(
  stored: readonly { first: number; end?: number | undefined }[],
  changedFrom: number,
  settings: SessionSettings,
): number {
  let last: { first: number; end?: number | undefined } | undefined;
  for (const s of stored) if (s.first <= changedFrom && (!last || s.first > last.first)) last = s;
  if (!last) return Number.NEGATIVE_INFINITY;
  const apart =
    changedFrom - last.first >= settings.maxSessionS * 1000 ||
    (last.end !== undefined && changedFrom - last.end >= settings.idleS * 1000);
  return apart ? changedFrom : last.first;
}

/**
 * A counted session and the listening it placed on the clock, in integer milliseconds by minute and
 * by quarter-hour start (epoch ms). Reports are assembled from these; the worker stores them.
 */
export interface SessionFacts {
  /** The session (DESIGN section 3); it counts: `duration >= minSession`. */
  session: Session;
  /**
   * Listening placed in each UTC minute (DESIGN section 4: each event's seconds spread evenly over
   * `(time - duration, time]`): minute start, epoch ms -> integer milliseconds.
   */
  minutes: Map<number, number>;
  /** Listening placed in each quarter-hour, likewise: QH start (UTC = local QHs), epoch ms -> integer ms. */
  quarterHours: Map<number, number>;
}

/**
 * Listening by bucket start, each bucket once: `forEach` calls `fn(ms, bucket start)` as a
 * `Map<number, number>`'s does (a Map is one), or a streaming `BucketSeries`.
 */
export interface PlacedBuckets {
  forEach(fn: (ms: number, bucket: number) => void): void;
}

/**
 * A counted session and its placed listening: a {@link SessionFacts} (Maps), or the compact form of
 * the streaming `SessionCutter`. What reports are assembled from.
 */
export interface PlacedSession {
  session: Session;
  /** Listening by UTC minute start, as in {@link SessionFacts.minutes}. */
  minutes: PlacedBuckets;
  /** Listening by quarter-hour start, as in {@link SessionFacts.quarterHours}. */
  quarterHours: PlacedBuckets;
}

/** The sessions cut from some runs: the counted ones with their placed listening, and the short ones. */
export interface FinalizedRuns {
  /** Sessions of at least `minSession` seconds of listening, with their placed listening. */
  counted: SessionFacts[];
  /**
   * Sessions under `minSession` (tune-outs): in no metric, only counted by stream and minute
   * (see `countShortSessions`).
   */
  short: Session[];
}

/**
 * Finalizes session runs: keeps those that count (`duration >= minSessionS`, 60 s by default as
 * Triton and the IAB use) with their listening placed by minute and by quarter-hour (integer ms),
 * and lists the short ones.
 */
export function finalizeRuns(runs: readonly SessionRun[], settings: CountSettings): FinalizedRuns {
  const result: FinalizedRuns = { counted: [], short: [] };
  for (const run of runs) {
    if (!isCounted(run.session, settings)) {
      result.short.push(run.session);
      continue;
    }
    const minutes = new Map<number, number>();
    const quarterHours = new Map<number, number>();
    for (const event of run.events) {
      const durationMs = durationMsOf(event);
      placeEvent(event.time, durationMs, MINUTE_MS, minutes);
      placeEvent(event.time, durationMs, QUARTER_HOUR_MS, quarterHours);
    }
    result.counted.push({ session: run.session, minutes, quarterHours });
  }
  return result;
}

/**
 * Everything the worker needs for one session id: its events (any order, duplicates allowed) cut
 * into sessions, counted ones with their placed listening, short ones listed.
 */
export function finalizeSessionId(
  events: Iterable<ListenEvent>,
  settings: SessionSettings & CountSettings,
): FinalizedRuns {
  return finalizeRuns(splitSorted(sortUnique([...events]), settings), settings);
}
