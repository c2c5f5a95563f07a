import {
  inEventTimeRange,
  type ListenEvent,
  MAX_DURATION_S,
  MAX_ID_LENGTH,
  MAX_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  parseTime,
} from './event.js';

/** Decodes `bytes[from, to)` to a string, byte by byte (latin1: it is only given ASCII to decode). */
export type AsciiDecoder = (bytes: Uint8Array, from: number, to: number) => string;

/** A plain decoder; Node's `Buffer.prototype.latin1Slice` does the same faster. */
export const decodeAscii: AsciiDecoder = (bytes, from, to) =>
  String.fromCharCode.apply(null, bytes.subarray(from, to) as unknown as number[]);

/**
 * End of the JSON string whose opening quote is at `at` (the index of its closing quote), or -1 when
 * it holds anything but printable ASCII without a backslash: no escapes then, no control characters
 * (so none in any field), and its bytes are its characters.
 */
function stringEnd(b: Uint8Array, at: number, last: number): number {
  for (let p = at + 1; p < last; p++) {
    const c = b[p]!;
    if (c === 34) return p;
    if (c < 0x20 || c === 0x5c || c > 0x7e) return -1;
  }
  return -1;
}

// Field bits, to refuse a field given twice (JSON.parse would keep the last one: the general path decides).
const F_ID = 1;
const F_SESSION = 2;
const F_STREAM = 4;
const F_OUTPUT = 8;
const F_TIME = 16;
const F_DURATION = 32;
const F_BYTES = 64;
const F_LISTENER = 128;
const F_UA = 256;
const F_IP = 512;
const REQUIRED = F_SESSION | F_STREAM | F_OUTPUT | F_TIME | F_DURATION | F_BYTES;

const codes = (word: string) => Array.from(word, (c) => c.charCodeAt(0));
const TIME = codes('time');
const BYTES = codes('bytes');
const STREAM = codes('stream');
const OUTPUT = codes('output');
const SESSION = codes('session');
const DURATION = codes('duration');
const LISTENER = codes('listener');
const HLS = codes('hls');
const SHOUTCAST = codes('shoutcast');

/** Whether `b[from, from + word.length)` holds the character codes `word`. */
function spells(b: Uint8Array, from: number, word: readonly number[]): boolean {
  for (let i = 0; i < word.length; i++) if (b[from + i] !== word[i]) return false;
  return true;
}

