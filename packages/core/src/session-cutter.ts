import { type BucketTarget, MINUTE_MS, placeEvent, QUARTER_HOUR_MS } from './clock.js';
import { durationMsOf, type ListenEvent } from './event.js';
import {
  addToTally,
  type CountSettings,
  isCounted,
  type PlacedBuckets,
  type PlacedSession,
  type Session,
  type SessionSettings,
  type SessionTally,
  sortUnique,
  startTally,
  tallySession,
} from './sessions.js';

const NO_VALUES = new Float64Array(0);

/**
 * Listening milliseconds by bucket start (epoch ms) for consecutive buckets of `sizeMs`, in one typed
 * array: what a session's `minutes` or `quarterHours` Map holds (the buckets with ms > 0), in a
 * fraction of its memory. {@link placeEvent} adds to it as to a Map; `forEach` gives the buckets with
 * ms > 0, ascending.
 */
export class BucketSeries implements BucketTarget, PlacedBuckets {
  readonly sizeMs: number;
  /** Bucket number (`start / sizeMs`) of `values[0]`. */
  private first = 0;
  private values = NO_VALUES;

  constructor(sizeMs: number) {
    this.sizeMs = sizeMs;
  }

  get(bucket: number): number | undefined {
    const i = bucket / this.sizeMs - this.first;
    return i >= 0 && i < this.values.length ? this.values[i] : undefined;
  }

  set(bucket: number, ms: number): this {
    const n = bucket / this.sizeMs;
    let i = n - this.first;
    if (i < 0 || i >= this.values.length) {
      this.cover(n);
      i = n - this.first;
    }
    this.values[i] = ms;
    return this;
  }

  /** Grows the array to hold bucket number `n`, with room to grow further the same way. */
  private cover(n: number): void {
    const old = this.values;
    if (old.length === 0) {
      this.first = n;
      this.values = new Float64Array(16);
      return;
    }
    const lo = Math.min(this.first, n);
    const hi = Math.max(this.first + old.length, n + 1);
    const room = Math.max(16, hi - lo);
    // Room on the side it grew at: a session's events mostly go forward, rarely back.
    const first = n < this.first ? lo - room : lo;
    const values = new Float64Array(hi - lo + room);
    values.set(old, this.first - first);
    this.first = first;
    this.values = values;
  }

  /** Drops the room left for growing (once no more listening is added). */
  trim(): void {
    let lo = 0;
    let hi = this.values.length;
    while (lo < hi && this.values[lo] === 0) lo++;
    while (hi > lo && this.values[hi - 1] === 0) hi--;
    this.values = this.values.slice(lo, hi);
    this.first += lo;
  }

  /** Calls `fn(ms, bucket start)` for each bucket with ms > 0, ascending (as a Map's `forEach`). */
  forEach(fn: (ms: number, bucket: number) => void): void {
    const values = this.values;
    for (let i = 0; i < values.length; i++) {
      const ms = values[i]!;
      if (ms > 0) fn(ms, (this.first + i) * this.sizeMs);
    }
  }
}

/** The session a cutter is building for one session id. */
interface OpenRun {
  tally: SessionTally;
  firstTime: number;
  minutes: BucketSeries;
  quarterHours: BucketSeries;
}

/**
 * One session id in a cutter: its events at the latest `time` (not cut yet: `latest`, and `more`
 * when several share that time) and its open session.
 */
interface IdState {
  time: number;
  latest: ListenEvent;
  more: ListenEvent[] | undefined;
  run: OpenRun | undefined;
}

/**
 * `finalizeSessionId` for events that come in `time` order within each session id (any order
 * across ids, duplicates allowed), one event at a time: each id keeps only its open session's
 * figures and listening (typed arrays) and the events of its latest instant, not all its events. A
 * session is cut as soon as the id's next event shows it is over, and when {@link SessionCutter.finish}
 * is called. The sessions are those `finalizeSessionId` makes of each id's events, with the same
 * figures and placed listening (as {@link BucketSeries} instead of Maps); an event that comes before
 * its id's latest is refused (`add` returns false), since cutting already done could not be undone.
 */
export class SessionCutter {
  private readonly ids = new Map<string, IdState>();
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly settings: CountSettings;
  /** Counted sessions cut so far, each with its listening by minute and quarter-hour. */
  readonly counted: PlacedSession[] = [];
  /** Short sessions (under `minSession`) cut so far. */
  readonly short: Session[] = [];

  constructor(settings: SessionSettings & CountSettings) {
    this.idleMs = settings.idleS * 1000;
    this.maxMs = settings.maxSessionS * 1000;
    this.settings = settings;
  }

  /**
   * Adds one valid event. False (and nothing added) when it comes before the latest event of its
   * session id added so far: the events are not in time order within that id.
   */
  add(event: ListenEvent): boolean {
    const state = this.ids.get(event.session);
    if (state === undefined) {
      this.ids.set(event.session, { time: event.time, latest: event, more: undefined, run: undefined });
      return true;
    }
    if (event.time === state.time) {
      if (state.more) state.more.push(event);
      else state.more = [event];
      return true;
    }
    if (event.time < state.time) return false;
    this.flush(state);
    state.time = event.time;
    state.latest = event;
    return true;
  }

  /** Cuts every open session: the result of all events added. Add nothing after it. */
  finish(): { counted: PlacedSession[]; short: Session[] } {
    for (const state of this.ids.values()) {
      this.flush(state);
      if (state.run) this.close(state.run);
      state.run = undefined;
    }
    this.ids.clear();
    return { counted: this.counted, short: this.short };
  }

  /** Feeds an id's events of its latest instant, sorted and deduplicated, to its sessions. */
  private flush(state: IdState): void {
    if (state.more === undefined) {
      this.feed(state, state.latest);
      return;
    }
    for (const event of sortUnique([state.latest, ...state.more])) this.feed(state, event);
    state.more = undefined;
  }

  /** One event of an id, in order: `splitSorted`'s cut, then the session's figures and listening. */
  private feed(state: IdState, event: ListenEvent): void {
    let run = state.run;
    if (run && (event.time - run.tally.lastTime >= this.idleMs || event.time - run.firstTime >= this.maxMs)) {
      this.close(run);
      run = undefined;
    }
    if (run) addToTally(run.tally, event);
    else {
      run = {
        tally: startTally(event),
        firstTime: event.time,
        minutes: new BucketSeries(MINUTE_MS),
        quarterHours: new BucketSeries(QUARTER_HOUR_MS),
      };
      state.run = run;
    }
    const durationMs = durationMsOf(event);
    placeEvent(event.time, durationMs, MINUTE_MS, run.minutes);
    placeEvent(event.time, durationMs, QUARTER_HOUR_MS, run.quarterHours);
  }

  private close(run: OpenRun): void {
    const session = tallySession(run.tally);
    if (!isCounted(session, this.settings)) {
      this.short.push(session);
      return;
    }
    run.minutes.trim();
    run.quarterHours.trim();
    this.counted.push({ session, minutes: run.minutes, quarterHours: run.quarterHours });
  }
}
