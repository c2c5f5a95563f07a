import { parseEvent, parseTrack, type TrackEvent } from '@earshot/core';
import { createPostQueue } from './post-queue.js';
import type { EventSink, LoggerLike, SinkStats } from './types.js';

export { retryDelayMs } from './post-queue.js';

export interface HttpSinkOptions {
  /** Ingest's base URL (`http://ingest:8080`) or the full events URL (`.../v1/events`). */
  url: string;
  /** Bearer token, one of ingest's `EARSHOT_INGEST_TOKENS`. */
  token?: string;
  /** Events per request. Default 500. */
  batchSize?: number;
  /** Longest an event waits for a full batch, ms. Default 1000. */
  flushIntervalMs?: number;
  /** Events held at most (buffered + in flight); pushes beyond it are dropped and counted. Default 10 000. */
  maxBuffer?: number;
  /** Gzip request bodies. Default true. */
  gzip?: boolean;
  /** Timeout of one request, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** First retry delay, ms; it doubles per attempt, with full jitter. Default 250. */
  retryBaseMs?: number;
  /** Longest retry delay, ms (the cap of the doubling). Default 30 000. */
  retryMaxMs?: number;
  /**
   * Longest wait a server's `Retry-After` can impose, ms. Default 60 000. The backoff's jitter is
   * added above it, so the wait is at most this plus `retryMaxMs`.
   */
  maxRetryAfterMs?: number;
  /**
   * Attempts per batch, the first included, before its events count as failed. Default unlimited:
   * a batch is retried until it is delivered or `close()` reaches its deadline, while new events
   * wait in the buffer (and are dropped, counted, once it is full), so an ingest outage loses
   * nothing that fits in `maxBuffer`.
   */
  maxAttempts?: number;
  /** How long `close()` may take by default, ms. Default 5000. */
  closeTimeoutMs?: number;
  logger?: LoggerLike;
  /** Fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** The HTTP sink's counters and its settings. */
export interface HttpSink extends EventSink {
  /** Where listen events go (`.../v1/events`). */
  readonly url: string;
  /** Where track events go (`.../v1/tracks`). */
  readonly tracksUrl: string;
  pushTrack(track: TrackEvent): void;
  /** What the sink has done with the track events pushed into it. */
  trackStats(): SinkStats;
}

/** Resolves ingest's events endpoint from a base URL or a full one. */
export function eventsUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith('/v1/events')) {
    parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/v1/events`;
  }
  return parsed.toString();
}

/** Ingest's tracks endpoint (`/v1/tracks`) beside the events one, from a base URL or the events URL. */
export function tracksUrl(url: string): string {
  const parsed = new URL(eventsUrl(url));
  parsed.pathname = parsed.pathname.replace(/\/v1\/events$/, '/v1/tracks');
  return parsed.toString();
}

/**
 * A sink that POSTs batches of listen events to Earshot ingest (`POST /v1/events`, a JSON array,
 * gzip, Bearer token), and track events (`pushTrack`, from the listen logger's `nowPlaying`) to
 * `POST /v1/tracks` beside it. Batches by size and time; retries 5xx, 429 and network errors with
 * exponential backoff and full jitter (above the server's `Retry-After`, up to `maxRetryAfterMs`), by
 * default without limit, never other 4xx; holds at most `maxBuffer` events and counts what it
 * drops. An event ingest would refuse (`parseEvent` / `parseTrack` of `@earshot/core`) is not
 * buffered but counted as failed: ingest refuses a batch whole, and one bad event must not take the
 * others with it. `push` never blocks or throws.
 *
 * Tracks have a queue of their own (same settings, one request in flight each): ingest takes each
 * kind on its own endpoint, and the few now-playing events of a station must neither wait behind a
 * backlog of listen events nor be dropped because that backlog filled the buffer. `stats()` counts
 * listen events, `trackStats()` track events; `flush` and `close` cover both.
 */
export function createHttpSink(options: HttpSinkOptions): HttpSink {
  const url = eventsUrl(options.url);
  const events = createPostQueue(options, {
    url,
    check: (event) => {
      const checked = parseEvent(event);
      return checked.ok ? undefined : checked.issues;
    },
    what: { label: 'earshot sink', one: 'an event', many: 'events' },
  });
  const tracks = createPostQueue<TrackEvent>(options, {
    url: tracksUrl(url),
    check: (track) => {
      const checked = parseTrack(track);
      return checked.ok ? undefined : checked.issues;
    },
    what: { label: 'earshot sink (tracks)', one: 'a track event', many: 'track events' },
  });
  let closing: Promise<SinkStats> | undefined;
  return {
    url,
    tracksUrl: tracksUrl(url),
    push: events.push,
    pushTrack: tracks.push,
    async flush(flushOptions) {
      await Promise.all([events.flush(flushOptions), tracks.flush(flushOptions)]);
    },
    close(closeOptions) {
      closing ??= Promise.all([events.close(closeOptions), tracks.close(closeOptions)]).then(
        ([stats]) => stats,
      );
      return closing;
    },
    stats: events.stats,
    trackStats: tracks.stats,
  };
}
