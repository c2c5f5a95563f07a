import { buildReport, type Daypart, type ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { formatHms, formatNumber, formatTable, renderColumns } from './format-table.js';
import { terminalSafe } from './terminal-text.js';

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

describe('terminal safety of the table', () => {
  // Every character a terminal acts on: C0, DEL, C1 and the bidi controls.
  const unsafe = [
    ...Array.from({ length: 0x20 }, (_, i) => i),
    0x7f,
    ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i),
    0x061c,
    0x200e,
    0x200f,
    0x202a,
    0x202b,
    0x202c,
    0x202d,
    0x202e,
    0x2066,
    0x2067,
    0x2068,
    0x2069,
  ];
  const charClass = (codes: number[]) =>
    new RegExp(`[${codes.map((c) => `\\u${c.toString(16).padStart(4, '0')}`).join('')}]`);
  // What the whole table must not hold (its lines end in a line feed).
  const UNSAFE_BUT_NEWLINE = charClass(unsafe.filter((c) => c !== 0x0a));

  it('replaces C0, DEL, C1 and bidi controls by a visible <U+XXXX>, and nothing else', () => {
    for (const code of unsafe) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      expect(terminalSafe(`a${String.fromCharCode(code)}b`)).toBe(`a<U+${hex}>b`);
    }
    // Neighbours of the ranges, and ordinary text in any script, stay as they are.
    const fine = 'main \u00a0\u00e9\u061b\u061d\u200d\u2010\u2029\u202f\u2065\u206a 日本 🎵 Ünïcødé';
    expect(terminalSafe(fine)).toBe(fine);
    expect(terminalSafe('a\nb', { keepNewlines: true })).toBe('a\nb');
    expect(terminalSafe('a\r\nb', { keepNewlines: true })).toBe('a<U+000D>\nb');
    expect(terminalSafe('a\nb')).toBe('a<U+000A>b');
  });

  it('keeps the columns aligned when a cell had controls', () => {
    expect(
      renderColumns(
        ['stream', 'AQH'],
        [
          ['a\u202eb', '1.5'],
          ['\u009b31mred', '12.0'],
        ],
      ),
    ).toBe('stream           AQH\na<U+202E>b       1.5\n<U+009B>31mred  12.0');
  });

  it('prints no control from stream names, the source or the daypart', () => {
    const stream = 'main\u202e3pm\u009b2J\u0085\u2066x\u2069';
    const events: ListenEvent[] = Array.from({ length: 20 }, (_, i) => ({
      id: `e${i}`,
      session: i < 10 ? 's1' : 's2',
      stream: i < 10 ? stream : 'other\u200f',
      output: 'shoutcast',
      time: Date.UTC(2026, 10, 2, 8, 0, 30 * (i % 10) + 30),
      duration: 30,
      bytes: 1000,
      listener: 'L',
    }));
    const report = buildReport(
      [...events, ...events.map((e) => ({ ...e, id: `${e.id}b`, session: `${e.session}b` }))],
      { minSessionS: 60 },
    );
    expect(report.summary.map((s) => s.stream).sort()).toEqual([stream, 'other\u200f'].sort());
    const daypart: Daypart = {
      name: 'drive\u202e',
      spec: 'Mon-Sun 06:00-10:00',
      weekdays: [1, 2, 3, 4, 5, 6, 7],
      startMin: 360,
      endMin: 600,
    };
    const text = formatTable(report, {
      source: 'file evil\u001b]0;title\u0007.ndjson',
      skipped: 0,
      shortByStream: new Map([[stream, 1]]),
      daypart,
    });
    expect(text).not.toMatch(UNSAFE_BUT_NEWLINE);
    expect(text).toContain('main<U+202E>3pm<U+009B>2J<U+0085><U+2066>x<U+2069>');
    expect(text).toContain('other<U+200F>');
    expect(text).toContain('file evil<U+001B>]0;title<U+0007>.ndjson');
    expect(text).toContain('drive<U+202E>');
  });
});
