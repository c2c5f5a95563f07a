import { describe, expect, it } from 'vitest';
import { defaultThreads, splitRanges } from './read-file.js';

describe('reader threads', () => {
  it('uses one per core (up to 4) only for big plain files on machines with 4 cores or more', () => {
    const big = 300 * 1024 * 1024;
    expect(defaultThreads('events.ndjson', big, 2)).toBe(1);
    expect(defaultThreads('events.ndjson', big, 4)).toBe(4);
    expect(defaultThreads('events.ndjson', big, 16)).toBe(4);
    expect(defaultThreads('events.ndjson', 1024, 16)).toBe(1);
    expect(defaultThreads('-', big, 16)).toBe(1);
  });

  it('cuts a file into byte ranges that cover it, the last one open-ended', () => {
    expect(splitRanges(10, 3)).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 6 },
      { start: 6, end: Number.POSITIVE_INFINITY },
    ]);
    expect(splitRanges(10, 1)).toEqual([{ start: 0, end: Number.POSITIVE_INFINITY }]);
  });
});
