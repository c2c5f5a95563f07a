import type { ListenEvent } from '@earshot/core';

// The listen-event contract's limits (DESIGN section 2; @earshot/core validates the same ones).
const MAX_DURATION_S = 86_400;
const MAX_TEXT_LENGTH = 1024;

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
 * and clamped to 0..86400 s, integer bytes, `ua`/`ip` cut to the contract's length and left out when
 * empty.
 */
export function buildEvent(delivery: Delivery, id: string): ListenEvent {
  const event: ListenEvent = {
    id,
    session: delivery.session,
    stream: delivery.stream,
    output: delivery.output,
    time: Math.round(delivery.time),
    duration: Math.min(MAX_DURATION_S, Math.max(0, Math.round(delivery.durationS * 1000) / 1000)),
    bytes: Math.max(0, Math.round(delivery.bytes)),
  };
  const ua = delivery.ua?.slice(0, MAX_TEXT_LENGTH);
  if (ua) event.ua = ua;
  const ip = delivery.ip?.slice(0, MAX_TEXT_LENGTH);
  if (ip) event.ip = ip;
  return event;
}
