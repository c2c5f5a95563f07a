import { durationMsOf, type ListenEvent } from './event.js';

/** One minute, in milliseconds. */
export const MINUTE_MS = 60_000;
/**
 * One quarter-hour (QH), in milliseconds. QHs start at :00 :15 :30 :45. Every UTC offset in use is a
 * multiple of 15 minutes, so UTC QHs are local QHs (Nielsen, Triton).
 */
export const QUARTER_HOUR_MS = 900_000;

/** Start of the bucket of `size` ms holding instant `ms` (UTC-aligned), in epoch ms. */
export function bucketStart(ms: number, sizeMs: number): number {
  return Math.floor(ms / sizeMs) * sizeMs;
}

/** Where {@link placeEvent} adds milliseconds: a Map from bucket start (epoch ms) to ms, or the like. */
export interface BucketTarget {
  get(bucket: number): number | undefined;
  set(bucket: number, ms: number): unknown;
}

/**
 * Adds the milliseconds of audio an event carries to the buckets of `sizeMs` it overlaps. The event
 * covers `(time - duration, time]` and its audio is spread evenly over it, so each bucket `[a, a+size)`
 * gets the length of the overlap. Integer milliseconds throughout, so sums are exact in any order.
 */
export function placeEvent(time: number, durationMs: number, sizeMs: number, into: BucketTarget): void {
  if (durationMs <= 0) return;
  const begin = time - durationMs;
  let bucket = bucketStart(begin, sizeMs);
  while (bucket < time) {
    const next = bucket + sizeMs;
    const ms = Math.min(time, next) - Math.max(begin, bucket);
    if (ms > 0) into.set(bucket, (into.get(bucket) ?? 0) + ms);
    bucket = next;
  }
}

/**
 * Listening milliseconds of a set of events, by bucket start (epoch ms), for buckets of `sizeMs`
 * (use {@link MINUTE_MS} or {@link QUARTER_HOUR_MS}).
 */
export function placeSeconds(events: Iterable<ListenEvent>, sizeMs: number): Map<number, number> {
  const into = new Map<number, number>();
  for (const event of events) placeEvent(event.time, durationMsOf(event), sizeMs, into);
  return into;
}

/** Formats epoch ms as ISO-8601 UTC with milliseconds, the one time format of reports. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
