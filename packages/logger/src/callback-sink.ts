import type { ListenEvent, TrackEvent } from '@earshot/core';
import type { EventSink, LoggerLike, SinkStats } from './types.js';

export interface CallbackSinkOptions {
  logger?: LoggerLike;
  /** How long `close()` waits for pending callbacks by default, ms. Default 5000. */
  closeTimeoutMs?: number;
  /** Where track events go (`pushTrack`, the listen logger's `nowPlaying`); without it they are dropped, counted. */
  onTrack?: (track: TrackEvent) => void | Promise<void>;
}

/**
 * A sink that hands each event to your function: for a custom transport (a queue, a file, a test).
 * A callback that throws or rejects counts as `failed` and is logged; it never reaches the audio
 * path. `flush` waits for the promises the callback returned. Track events go to `onTrack` and are
 * counted with the listen events.
 */
export function createCallbackSink(
  callback: (event: ListenEvent) => void | Promise<void>,
  options: CallbackSinkOptions = {},
): EventSink {
  const counters = { sent: 0, dropped: 0, retried: 0, failed: 0 };
  const pending = new Set<Promise<void>>();
  let closed = false;
  let closing: Promise<SinkStats> | undefined;
  const stats = (): SinkStats => ({ ...counters, buffered: pending.size });
  const fail = (error: unknown): void => {
    counters.failed++;
    options.logger?.error({ err: error }, 'earshot callback sink: the callback failed');
  };

  function hand<T>(to: (item: T) => void | Promise<void>, item: T): void {
    if (closed) {
      counters.dropped++;
      return;
    }
    try {
      const result = to(item);
      if (result && typeof (result as Promise<void>).then === 'function') {
        const tracked: Promise<void> = Promise.resolve(result).then(() => {
          counters.sent++;
        }, fail);
        pending.add(tracked);
        void tracked.finally(() => pending.delete(tracked));
      } else {
        counters.sent++;
      }
    } catch (error) {
      fail(error);
    }
  }

  async function flush(flushOptions?: { timeoutMs?: number }): Promise<void> {
    const all = Promise.allSettled([...pending]).then(() => undefined);
    if (flushOptions?.timeoutMs === undefined) return all;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, flushOptions.timeoutMs);
    });
    await Promise.race([all, deadline]);
    clearTimeout(timer);
  }

  return {
    push(event) {
      hand(callback, event);
    },
    pushTrack(track) {
      if (options.onTrack) hand(options.onTrack, track);
      else counters.dropped++;
    },
    flush,
    close(closeOptions) {
      if (closing) return closing;
      closed = true;
      closing = flush({ timeoutMs: closeOptions?.timeoutMs ?? options.closeTimeoutMs ?? 5000 }).then(stats);
      return closing;
    },
    stats,
  };
}
