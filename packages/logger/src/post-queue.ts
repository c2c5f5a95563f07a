import type { HttpSinkOptions } from './http-sink.js';
import type { SinkStats } from './types.js';

/** What one queue of the HTTP sink posts, and where. */
export interface PostTarget<T> {
  /** The endpoint, e.g. `http://ingest:8080/v1/events`. */
  url: string;
  /** Ingest's check of one item: its issues, or undefined when ingest would take it. */
  check(item: T): readonly unknown[] | undefined;
  /** Words for the logs: `label` prefixes every message; `one` and `many` name the items. */
  what: { label: string; one: string; many: string };
}

/** One batching, retrying queue to one ingest endpoint. */
export interface PostQueue<T> {
  push(item: T): void;
  flush(options?: { timeoutMs?: number }): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<SinkStats>;
  stats(): SinkStats;
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
 * The HTTP sink's machinery for one endpoint: batches by size and time, retries 5xx, 429 and
 * network errors with exponential backoff and full jitter (above the server's `Retry-After`, up to
 * `maxRetryAfterMs`), by default without limit, never other 4xx; holds at most `maxBuffer` items and
 * counts what it drops. An item ingest would refuse (`target.check`) is not buffered but counted as
 * failed: ingest refuses a batch whole, and one bad item must not take the others with it. `push`
 * never blocks or throws; one request is in flight at a time.
 */
export function createPostQueue<T>(options: HttpSinkOptions, target: PostTarget<T>): PostQueue<T> {
  const { url, what } = target;
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
  let queue: T[] = [];
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
      (error: unknown) => logger?.error({ err: error }, `${what.label}: unexpected error`),
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

  async function encode(batch: T[]): Promise<Uint8Array<ArrayBuffer>> {
    const json = new TextEncoder().encode(JSON.stringify(batch));
    if (!gzip) return json;
    const compressed = new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(compressed).arrayBuffer());
  }

  async function deliver(batch: T[]): Promise<void> {
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await encode(batch);
    } catch (error) {
      counters.failed += batch.length;
      logger?.error({ err: error, events: batch.length }, `${what.label}: could not encode a batch; dropped`);
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
            `${what.label}: ingest rejected a batch; dropped, not retried`,
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
          `${what.label}: out of retries; dropped`,
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
      logger?.warn({ ...reason, attempt, delayMs, events: batch.length }, `${what.label}: retrying a batch`);
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
    push(item: T) {
      try {
        if (!closed) {
          const issues = target.check(item);
          if (issues !== undefined) {
            counters.failed++;
            logger?.error(
              {
                issues,
                stream:
                  typeof (item as { stream?: unknown })?.stream === 'string'
                    ? (item as { stream: string }).stream
                    : undefined,
              },
              `${what.label}: ${what.one} ingest would refuse; dropped, not sent`,
            );
            return;
          }
        }
        if (closed || queue.length + inFlight >= maxBuffer) {
          counters.dropped++;
          if (!full && !closed) {
            full = true;
            logger?.warn(
              { maxBuffer },
              `${what.label}: buffer full; dropping ${what.many} until ingest catches up`,
            );
          }
          return;
        }
        if (full) {
          full = false;
          logger?.warn({ dropped: counters.dropped }, `${what.label}: buffer has room again`);
        }
        queue.push(item);
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
              `${what.label}: closed at its deadline with ${what.many} unsent`,
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
