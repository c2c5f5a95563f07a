import type { ListenEvent } from '@earshot/core';
import { normalizeIp } from './ip.js';

// The listen-event contract's limits (DESIGN section 2; @earshot/core validates the same ones).
const MAX_DURATION_S = 86_400;
const MAX_TEXT_LENGTH = 1024;

// Ingest refuses control characters (U+0000-U+001F, U+007F) in every text field, and refuses the
// whole batch for one of them; a tab is legal in an HTTP header and anything goes in a query.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_RUNS = /[\u0000-\u001f\u007f]+/g;
// A UTF-16 surrogate without its partner (from a cut or a malformed `ua` parameter) is not text.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Client-supplied text (a user agent) made fit for a listen event: each run of control characters
 * becomes one space, lone surrogates become U+FFFD, the ends are trimmed, and the result is cut to
 * `maxLength` characters without splitting a surrogate pair. `undefined` when nothing is left.
 */
export function cleanClientText(
  value: string | null | undefined,
  maxLength = MAX_TEXT_LENGTH,
): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  let text = value.replace(CONTROL_RUNS, ' ').replace(LONE_SURROGATE, '\ufffd').trim();
  if (text.length > maxLength) {
    const cut = text.charCodeAt(maxLength - 1);
    text = text.slice(0, cut >= 0xd800 && cut <= 0xdbff ? maxLength - 1 : maxLength).trimEnd();
  }
  return text === '' ? undefined : text;
}

/** The fields a tracker knows about one delivery; `buildEvent` adds the id and normalizes. */
export interface Delivery {
  session: string;
  stream: string;
  output: ListenEvent['output'];
  /** When the delivery ended, epoch ms. */
  time: number;
  durationS: number;
  bytes: number;
  ua?: string | null;
  ip?: string | null;
}

/**
 * Makes a listen event that ingest accepts: integer epoch ms, duration rounded to the millisecond
 * and clamped to 0..86400 s, integer bytes, `ua` cleaned of control characters and cut to the
 * contract's length ({@link cleanClientText}), `ip` kept only when it is an IPv4 or IPv6 address
 * (`normalizeIp`); both are left out when empty. `session` and `stream` are taken as given: the
 * trackers validate client-supplied session ids, and the stream keys are the server's own.
 */
export function buildEvent(delivery: Delivery, id: string): ListenEvent {
  const event: ListenEvent = {
    id,
    session: delivery.session,
    stream: delivery.stream,
    output: delivery.output,
    time: Math.round(delivery.time),
    duration: Math.min(MAX_DURATION_S, Math.max(0, Math.round(finite(delivery.durationS) * 1000) / 1000)),
    bytes: Math.max(0, Math.round(finite(delivery.bytes))),
  };
  const ua = cleanClientText(delivery.ua);
  if (ua) event.ua = ua;
  const ip = normalizeIp(delivery.ip);
  if (ip) event.ip = ip;
  return event;
}

// A `secondsOf` that returns NaN must not make an event ingest refuses (and its batch with it).
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
