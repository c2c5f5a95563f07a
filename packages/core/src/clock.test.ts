import { describe, expect, it } from 'vitest';
import { MINUTE_MS, placeEvent, QUARTER_HOUR_MS } from './clock.js';

const T = Date.UTC(2026, 10, 1, 7, 0);

describe('placeEvent', () => {
  it('spreads an event over (time - duration, time] by bucket', () => {
    const into = new Map<number, number>();
    // 120 s ending at 07:01:30 covers 06:59:30-07:01:30: 30 s, 60 s and 30 s.
    placeEvent(T + 90_000, 120_000, MINUTE_MS, into);
    expect([...into]).toEqual([
      [T - MINUTE_MS, 30_000],
      [T, 60_000],
      [T + MINUTE_MS, 30_000],
    ]);
  });

  it('puts an event ending on a boundary wholly before it', () => {
    const into = new Map<number, number>();
    placeEvent(T, 10_000, QUARTER_HOUR_MS, into);
    expect([...into]).toEqual([[T - QUARTER_HOUR_MS, 10_000]]);
  });

  it('places nothing for a zero-duration event and adds to existing buckets', () => {
    const into = new Map<number, number>([[T, 5]]);
    placeEvent(T + 1000, 0, MINUTE_MS, into);
    placeEvent(T + 1000, 1000, MINUTE_MS, into);
    expect([...into]).toEqual([[T, 1005]]);
  });
});