/** The bit of the field named by `b[from, to)`, or 0 for any other name. */
function fieldBit(b: Uint8Array, from: number, to: number): number {
  switch (to - from) {
    case 2: {
      const x = b[from];
      const y = b[from + 1];
      if (x === 105 && y === 100) return F_ID; // id
      if (x === 117 && y === 97) return F_UA; // ua
      if (x === 105 && y === 112) return F_IP; // ip
      return 0;
    }
    case 4:
      return spells(b, from, TIME) ? F_TIME : 0;
    case 5:
      return spells(b, from, BYTES) ? F_BYTES : 0;
    case 6:
      return spells(b, from, STREAM) ? F_STREAM : spells(b, from, OUTPUT) ? F_OUTPUT : 0;
    case 7:
      return spells(b, from, SESSION) ? F_SESSION : 0;
    case 8:
      return spells(b, from, DURATION) ? F_DURATION : spells(b, from, LISTENER) ? F_LISTENER : 0;
    default:
      return 0;
  }
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;

/** End of the JSON number token at `at` (RFC 8259 grammar), or -1 when there is none. */
function numberEnd(b: Uint8Array, at: number): number {
  let p = at;
  if (b[p] === 45) p++; // -
  const lead = b[p];
  if (lead === 48) p++;
  else if (lead !== undefined && lead >= 49 && lead <= 57) {
    p++;
    while (isDigit(b[p])) p++;
  } else return -1;
  if (b[p] === 46) {
    p++;
    if (!isDigit(b[p])) return -1;
    while (isDigit(b[p])) p++;
  }
  const e = b[p];
  if (e === 101 || e === 69) {
    p++;
    const sign = b[p];
    if (sign === 43 || sign === 45) p++;
    if (!isDigit(b[p])) return -1;
    while (isDigit(b[p])) p++;
  }
  return p;
}

/** The value of the JSON number token `b[from, to)` (`text` from byte `offset` on), as JSON.parse reads it. */
function numberValue(b: Uint8Array, from: number, to: number, text: string, offset: number): number {
  const negative = b[from] === 45;
  const start = negative ? from + 1 : from;
  // Up to 15 digits and nothing else: exact in a double, so plain arithmetic gives JSON.parse's value.
  if (to - start <= 15) {
    let n = 0;
    let p = start;
    for (; p < to; p++) {
      const c = b[p]!;
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
    }
    if (p === to) return negative ? -n : n;
  }
  // Number() and JSON.parse both round a decimal literal to the nearest double.
  return Number(text.slice(from - offset, to - offset));
}

/**
 * The fast path of `parseEvent(JSON.parse(text))` for one line of bytes `b[start, end)` of the shape
 * event exports nearly always have: one compact JSON object of printable ASCII without escapes, each
 * known field once, strings and numbers only. Returns exactly the event `parseEvent` would, or
 * undefined whenever the line is anything else (other shapes, whitespace, escapes, non-ASCII, null,
 * an invalid field): then run `JSON.parse` and {@link parseEvent}, which accept the other valid
 * lines and word the errors of the bad ones.
 */
export function parseEventLine(
  b: Uint8Array,
  start: number,
  end: number,
  decode: AsciiDecoder = decodeAscii,
): ListenEvent | undefined {
  const last = end - 1;
  if (last <= start || b[start] !== 123 || b[last] !== 125) return undefined;
  let seen = 0;
  let id = '';
  let session = '';
  let stream = '';
  let output: 'hls' | 'shoutcast' | undefined;
  let listener = '';
  let ua = '';
  let ip = '';
  let time: number | string = 0;
  let duration = 0;
  let bytes = 0;
  // The line is decoded once (one call into the decoder), its fields cut from that text. Not
  // lazily: a closure over it cost some 160 bytes of garbage a line, a fifth of the parse's.
  const line = decode(b, start, end);
  let p = start + 1;
  for (;;) {
    if (b[p] !== 34) return undefined; // "
    const keyEnd = stringEnd(b, p, last);
    if (keyEnd < 0 || b[keyEnd + 1] !== 58) return undefined; // :
    const bit = fieldBit(b, p + 1, keyEnd);
    if (bit === 0 || (seen & bit) !== 0) return undefined;
    seen |= bit;
    const at = keyEnd + 2;
    let next: number;
    if (b[at] === 34) {
      const close = stringEnd(b, at, last);
      if (close < 0) return undefined;
      next = close + 1;
      if (bit === F_OUTPUT) {
        if (close - at === 4 && spells(b, at + 1, HLS)) output = 'hls';
        else if (close - at === 10 && spells(b, at + 1, SHOUTCAST)) output = 'shoutcast';
        else return undefined;
      } else {
        const value = line.slice(at + 1 - start, close - start);
        switch (bit) {
          case F_ID:
            id = value;
            break;
          case F_SESSION:
            session = value;
            break;
          case F_STREAM:
            stream = value;
            break;
          case F_TIME:
            time = value;
            break;
          case F_LISTENER:
            listener = value;
            break;
          case F_UA:
            ua = value;
            break;
          case F_IP:
            ip = value;
            break;
          default:
            return undefined; // a string where a number belongs
        }
      }
    } else {
      next = numberEnd(b, at);
      if (next < 0) return undefined;
      const value = numberValue(b, at, next, line, start);
      if (bit === F_TIME) time = value;
      else if (bit === F_DURATION) duration = value;
      else if (bit === F_BYTES) bytes = value;
      else return undefined; // a number where a string belongs
    }
    const c = b[next];
    if (c === 44)
      p = next + 1; // ,
    else if (c === 125 && next === last)
      break; // }
    else return undefined;
  }
  // The checks of parseEvent, for values known to be strings without control characters and numbers.
  if ((seen & REQUIRED) !== REQUIRED || output === undefined) return undefined;
  if (session.length < 1 || session.length > MAX_KEY_LENGTH) return undefined;
  if (stream.length < 1 || stream.length > MAX_KEY_LENGTH) return undefined;
  let ms: number;
  if (typeof time === 'number') {
    // parseTime's rule for epoch ms, without its result object: a tenth of the parse's garbage.
    if (!Number.isInteger(time) || !inEventTimeRange(time)) return undefined;
    ms = time;
  } else {
    const parsed = parseTime(time);
    if (!parsed.ok) return undefined;
    ms = parsed.ms;
  }
  if (!Number.isFinite(duration) || duration < 0 || duration > MAX_DURATION_S) return undefined;
  if (!Number.isSafeInteger(bytes) || bytes < 0) return undefined;
  if (id.length > MAX_ID_LENGTH || listener.length > MAX_ID_LENGTH) return undefined;
  if (ua.length > MAX_TEXT_LENGTH || ip.length > MAX_TEXT_LENGTH) return undefined;
  const event: ListenEvent = { session, stream, output, time: ms, duration, bytes };
  if (id !== '') event.id = id;
  if (listener !== '') event.listener = listener;
  if (ua !== '') event.ua = ua;
  if (ip !== '') event.ip = ip;
  return event;
}
