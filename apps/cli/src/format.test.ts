import { describe, expect, it } from 'vitest';
import { formatHms, formatNumber, renderColumns } from './format-table.js';

describe('table formatting', () => {
  it('writes seconds as h:mm:ss', () => {
    expect(formatHms(0)).toBe('0:00:00');
    expect(formatHms(1767.7)).toBe('0:29:28');
    expect(formatHms(3600 * 26 + 61)).toBe('26:01:01');
    expect(formatHms(Number.NaN)).toBe('-');
  });

  it('rounds numbers with separators', () => {
    expect(formatNumber(1234567.891, 1)).toBe('1,234,567.9');
    expect(formatNumber(24.25, 1)).toBe('24.3');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('-');
  });

  it('aligns text left and numbers right', () => {
    expect(
      renderColumns(
        ['stream', 'AQH'],
        [
          ['main', '1.5'],
          ['main-mp3', '12.0'],
        ],
      ),
    ).toBe('stream     AQH\nmain       1.5\nmain-mp3  12.0');
  });
});
