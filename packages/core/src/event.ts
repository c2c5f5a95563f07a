import type { Origin } from './audience.js';

/** Which output delivered an event: a continuous Shoutcast/ICY-style HTTP stream, or HLS. */
export type Output = 'shoutcast' | 'hls';

/** The outputs a listen event may name. */
export const OUTPUTS: readonly Output[] = ['shoutcast', 'hls'];

/**
 * One listen event: some audio delivered to one listener (DESIGN section 2).
 *
 * The event covers the interval `(time - duration, time]`; its seconds are spread evenly over it.
 */
export interface ListenEvent {
  /**
   * Unique per event (UUIDv7 from the logger). Events with the same id and `time` are one event (a
   * retried batch repeats both); ingest stores events under (id, time), the key of a day-partitioned table.
   */
  id?: string;
  /** Session id, 1..128 characters. */
  session: string;
  /** Stream key; for an HLS master-playlist event, the stream group key. 1..128 characters. */
  stream: string;
  /**
   * Which output delivered it: `shoutcast` (a tick or the close of a continuous HTTP stream) or
   * `hls` (a master-playlist start event, or one segment).
   */
  output: Output;
  /** When the delivery this event reports ended, epoch milliseconds (integer). */
  time: number;
  /** Seconds of audio delivered, 0..86400. */
  duration: number;
  /** Bytes delivered, an integer >= 0. */
  bytes: number;
  /** Privacy-safe listener key (salted hash of IP + user agent), used for cume. 1..128 characters. */
  listener?: string;
  /** Client user agent, up to 1024 characters. */
  ua?: string;
  /** Client IP, up to 1024 characters. Never stored: ingest turns it into `listener` and drops it. */
  ip?: string;
  /**
   * ISO 3166-1 alpha-2 country of `ip`, looked up by ingest (or the offline CLI) before the IP is
   * dropped. Not accepted from a client.
   */
  country?: string;
  /** Set when `ip` is in a configured relay or monitor range (by ingest). Not accepted from a client. */
  origin?: Origin;
}

/** What is wrong with one field of one event. */
export interface EventIssue {
  /** The field at fault (`time`, `bytes`, an unknown field's name), or `''` for the event as a whole. */
  field: string;
  /** What is wrong, worded to follow the field's name: `is required`, `must be an integer >= 0`. */
  reason: string;
}

/** Result of {@link parseEvent}: the normalized event, or every problem found. */
export type ParseEventResult = { ok: true; event: ListenEvent } | { ok: false; issues: EventIssue[] };

/** Longest accepted `session` and `stream`, in characters. */
export const MAX_KEY_LENGTH = 128;
/** Longest accepted `duration`, in seconds (one day). */
export const MAX_DURATION_S = 86_400;
/**
 * Longest accepted `id` and `listener`, in characters. Both are index keys in PostgreSQL (whose
 * btree entries hold at most 2704 bytes), and a UUIDv7 or a hex listener hash is far shorter.
 */
export const MAX_ID_LENGTH = 128;
/** Longest accepted `ua` and `ip`, in characters. */
export const MAX_TEXT_LENGTH = 1024;

// Epoch ms accepted for `time`: 2000-01-01 .. 2100-01-01. Outside that is a unit mistake
// (seconds instead of milliseconds) far more often than a real event.
const MIN_TIME_MS = 946_684_800_000;
const MAX_TIME_MS = 4_102_444_800_000;
// ISO-8601 with an explicit zone; a zoneless time would silently be read in the host's zone.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const KNOWN_FIELDS = new Set([
  'id',
  'session',
  'stream',
  'output',
  'time',
  'duration',
  'bytes',
  'listener',
  'ua',
  'ip',
]);

/**
 * Whether the date and time fields that start an ISO-8601 text (`YYYY-MM-DD[THH:MM[:SS]]`) name a
 * real calendar instant. `Date.parse` does not check them: it reads 2026-02-30 as 2026-03-02.
 */
export function isCalendarTime(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x ?? 0)) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59
  );
}

/**
 * Parses an ISO-8601 string (with a zone) or epoch milliseconds into integer epoch milliseconds.
 * Returns a reason instead of throwing for bad input.
 */
export function parseTime(value: unknown): { ok: true; ms: number } | { ok: false; reason: string } {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { ok: false, reason: 'must be an integer of epoch milliseconds' };
    ms = value;
  } else if (typeof value === 'string') {
    if (!ISO_WITH_ZONE.test(value)) {
      return {
        ok: false,
        reason: 'must be an ISO-8601 time with a zone (2026-11-01T09:15:00.000Z) or epoch ms',
      };
    }
    ms = Date.parse(value);
    if (Number.isNaN(ms) || !isCalendarTime(value)) return { ok: false, reason: 'is not a valid date' };
  } else {
    return { ok: false, reason: 'must be an ISO-8601 string or epoch milliseconds' };
  }
  if (!inEventTimeRange(ms)) {
    return { ok: false, reason: 'is outside 2000-01-01..2100-01-01 (seconds instead of milliseconds?)' };
  }
  return { ok: true, ms };
}

/** @internal Whether epoch ms `ms` (not NaN) is in the range {@link parseTime} accepts. */
export function inEventTimeRange(ms: number): boolean {
  return ms >= MIN_TIME_MS && ms <= MAX_TIME_MS;
}

// Control characters have no business in keys or user agents, and U+0000 cannot be stored in
// PostgreSQL text at all; refusing them also leaves U+001F free as eventKey's field separator.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A JSON object's fields, with an issue for each field not in `known` (`is not a <kind> field`); a
 * value that is no object is one issue on the whole (field `''`: `<whole> must be a JSON object`).
 */
