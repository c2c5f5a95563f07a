import { isoTime } from '@earshot/core';
import {
  DEFAULT_LIVE_GAP,
  type FinalizeSettings,
  type LiveGapOptions,
  type LiveStream,
  liveListeners,
  type Queryable,
  readComponentSettings,
} from '@earshot/db';

/** Listeners right now, per stream, as the API and the SSE feed send it. */
export interface LiveSnapshot {
  /** When it was computed, ISO-8601 UTC. */
  at: string;
  /** The window `listeningNow`'s seconds are taken from: `(at - windowS, at]`. */
  windowS: number;
  /** What makes a session live: its last event at most `min(idleS, gapFactor x duration + gapSlackS)` old. */
  gap: Required<Omit<LiveGapOptions, 'agents'>>;
  streams: LiveStream[];
  /** People listening now: the sum of `listeners` over the streams. */
  total: number;
  /** The sum of `listeningNow` over the streams. */
  totalListeningNow: number;
}

export interface LiveFeedOptions {
  /** A snapshot is reused for this long, and subscribers get one this often. Default 5000 ms. */
  refreshMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** When a session counts as live (idle, gap factor and slack). Default `DEFAULT_LIVE_GAP`. */
  gap?: LiveGapOptions;
  onError?: (error: unknown) => void;
}

/**
 * Live listeners with a short cache: every reader within `refreshMs` shares one query, and while
 * anyone is subscribed (SSE) a timer pushes a fresh snapshot every `refreshMs`.
 */
export class LiveFeed {
  private snapshot: LiveSnapshot | undefined;
  private takenAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<LiveSnapshot> | undefined;
  private readonly listeners = new Set<(s: LiveSnapshot) => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private readonly gap: Required<Omit<LiveGapOptions, 'agents'>>;
  private readonly db: Queryable;
  private readonly options: LiveFeedOptions;

  constructor(db: Queryable, options: LiveFeedOptions = {}) {
    this.db = db;
    this.options = options;
    this.refreshMs = options.refreshMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.gap = { ...DEFAULT_LIVE_GAP, ...options.gap };
  }

  /** The current snapshot (from cache when fresh enough). */
  get(): Promise<LiveSnapshot> {
    if (this.snapshot && this.now() - this.takenAt < this.refreshMs) return Promise.resolve(this.snapshot);
    return this.refresh();
  }

  private refresh(): Promise<LiveSnapshot> {
    this.inFlight ??= (async () => {
      try {
        const at = this.now();
        // Net, by the rules the worker classifies with (recorded in the database when it started).
        const finalize = await readComponentSettings<FinalizeSettings>(this.db, 'finalize');
        const agents = finalize?.settings.agents;
        const streams = await liveListeners(this.db, at, { ...this.gap, ...(agents ? { agents } : {}) });
        const snapshot: LiveSnapshot = {
          at: isoTime(at),
          windowS: 60,
          gap: this.gap,
          streams,
          total: streams.reduce((sum, s) => sum + s.listeners, 0),
          totalListeningNow: streams.reduce((sum, s) => sum + s.listeningNow, 0),
        };
        this.snapshot = snapshot;
        this.takenAt = at;
        return snapshot;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** Calls `fn` with a fresh snapshot every `refreshMs` until the returned function is called. */
  subscribe(fn: (s: LiveSnapshot) => void): () => void {
    this.listeners.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => {
        this.refresh().then(
          (s) => {
            for (const listener of this.listeners) listener(s);
          },
          (error) => this.options.onError?.(error),
        );
      }, this.refreshMs);
      this.timer.unref?.();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** How many subscribers there are (SSE clients), for health and tests. */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** Stops the timer (idempotent). */
  close(): void {
    this.listeners.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
