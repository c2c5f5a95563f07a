import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEvent } from './event.js';
import { parseEventLine as parseBytes } from './event-line.js';

/** A line's UTF-8 bytes (as read from a file), parsed by the fast path. */
function parseEventLine(line: string) {
  const bytes = Uint8Array.from(unescape(encodeURIComponent(line)), (c) => c.charCodeAt(0));
  return parseBytes(bytes, 0, bytes.length);
}

/** What the general path makes of a line: the event, or undefined for a bad line. */
function general(line: string) {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = parseEvent(value);
  return parsed.ok ? parsed.event : undefined;
}

const exportLine =
  '{"id":"01a19fc8-6b96-7de4-939c-837066779d0d","session":"d15aacd0-bc3c-4aee-b56e-555c722188191","stream":"main","output":"hls","time":1793682074518,"duration":10.016,"bytes":420,"listener":"f8cdd92f69be4482ce4dac7a42b05841","ua":"VLC/3.0.20 LibVLC/3.0.20","ip":"8.8.214.176"}';

describe('parseEventLine', () => {
  it('reads an exported event exactly as JSON.parse + parseEvent do', () => {
    const fast = parseEventLine(exportLine);
    expect(fast).toBeDefined();
    expect(fast).toStrictEqual(general(exportLine));
  });

  it('reads a line in the middle of a buffer of several (as a file chunk holds them)', () => {
    const text = `x\n${exportLine}\n{"session":"s","stream":"a","output":"shoutcast","time":1793682074518,"duration":30.016,"bytes":2}\n`;
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const first = text.indexOf('{');
    const second = text.indexOf('{', first + 1);
    expect(parseBytes(bytes, first, second - 1)).toStrictEqual(general(exportLine));
    expect(parseBytes(bytes, second, text.length - 1)).toStrictEqual(general(text.slice(second, -1)));
    expect(parseBytes(bytes, first, second)).toBeUndefined(); // the newline is no part of a line
  });

  it('leaves every other shape to the general path (undefined), never accepting a bad line', () => {
    const lines = [
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":0,"bytes":1}',
      '{"session": "s","stream":"a","output":"hls","time":1793682074518,"duration":0,"bytes":1}',
      '{"session":"s\\u0041","stream":"a","output":"hls","time":1793682074518,"duration":0,"bytes":1}',
      '{"session":"s","session":"t","stream":"a","output":"hls","time":1793682074518,"duration":0,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":0,"bytes":1,"ua":null}',
      '{"session":"sé","stream":"a","output":"hls","time":1793682074518,"duration":0,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":"2026-11-01T09:15:00.000Z","duration":1e1,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":"2026-02-30T09:15:00.000Z","duration":1,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518.5,"duration":1,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":-0,"bytes":-0}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":01,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1.,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":9007199254740993}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":86400.0000001,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1e999,"bytes":1}',
      '{"session":"s","stream":"a","output":"icy","time":1793682074518,"duration":1,"bytes":1}',
      '{"session":"","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1,"id":""}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1,"id":7}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":"1","bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1,"country":"US"}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1}x',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1,}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1',
      '{"session":"s\u007f","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":946684799999,"duration":1,"bytes":1}',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1,"__proto__":1}',
      '{}',
      '[]',
      '{"session":"s","stream":"a","output":"hls","time":1793682074518,"duration":1,"bytes":1,"ua":"x"}',
    ];
    for (const line of lines) {
      const fast = parseEventLine(line);
      if (fast !== undefined) expect(fast, line).toStrictEqual(general(line));
    }
    // The plain ones do take the fast path.
    expect(parseEventLine(lines[0]!)).toBeDefined();
    expect(parseEventLine(lines[6]!)).toBeDefined();
    expect(parseEventLine(lines[9]!)).toBeDefined();
    expect(parseEventLine(lines[17]!)).toBeDefined();
    expect(parseEventLine(lines[29]!)).toBeDefined();
  });

  it('equals JSON.parse + parseEvent on generated lines, valid or not', () => {
    const text = fc.oneof(
      fc.constantFrom(
        '',
        'a',
        'main',
        'hls',
        'shoutcast',
        'x'.repeat(128),
        'x'.repeat(129),
        'x'.repeat(1025),
      ),
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    );
    const number = fc.oneof(
      fc.integer({ min: -5, max: 100_000 }),
      fc.constantFrom(0, -0, 86_400, 86_400.001, 1793682074518, 946684800000, 4102444800001, 2 ** 53, 1e21),
      fc.double({ noNaN: true }),
      fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
    );
    const value = fc.oneof(
      text,
      number,
      fc.constantFrom(
        null,
        true,
        '2026-11-01T09:15:00.000Z',
        '2026-11-01T09:15:00+01:00',
        '2026-13-01T00:00Z',
      ),
    );
    const fields = ['id', 'session', 'stream', 'output', 'time', 'duration', 'bytes', 'listener', 'ua', 'ip'];
    const good = {
      session: fc.oneof(text, fc.uuid()),
      stream: text,
      output: fc.constantFrom('hls', 'shoutcast', 'icy'),
      time: fc.oneof(fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }), value),
      duration: fc.oneof(
        fc.integer({ min: 0, max: 86_400_000 }).map((ms) => ms / 1000),
        value,
      ),
      bytes: fc.oneof(fc.nat(), value),
    };
    const event = fc.record(
      {
        ...good,
        id: fc.oneof(fc.uuid(), text, value),
        listener: fc.oneof(text, value),
        ua: fc.oneof(text, value),
        ip: fc.oneof(text, value),
        extra: value,
      },
      { requiredKeys: [] },
    );
    const line = fc.oneof(
      event.map((e) => JSON.stringify(e)),
      // Raw text: field order, duplicates and odd numbers JSON.stringify would not write.
      fc
        .array(fc.tuple(fc.constantFrom(...fields, 'other'), value), { maxLength: 12 })
        .chain((pairs) =>
          fc
            .constantFrom('', ' ')
            .map((space) => `{${pairs.map(([k, v]) => `"${k}":${space}${JSON.stringify(v)}`).join(',')}}`),
        ),
      fc
        .tuple(event, fc.constantFrom('1.50', '-0', '0.0', '1E2', '12345678901234567', '1.7936820745180e12'))
        .map(([e, n]) => JSON.stringify(e).replace(/"duration":[^,}]*/, `"duration":${n}`)),
    );
    fc.assert(
      fc.property(line, (l) => {
        const fast = parseEventLine(l);
        const slow = general(l);
        if (fast !== undefined) expect(fast).toStrictEqual(slow);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the fast path for every valid compact event of printable ASCII', () => {
    const ascii = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    });
    const key = ascii.filter((s) => s.length >= 1 && s.length <= 128 && !/["\\]/.test(s));
    const optional = fc.option(
      ascii.filter((s) => s.length <= 128 && !/["\\]/.test(s)),
      { nil: undefined },
    );
    const event = fc.record(
      {
        id: optional,
        session: key,
        stream: key,
        output: fc.constantFrom('hls', 'shoutcast'),
        time: fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
        duration: fc.integer({ min: 0, max: 86_400_000 }).map((ms) => ms / 1000),
        bytes: fc.nat(),
        listener: optional,
        ua: optional,
        ip: optional,
      },
      { requiredKeys: ['session', 'stream', 'output', 'time', 'duration', 'bytes'] },
    );
    fc.assert(
      fc.property(event, (e) => {
        const line = JSON.stringify(e);
        const fast = parseEventLine(line);
        expect(fast).toBeDefined();
        expect(fast).toStrictEqual(general(line));
      }),
      { numRuns: 2000 },
    );
  });
});
