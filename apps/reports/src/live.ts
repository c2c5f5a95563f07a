import { isoTime } from '@earshot/core';
import { type LiveStream, liveListeners, type Queryable } from '@earshot/db';

/** Listeners right now, per stream, as the API and the SSE feed send it. */
export interface LiveSnapshot {
  /** When it was computed, ISO-8601 UTC. */
  at: string;
  /** The window the listening seconds are taken from: `(at - windowS, at]`. */
  windowS: number;
  streams: LiveStream[];
  /** Sum over the streams. */
  total: number;
}

export interface LiveFeedOptions {
  /** A snapshot is reused for this long, and subscribers get one this often. Default 5000 ms. */
  refreshMs?: number;
  /** Clock, for tests. */
  now?: () => number;
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
  private readonly db: Queryable;
  private readonly options: LiveFeedOptions;

  constructor(db: Queryable, options: LiveFeedOptions = {}) {
    this.db = db;
    this.options = options;
    this.refreshMs = options.refreshMs ?? 5000;
    this.now = options.now ?? Date.now;
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
        const streams = await liveListeners(this.db, at);
        const snapshot: LiveSnapshot = {
          at: isoTime(at),
          windowS: 60,
          streams,
          total: streams.reduce((sum, s) => sum + s.listeners, 0),
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
