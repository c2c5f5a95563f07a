import type { ListenEvent, TrackEvent } from '@earshot/core';

export type { ListenEvent, TrackEvent };

/** A structured log function: pino's `(object, message)` signature. */
export type LogFn = (object: Record<string, unknown>, message?: string) => void;

/** Any logger with pino's shape (`pino`, `console`-like wrappers). Optional everywhere. */
export interface LoggerLike {
  debug?: LogFn;
  info?: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** What a sink has done with the events pushed into it so far. */
export interface SinkStats {
  /** Events the destination acknowledged. */
  sent: number;
  /** Events never sent: pushed while the buffer was full or after `close()`, or still buffered at close's deadline. */
  dropped: number;
  /** Retry attempts (requests sent again after a 5xx, a 429 or a network error). */
  retried: number;
  /**
   * Events given up on: refused before sending (the HTTP sink checks each with ingest's
   * `parseEvent`), rejected with a 4xx other than 429, or out of retries.
   */
  failed: number;
  /** Events waiting in the buffer or in flight right now. */
  buffered: number;
}

/**
 * Where listen events go. `push` is called from the audio path: it must return at once and never
 * throw. `flush` and `close` are for shutdown and tests.
 */
export interface EventSink {
  push(event: ListenEvent): void;
  /**
   * Takes a track event (what a stream plays from its `time` on; the listen logger's `nowPlaying`),
   * under the same rules as `push`. Optional: a sink without it has nowhere to send tracks.
   */
  pushTrack?(track: TrackEvent): void;
  /** The counters of track events, when the sink keeps them apart from `stats()` (the HTTP sink). */
  trackStats?(): SinkStats;
  /** Sends everything buffered now; resolves when it was delivered or given up on (or at `timeoutMs`). */
  flush(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops taking events, flushes with a deadline, and resolves with the final counters. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<SinkStats>;
  stats(): SinkStats;
}

/** Facts about one client request, as the adapters read them from a request. */
export interface RequestFacts {
  /** The `X-Playback-Session-Id` request header (Apple's players send it). */
  sessionHeader?: string | null;
  /** The request's query string (`session_id`, `ua` are read from it). */
  query?: URLSearchParams | string | null;
  /** The request's `User-Agent` header. */
  ua?: string | null;
  /** The client's IP address. Ingest turns it into the `listener` key and never stores it. */
  ip?: string | null;
}
