import { buildReport, parseEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { inBatches, shuffled, toNdjson, withDuplicates } from './delivery.js';
import { generateStation } from './station.js';

const events = generateStation({ seed: 3, start: Date.UTC(2026, 10, 3, 11), hours: 2, listeners: 25 });
const byId = (a: { id?: string }, b: { id?: string }) => (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0);

describe('shuffled', () => {
  it('is a seeded permutation', () => {
    const a = shuffled(events, 1);
    expect(a).toEqual(shuffled(events, 1));
    expect(a).not.toEqual(events);
    expect(a.slice().sort(byId)).toEqual(events.slice().sort(byId));
  });
});

describe('withDuplicates', () => {
  it('re-sends about `rate` of the events with the same id, a little later', () => {
    const doubled = withDuplicates(events, { seed: 1, rate: 0.1, maxLag: 50 });
    const extra = doubled.length - events.length;
    expect(extra / events.length).toBeGreaterThan(0.08);
    expect(extra / events.length).toBeLessThan(0.12);
    expect(new Set(doubled.map((e) => e.id)).size).toBe(events.length);
    // Every copy comes after its original, at most maxLag (+ copies in between) later.
    const firstAt = new Map<string, number>();
    doubled.forEach((event, i) => {
      const seen = firstAt.get(event.id!);
      if (seen === undefined) firstAt.set(event.id!, i);
      else {
        expect(i).toBeGreaterThan(seen);
        expect(i - seen).toBeLessThan(100);
      }
    });
    expect(withDuplicates(events, { seed: 1, rate: 0 })).toEqual(events);
  });

  it('does not change the report', () => {
    const doubled = withDuplicates(events, { seed: 2, rate: 0.2 });
    expect(buildReport(doubled)).toEqual(buildReport(events));
  });
});

describe('inBatches', () => {
  it('cuts into batches of `size` and keeps every event once', () => {
    const batches = inBatches(events, { size: 100 });
    expect(batches.slice(0, -1).every((b) => b.length === 100)).toBe(true);
    expect(batches.flat()).toEqual(events);
  });

  it('delivers about lateShare of the batches late, after later events', () => {
    const batches = inBatches(events, { size: 50, seed: 4, lateShare: 0.2, maxDelay: 5 });
    expect(batches.flat().slice().sort(byId)).toEqual(events.slice().sort(byId));
    const firstTimes = batches.map((b) => b[0]!.time);
    const late = firstTimes.filter((t, i) => i > 0 && t < firstTimes[i - 1]!).length;
    expect(late / batches.length).toBeGreaterThan(0.08);
    expect(late / batches.length).toBeLessThan(0.3);
    expect(inBatches(events, { size: 50, seed: 4, lateShare: 0.2, maxDelay: 5 })).toEqual(batches);
  });

  it('leaves the report unchanged, however late or shuffled', () => {
    const delivered = inBatches(shuffled(withDuplicates(events, { seed: 5 }), 6), {
      size: 30,
      seed: 7,
      lateShare: 0.3,
    }).flat();
    expect(buildReport(delivered)).toEqual(buildReport(events));
  });
});

describe('toNdjson', () => {
  it('writes one parseable event per line', () => {
    const lines = toNdjson(events.slice(0, 20)).split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => parseEvent(JSON.parse(l)).ok)).toEqual(Array(20).fill(true));
  });
});