export function objectFields(
  input: unknown,
  known: ReadonlySet<string>,
  names: { whole: string; kind: string },
): { raw: Record<string, unknown> | undefined; issues: EventIssue[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { raw: undefined, issues: [{ field: '', reason: `${names.whole} must be a JSON object` }] };
  }
  const raw = input as Record<string, unknown>;
  const issues: EventIssue[] = [];
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) issues.push({ field: key, reason: `is not a ${names.kind} field` });
  }
  return { raw, issues };
}

function checkKey(value: unknown, field: string, issues: EventIssue[]): string {
  if (typeof value !== 'string') {
    issues.push({ field, reason: value === undefined ? 'is required' : 'must be a string' });
    return '';
  }
  if (value.length < 1 || value.length > MAX_KEY_LENGTH) {
    issues.push({ field, reason: `must be 1..${MAX_KEY_LENGTH} characters` });
  } else if (CONTROL.test(value)) {
    issues.push({ field, reason: 'must not contain control characters' });
  }
  return value;
}

function checkOptionalText(
  value: unknown,
  field: string,
  issues: EventIssue[],
  maxLength = MAX_TEXT_LENGTH,
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    issues.push({ field, reason: 'must be a string' });
    return undefined;
  }
  if (value.length > maxLength) issues.push({ field, reason: `must be at most ${maxLength} characters` });
  else if (CONTROL.test(value)) issues.push({ field, reason: 'must not contain control characters' });
  return value === '' ? undefined : value;
}

/**
 * Validates one listen event (DESIGN section 2) and normalizes it: `time` becomes integer epoch
 * milliseconds, empty optional strings are dropped. Never throws: a bad event yields every issue
 * found, each naming its field. Unknown fields are rejected so that a typo does not pass silently.
 */
export function parseEvent(input: unknown): ParseEventResult {
  const { raw, issues } = objectFields(input, KNOWN_FIELDS, {
    whole: 'an event',
    kind: 'listen-event',
  });
  if (!raw) return { ok: false, issues };
  const id = checkOptionalText(raw.id, 'id', issues, MAX_ID_LENGTH);
  const session = checkKey(raw.session, 'session', issues);
  const stream = checkKey(raw.stream, 'stream', issues);
  const output = raw.output;
  if (output !== 'shoutcast' && output !== 'hls') {
    issues.push({
      field: 'output',
      reason: output === undefined ? 'is required' : 'must be "shoutcast" or "hls"',
    });
  }
  let time = 0;
  if (raw.time === undefined) issues.push({ field: 'time', reason: 'is required' });
  else {
    const parsed = parseTime(raw.time);
    if (parsed.ok) time = parsed.ms;
    else issues.push({ field: 'time', reason: parsed.reason });
  }
  const duration = raw.duration;
  if (typeof duration !== 'number' || !Number.isFinite(duration)) {
    issues.push({
      field: 'duration',
      reason: duration === undefined ? 'is required' : 'must be a number of seconds',
    });
  } else if (duration < 0 || duration > MAX_DURATION_S) {
    issues.push({ field: 'duration', reason: `must be between 0 and ${MAX_DURATION_S} seconds` });
  }
  const bytes = raw.bytes;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    issues.push({ field: 'bytes', reason: bytes === undefined ? 'is required' : 'must be an integer >= 0' });
  }
  const listener = checkOptionalText(raw.listener, 'listener', issues, MAX_ID_LENGTH);
  const ua = checkOptionalText(raw.ua, 'ua', issues);
  const ip = checkOptionalText(raw.ip, 'ip', issues);
  if (issues.length > 0) return { ok: false, issues };

  const event: ListenEvent = {
    session,
    stream,
    output: output as Output,
    time,
    duration: duration as number,
    bytes: bytes as number,
  };
  if (id !== undefined) event.id = id;
  if (listener !== undefined) event.listener = listener;
  if (ua !== undefined) event.ua = ua;
  if (ip !== undefined) event.ip = ip;
  return { ok: true, event };
}

/** One bad event of a batch: its index in the batch and what is wrong with it. */
export interface BatchIssue extends EventIssue {
  /** Position of the event in the batch, from 0. */
  index: number;
}

/**
 * Validates a batch whole (DESIGN section 6): either every event is valid, or the result lists each
 * bad event's index, field and reason.
 */
export function parseBatch(
  inputs: readonly unknown[],
): { ok: true; events: ListenEvent[] } | { ok: false; issues: BatchIssue[] } {
  const events: ListenEvent[] = [];
  const issues: BatchIssue[] = [];
  for (let index = 0; index < inputs.length; index++) {
    const result = parseEvent(inputs[index]);
    if (result.ok) events.push(result.event);
    else for (const issue of result.issues) issues.push({ index, ...issue });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, events };
}

/** Audio delivered by an event, in integer milliseconds (all bucket math is done in integer ms). */
export function durationMsOf(event: Pick<ListenEvent, 'duration'>): number {
  return Math.round(event.duration * 1000);
}

/**
 * The key that makes two events "the same event" for deduplication (together with `time`): the
 * `id`, or for an event without one, its content. Ingest stores events under this key and the
 * offline report dedupes by it, so a retried batch adds nothing either way. It is storable as
 * PostgreSQL text (no U+0000).
 */
export function eventKey(event: ListenEvent): string {
  if (event.id !== undefined) return event.id;
  const sep = '\u001f'; // parseEvent refuses control characters in every field, so this cannot clash
  return `~${event.session}${sep}${event.stream}${sep}${event.output}${sep}${event.time}${sep}${durationMsOf(event)}${sep}${event.bytes}${sep}${event.listener ?? ''}`;
}
