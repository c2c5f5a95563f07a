import { type ListenEvent, parseEvent } from '@earshot/core';
import type { EventSink, LoggerLike, SinkStats } from './types.js';

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
  readonly url: string;
}

/** Resolves ingest's events endpoint from a base URL or a full one. */
export function eventsUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith('/v1/events')) {
    parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/v1/events`;
  }
  return parsed.toString();
}

/**
 * How long to wait before retry `attempt` (1 = the first retry), ms: exponential backoff with full
 * jitter, a uniform pick in `[0, min(maxMs, baseMs * 2^(attempt - 1)))`, added to the server's
 * `Retry-After` (capped at `maxRetryAfterMs`; 0 without one). The `Retry-After` is a floor and the
 * jitter lies above it: loggers that an overloaded ingest told to come back in 5 s spread over
 * `[5 s, 5 s + ceiling)` instead of all coming back at the same instant (as they would if the floor
 * replaced the jitter).
 */
export function retryDelayMs(
  attempt: number,
  options: {
    baseMs: number;
    maxMs: number;
    random: () => number;
    retryAfterMs?: number;
    maxRetryAfterMs: number;
  },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(Math.min(0.999_999, Math.max(0, options.random())) * ceiling);
  const retryAfter = Math.min(options.maxRetryAfterMs, Math.max(0, options.retryAfterMs ?? 0));
  return retryAfter + jittered;
}

/**
 * A sink that POSTs batches of events to Earshot ingest (`POST /v1/events`, a JSON array, gzip,
 * Bearer token). Batches by size and time; retries 5xx, 429 and network errors with exponential
 * backoff and full jitter (above the server's `Retry-After`, up to `maxRetryAfterMs`), by default without
 * limit, never other 4xx; holds at most `maxBuffer` events and counts what it drops. An event
 * ingest would refuse (`parseEvent` of `@earshot/core`) is not buffered but counted as failed: ingest
 * refuses a batch whole, and one bad event must not take the others with it. `push` never blocks
 * or throws; one request is in flight at a time.
 */
export function createHttpSink(options: HttpSinkOptions): HttpSink {
  const url = eventsUrl(options.url);
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const maxBuffer = Math.max(1, options.maxBuffer ?? 10_000);
  const gzip = options.gzip ?? true;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? Number.POSITIVE_INFINITY);
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const random = options.random ?? Math.random;
  const logger = options.logger;

  const counters = { sent: 0, dropped: 0, retried: 0, failed: 0 };
  let queue: ListenEvent[] = [];
  let inFlight = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending = false;
  let due = false;
  let closed = false;
  let full = false;
  // Every event pushed gets a number; `settled` counts those sent, failed or dropped, so a flush
  // can wait for exactly the events that were there when it was called.
  let pushed = 0;
  let settled = 0;
  const waiters: { upTo: number; resolve: () => void }[] = [];
  const stop = new AbortController();
  let closing: Promise<SinkStats> | undefined;

  const stats = (): SinkStats => ({ ...counters, buffered: queue.length + inFlight });

  function settle(count: number): void {
    settled += count;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i] as (typeof waiters)[number];
      if (settled >= waiter.upTo) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  function startTimer(): void {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      due = true;
      kick();
    }, flushIntervalMs);
    (timer as { unref?: () => void }).unref?.();
  }

  function kick(): void {
    if (sending) return;
    sending = true;
    pump().then(
      () => undefined,
      (error: unknown) => logger?.error({ err: error }, 'earshot sink: unexpected error'),
    );
  }

  async function pump(): Promise<void> {
    try {
      while (queue.length > 0 && (queue.length >= batchSize || due) && !stop.signal.aborted) {
        const batch = queue.splice(0, batchSize);
        inFlight = batch.length;
        await deliver(batch);
        inFlight = 0;
        settle(batch.length);
      }
      if (queue.length === 0) due = false;
    } finally {
      inFlight = 0;
      sending = false;
    }
    if (queue.length > 0 && !stop.signal.aborted) {
      if (due || queue.length >= batchSize) kick();
      else startTimer();
    }
  }

  async function encode(batch: ListenEvent[]): Promise<Uint8Array<ArrayBuffer>> {
    const json = new TextEncoder().encode(JSON.stringify(batch));
    if (!gzip) return json;
    const compressed = new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(compressed).arrayBuffer());
  }

  async function deliver(batch: ListenEvent[]): Promise<void> {
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await encode(batch);
    } catch (error) {
      counters.failed += batch.length;
      logger?.error({ err: error, events: batch.length }, 'earshot sink: could not encode a batch; dropped');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (gzip) headers['content-encoding'] = 'gzip';
    if (options.token) headers.authorization = `Bearer ${options.token}`;

    for (let attempt = 1; ; attempt++) {
      let retryAfterMs = 0;
      let reason: Record<string, unknown>;
      try {
        const response = await doFetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(requestTimeoutMs)]),
        });
        const text = await response.text().catch(() => '');
        if (response.ok) {
          counters.sent += batch.length;
          return;
        }
        if (response.status !== 429 && response.status < 500) {
          counters.failed += batch.length;
          logger?.error(
            { status: response.status, events: batch.length, body: text.slice(0, 1000) },
            'earshot sink: ingest rejected a batch; dropped, not retried',
          );
          return;
        }
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        reason = { status: response.status };
      } catch (error) {
        if (stop.signal.aborted) {
          counters.dropped += batch.length;
          return;
        }
        reason = { err: error instanceof Error ? error.message : String(error) };
      }
      if (attempt >= maxAttempts) {
        counters.failed += batch.length;
        logger?.error(
          { ...reason, attempts: attempt, events: batch.length },
          'earshot sink: out of retries; dropped',
        );
        return;
      }
      const delayMs = retryDelayMs(attempt, {
        baseMs: retryBaseMs,
        maxMs: retryMaxMs,
        random,
        retryAfterMs,
        maxRetryAfterMs,
      });
      counters.retried++;
      logger?.warn({ ...reason, attempt, delayMs, events: batch.length }, 'earshot sink: retrying a batch');
      await sleep(delayMs, stop.signal);
      if (stop.signal.aborted) {
        counters.dropped += batch.length;
        return;
      }
    }
  }

  function waitFor(upTo: number, timeoutMs: number | undefined): Promise<void> {
    if (settled >= upTo) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(finish, timeoutMs);
      const waiter = { upTo, resolve: finish };
      waiters.push(waiter);
      function finish(): void {
        clearTimeout(timer);
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
    });
  }

  return {
    url,
    push(event: ListenEvent) {
      try {
        if (!closed) {
          const checked = parseEvent(event);
          if (!checked.ok) {
            counters.failed++;
            logger?.error(
              {
                issues: checked.issues,
                stream: typeof event?.stream === 'string' ? event.stream : undefined,
              },
              'earshot sink: an event ingest would refuse; dropped, not sent',
            );
            return;
          }
        }
        if (closed || queue.length + inFlight >= maxBuffer) {
          counters.dropped++;
          if (!full && !closed) {
            full = true;
            logger?.warn({ maxBuffer }, 'earshot sink: buffer full; dropping events until ingest catches up');
          }
          return;
        }
        if (full) {
          full = false;
          logger?.warn({ dropped: counters.dropped }, 'earshot sink: buffer has room again');
        }
        queue.push(event);
        pushed++;
        if (queue.length >= batchSize) kick();
        else startTimer();
      } catch {
        // The audio path must never see a logging error.
      }
    },
    flush(flushOptions) {
      const upTo = pushed;
      due = true;
      kick();
      return waitFor(upTo, flushOptions?.timeoutMs);
    },
    close(closeOptions) {
      if (closing) return closing;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const timeoutMs = closeOptions?.timeoutMs ?? closeTimeoutMs;
      closing = (async () => {
        const upTo = pushed;
        due = true;
        kick();
        await waitFor(upTo, timeoutMs);
        if (settled < upTo) {
          // Deadline: abort the request in flight and count everything left as dropped.
          const left = queue.length;
          counters.dropped += left;
          queue = [];
          stop.abort();
          settle(left);
          await waitFor(upTo, 1000);
          if (left > 0 || inFlight > 0) {
            logger?.warn(
              { dropped: counters.dropped },
              'earshot sink: closed at its deadline with events unsent',
            );
          }
        }
        return stats();
      })();
      return closing;
    },
    stats,
  };
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms; 0 when absent or unreadable. */
function parseRetryAfter(value: string | null): number {
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
