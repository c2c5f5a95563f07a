import type { ListenEvent } from '@earshot/core';
import { createRandom, type Seed } from './random.js';

/** A copy of `items` in a random order (Fisher-Yates), the same for the same seed. */
export function shuffled<T>(items: readonly T[], seed: Seed): T[] {
  const out = items.slice();
  const rng = createRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/** How {@link withDuplicates} re-sends events. */
export interface DuplicateOptions {
  seed: Seed;
  /** Share of events sent twice. Default 0.02. */
  rate?: number;
  /** The copy arrives up to this many events after the original. Default 200. */
  maxLag?: number;
}

/**
 * The events with some of them sent again (same `id`, same content), each copy a little later in
 * the sequence, as a logger's retried batch would be. Ingest and reports must count each once.
 */
export function withDuplicates(events: readonly ListenEvent[], options: DuplicateOptions): ListenEvent[] {
  const rate = options.rate ?? 0.02;
  const maxLag = Math.max(1, Math.floor(options.maxLag ?? 200));
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`rate must be between 0 and 1, got ${rate}`);
  const rng = createRandom(options.seed);
  // Each event gets a position; a copy sits `lag` positions after its original (stable on ties).
  const placed: { at: number; order: number; event: ListenEvent }[] = [];
  events.forEach((event, i) => {
    placed.push({ at: i, order: placed.length, event });
    if (rng.chance(rate))
      placed.push({ at: i + rng.int(1, maxLag) + 0.5, order: placed.length, event: { ...event } });
  });
  placed.sort((a, b) => a.at - b.at || a.order - b.order);
  return placed.map((p) => p.event);
}

/** How {@link inBatches} cuts and delays batches. */
export interface BatchOptions {
  /** Events per batch (the last may be smaller). */
  size: number;
  /** Seed for which batches come late. Default 0. */
  seed?: Seed;
  /** Share of batches delivered late. Default 0. */
  lateShare?: number;
  /** A late batch arrives up to this many batches after its place. Default 20. */
  maxDelay?: number;
}

/**
 * Cuts events into batches as a logger's sink would send them, delaying some batches (`lateShare`)
 * by 1..`maxDelay` batches: a late batch (a retry after an outage, a slow client) arrives after
 * events that happened later.
 */
export function inBatches<T>(events: readonly T[], options: BatchOptions): T[][] {
  const size = Math.floor(options.size);
  if (!(size >= 1)) throw new RangeError(`size must be at least 1, got ${options.size}`);
  const lateShare = options.lateShare ?? 0;
  if (!(lateShare >= 0 && lateShare <= 1))
    throw new RangeError(`lateShare must be between 0 and 1, got ${lateShare}`);
  const maxDelay = Math.max(1, Math.floor(options.maxDelay ?? 20));
  const rng = createRandom(options.seed ?? 0);
  const placed: { at: number; order: number; batch: T[] }[] = [];
  for (let i = 0, n = 0; i < events.length; i += size, n++) {
    const batch = events.slice(i, i + size);
    const delay = lateShare > 0 && rng.chance(lateShare) ? rng.int(1, maxDelay) + 0.5 : 0;
    placed.push({ at: n + delay, order: n, batch });
  }
  placed.sort((a, b) => a.at - b.at || a.order - b.order);
  return placed.map((p) => p.batch);
}

/** Events as NDJSON: one JSON object per line, each line ending in `\n`. */
export function toNdjson(events: Iterable<ListenEvent>): string {
  let out = '';
  for (const event of events) out += `${JSON.stringify(event)}\n`;
  return out;
}
