import type { Enricher } from '@earshot/audience';
import { type BatchIssue, type ListenEvent, parseEvent } from '@earshot/core';
import { utcDayOf } from '@earshot/db';
import { listenerKey } from './listener.js';

/**
 * Bytes an event may carry beyond `duration * maxBytesPerS`. Events of no or little duration carry
 * bytes that are not audio time: an HLS master-playlist event has duration 0 and the playlist's
 * bytes (a few KB), and a Shoutcast connection closed within its first second reports the
 * burst-on-connect (servers send 2-30 s of buffered audio at once: 64 KB at Icecast's default, 960 KB
 * for 30 s at 256 kbit/s). 1 MiB covers those with room and is still nothing next to a session row.
 */
export const SHORT_EVENT_ALLOWANCE_BYTES = 1024 * 1024;

/** What ingest checks beyond core's event schema. */
export interface BatchLimits {
  /** Oldest event time accepted, ms before now (0: any). */
  maxAgeMs: number;
  /** Latest event time accepted, ms after now. */
  maxAheadMs: number;
  /** Most distinct UTC days one batch may touch. */
  maxDays: number;
  /** Most bytes per second of `duration` (plus SHORT_EVENT_ALLOWANCE_BYTES). */
  maxBytesPerS: number;
  /**
   * Most bytes, and most ms of duration, the events of one session may add up to within a batch.
   * Default Number.MAX_SAFE_INTEGER: the worker sums a session's events in JS numbers and stores
   * bigint, so a sum beyond it cannot be stored exactly. Lower only in tests.
   */
  maxSessionTotal?: number;
  now: () => number;
}

/**
 * Turns `ip` into `listener` (unless the event has one) and drops it: no raw IP goes further than
 * this function. Adds an issue for an ip that cannot be used.
 */
function applyListener(
  event: ListenEvent,
  index: number,
  salt: string | undefined,
  issues: BatchIssue[],
): void {
  if (event.ip === undefined) return;
  const ip = event.ip;
  delete event.ip;
  if (event.listener !== undefined) return;
  if (salt === undefined) {
    issues.push({
      index,
      field: 'ip',
      reason:
        'cannot be turned into a listener key: EARSHOT_LISTENER_SALT is not set on ingest (send listener, or omit ip)',
    });
    return;
  }
  const key = listenerKey(ip, event.ua, salt);
  if (key === undefined) issues.push({ index, field: 'ip', reason: 'must be an IPv4 or IPv6 address' });
  else event.listener = key;
}

function checkTime(
  event: ListenEvent,
  index: number,
  limits: BatchLimits,
  now: number,
  days: Set<number>,
  issues: BatchIssue[],
): void {
  if (limits.maxAgeMs > 0 && event.time < now - limits.maxAgeMs) {
    issues.push({
      index,
      field: 'time',
      reason: `is more than ${limits.maxAgeMs / 1000} s in the past (EARSHOT_MAX_EVENT_AGE_S)`,
    });
  } else if (event.time > now + limits.maxAheadMs) {
    issues.push({
      index,
      field: 'time',
      reason: `is more than ${limits.maxAheadMs / 1000} s in the future (check the sender's clock)`,
    });
  } else {
    const day = utcDayOf(event.time);
    if (!days.has(day) && days.size >= limits.maxDays) {
      issues.push({ index, field: 'time', reason: `the batch spans more than ${limits.maxDays} UTC days` });
    } else days.add(day);
  }
}

interface SessionTotal {
  bytes: number;
  ms: number;
  /** Already reported: only the first event that crosses the bound is named. */
  bytesOver: boolean;
  msOver: boolean;
}

/** Adds the event to its session's sums in this batch; names it if it is the one that crosses the bound. */
function checkSessionTotal(
  event: ListenEvent,
  index: number,
  totals: Map<string, SessionTotal>,
  limit: number,
  issues: BatchIssue[],
): void {
  let total = totals.get(event.session);
  if (!total) {
    total = { bytes: 0, ms: 0, bytesOver: false, msOver: false };
    totals.set(event.session, total);
  }
  total.bytes += event.bytes;
  total.ms += Math.round(event.duration * 1000);
  if (!total.bytesOver && total.bytes > limit) {
    total.bytesOver = true;
    issues.push({
      index,
      field: 'bytes',
      reason: `brings the bytes of session ${JSON.stringify(event.session)} in this batch past ${limit}, more than a session can hold`,
    });
  }
  if (!total.msOver && total.ms > limit) {
    total.msOver = true;
    issues.push({
      index,
      field: 'duration',
      reason: `brings the duration of session ${JSON.stringify(event.session)} in this batch past ${limit} ms, more than a session can hold`,
    });
  }
}

/**
 * Validates a batch whole: core's checks of each event, then ingest's own (the ip, the time window,
 * the number of days, bytes against duration, each session's sums). Every issue of every event is
 * listed, with its index; nothing of a batch with an issue may be written. `enrich` sets each
 * event's country and origin from its ip before the ip is turned into a listener key and dropped.
 */
export function checkBatch(
  items: readonly unknown[],
  salt: string | undefined,
  limits: BatchLimits,
  enrich?: Enricher,
): { events: ListenEvent[]; issues: BatchIssue[] } {
  const events: ListenEvent[] = [];
  const issues: BatchIssue[] = [];
  const now = limits.now();
  const days = new Set<number>();
  const totalLimit = limits.maxSessionTotal ?? Number.MAX_SAFE_INTEGER;
  // The per-session sums only matter when the whole batch's could pass the bound: usually they
  // cannot, and the batch is spared a map entry per session.
  let batchBytes = 0;
  let batchMs = 0;
  const indexes: number[] = [];
  for (let index = 0; index < items.length; index++) {
    const result = parseEvent(items[index]);
    if (!result.ok) {
      for (const issue of result.issues) issues.push({ index, ...issue });
      continue;
    }
    const event = result.event;
    enrich?.(event);
    applyListener(event, index, salt, issues);
    checkTime(event, index, limits, now, days, issues);
    if (event.bytes > event.duration * limits.maxBytesPerS + SHORT_EVENT_ALLOWANCE_BYTES) {
      issues.push({
        index,
        field: 'bytes',
        reason: `is more than ${limits.maxBytesPerS} per second of duration plus ${SHORT_EVENT_ALLOWANCE_BYTES} (EARSHOT_MAX_BYTES_PER_S): ${event.bytes} bytes in ${event.duration} s`,
      });
    }
    batchBytes += event.bytes;
    batchMs += Math.round(event.duration * 1000);
    events.push(event);
    indexes.push(index);
  }
  if (batchBytes > totalLimit || batchMs > totalLimit) {
    const totals = new Map<string, SessionTotal>();
    for (let at = 0; at < events.length; at++) {
      checkSessionTotal(events[at]!, indexes[at]!, totals, totalLimit, issues);
    }
    // Each event's issues in the order of its checks, this one last, as if run in the loop above.
    issues.sort((a, b) => a.index - b.index);
  }
  return { events, issues };
}
