import type { Delivery } from './event.js';
import { isValidSessionId } from './ids.js';

/** Options of one Shoutcast/ICY listener connection. */
export interface ShoutcastOptions {
  /** The stream key, e.g. `live-mp3`. */
  stream: string;
  /**
   * The session id; the adapters pass the `session_id` query parameter. One that is not a valid
   * session id (1..128 visible ASCII characters) is replaced, as is a missing one, by a new UUIDv7.
   */
  session?: string;
  /** Audio bitrate in kbit/s, to turn bytes into seconds (CBR). Give this or `secondsOf`. */
  bitrateKbps?: number;
  /**
   * Seconds of audio in the first `bytes` bytes of this connection (VBR, ICY metadata...). Called
   * with the running total, so it need not be linear. Give this or `bitrateKbps`.
   */
  secondsOf?: (bytes: number) => number;
  /** How often an event is emitted while the connection lasts, ms. Default 30 000. */
  tickMs?: number;
  ua?: string | null;
  ip?: string | null;
}

/** Counts what one listener connection delivered and turns it into listen events. */
export interface ShoutcastTracker {
  readonly session: string;
  /** Report bytes the socket accepted (not merely queued). Ignored after `close`. */
  accepted(bytes: number): void;
  /** The connection closed: emit the remainder and stop the timer. Idempotent. */
  close(): void;
  /** Bytes accepted so far. */
  readonly bytes: number;
  /** Seconds of audio accepted so far. */
  readonly seconds: number;
}

export interface TrackerContext {
  emit(delivery: Delivery): void;
  now(): number;
  newId(): string;
  /** Seconds already counted per HLS session and media sequence number. */
  segments?: SegmentLedger;
}

/** Remembers, for recent (session, media sequence) pairs, the seconds of audio already counted. */
export interface SegmentLedger {
  /** Records that `seconds` of segment `key` were delivered; returns the part not counted before. */
  claim(key: string, seconds: number): number;
  /** The pairs remembered, least recently used first (at most the newest `max`), to save and restore. */
  entries(max?: number): [string, number][];
}

/**
 * A ledger of at most `maxEntries` pairs (starting from `saved`, least recently used first); the
 * least recently used are forgotten first, a tenth at once: iterating a Map from its start after
 * each single delete walks every deleted slot before it (until V8 rehashes), O(size) per claim.
 */
export function createSegmentLedger(
  maxEntries: number,
  saved: readonly (readonly [string, number])[] = [],
): SegmentLedger {
  const counted = new Map<string, number>(saved.map(([k, v]) => [k, v]));
  return {
    claim(key, seconds) {
      const before = counted.get(key) ?? 0;
      counted.delete(key);
      counted.set(key, Math.max(before, seconds));
      if (counted.size > maxEntries) {
        let drop = counted.size - Math.floor(maxEntries * 0.9);
        for (const old of counted.keys()) {
          if (drop-- <= 0) break;
          counted.delete(old);
        }
      }
      return Math.max(0, seconds - before);
    },
    entries(max = Number.POSITIVE_INFINITY) {
      const out: [string, number][] = [];
      let skip = counted.size - max;
      for (const entry of counted) if (skip-- <= 0) out.push(entry);
      return out;
    },
  };
}

/**
 * Tracks one Shoutcast/ICY connection: every `tickMs` one event with the bytes and seconds accepted
 * since the last one, and the remainder when the connection closes (DESIGN section 2). Intervals
 * with nothing delivered emit nothing: a stalled client is not listening.
 */
export function trackShoutcast(context: TrackerContext, options: ShoutcastOptions): ShoutcastTracker {
  const secondsOf = secondsFunction(options);
  const tickMs = options.tickMs ?? 30_000;
  if (!(tickMs > 0)) throw new TypeError('tickMs must be > 0');
  // Usually the client's `session_id`: an id ingest would refuse must not reach an event.
  const session = isValidSessionId(options.session) ? options.session : context.newId();
  let totalBytes = 0;
  let emittedBytes = 0;
  let emittedSeconds = 0;
  let closed = false;

  const tick = (): void => {
    const bytes = totalBytes - emittedBytes;
    if (bytes <= 0) return;
    // Seconds from the running total, so rounding never drifts over a long connection.
    const seconds = secondsOf(totalBytes);
    const durationS = Math.max(0, seconds - emittedSeconds);
    emittedBytes = totalBytes;
    emittedSeconds = seconds;
    context.emit({
      session,
      stream: options.stream,
      output: 'shoutcast',
      time: context.now(),
      durationS,
      bytes,
      ua: options.ua,
      ip: options.ip,
    });
  };
  const timer = setInterval(tick, tickMs);
  // The connection keeps the process alive, not its bookkeeping.
  (timer as { unref?: () => void }).unref?.();

  return {
    session,
    accepted(bytes: number) {
      if (!closed && bytes > 0 && Number.isFinite(bytes)) totalBytes += bytes;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      tick();
    },
    get bytes() {
      return totalBytes;
    },
    get seconds() {
      return secondsOf(totalBytes);
    },
  };
}

function secondsFunction(options: ShoutcastOptions): (bytes: number) => number {
  if (options.secondsOf) return options.secondsOf;
  const kbps = options.bitrateKbps;
  if (kbps === undefined || !(kbps > 0)) {
    throw new TypeError('trackShoutcast needs bitrateKbps > 0 or a secondsOf function');
  }
  const bytesPerSecond = (kbps * 1000) / 8;
  return (bytes) => bytes / bytesPerSecond;
}
