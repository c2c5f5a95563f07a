import type { ListenEvent } from '@earshot/core';
import { createRandom } from '@earshot/simulate';

/**
 * A small seeded generator of listen events for finalization tests, in compressed time: with
 * `idleS` of 1 s, ticks are a fraction of a second, so a test exercises every session rule (idle
 * gaps, the maximum-session cut, short sessions, HLS start events tied with segments, id-less
 * events, awkward session ids, two UTC days) in a few seconds of wall time. Shoutcast visits may
 * open with a burst (several ticks of audio delivered at once, as a server fills a new player's
 * buffer); HLS visits may open with prefetched segments (fetched back to back, their intervals
 * overlapping).
 */
export interface GenerateOptions {
  seed: number;
  /** Session ids. */
  ids: number;
  /** Time of the first event, epoch ms. Default 2026-11-28T23:58:00Z (the events cross midnight). */
  startMs?: number;
  /** Spread of visit starts, ms. Default 10 minutes. */
  spreadMs?: number;
  /** The idle setting the events are shaped around, seconds. */
  idleS: number;
  /** Most visits (sessions) per id. Default 3. */
  maxVisits?: number;
  /** Most events per visit. Default 40. */
  maxEvents?: number;
  /**
   * Events as a client sends them to ingest: without the `country` and `origin` that ingest sets
   * (and refuses from a client). Default false: events as stored, some with both.
   */
  asSent?: boolean;
}

const STREAMS = [
  { key: 'rock', output: 'shoutcast' as const, kbps: 128 },
  { key: 'jazz', output: 'shoutcast' as const, kbps: 64 },
  { key: 'news', output: 'hls' as const, kbps: 96, variants: ['news-64k', 'news-128k'] },
];
const AGENTS = [
  'VLC/3.0.20',
  'Winamp/5.9',
  'AppleCoreMedia/1.0',
  'Mozilla/5.0 (X11; Linux x86_64)',
  // Bots (isbot's list): their sessions are left out of net figures.
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
  'curl/8.5.0',
];
const COUNTRIES = ['US', 'DE', 'BR'];
const ODD_IDS = ['with space', 'comma,brace{}', 'quote"back\\slash', 'NULL', 'ünïcødé🎵', "o'hara"];

export function generateEvents(options: GenerateOptions): ListenEvent[] {
  const random = createRandom(options.seed);
  const rand = random.next;
  const { int, pick, hex } = random;
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const startMs = options.startMs ?? Date.parse('2026-11-28T23:58:00.000Z');
  const spreadMs = options.spreadMs ?? 600_000;
  const idleMs = options.idleS * 1000;
  const tickMs = Math.max(50, Math.round(idleMs / 4));
  const events: ListenEvent[] = [];

  for (let n = 0; n < options.ids; n++) {
    const session =
      n < ODD_IDS.length && options.ids > 20
        ? `${ODD_IDS[n]}-${options.seed}`
        : `s-${options.seed}-${n}-${hex(6)}`;
    const spec = pick(STREAMS);
    const listener = rand() < 0.7 ? `L${int(1, Math.max(2, Math.floor(options.ids / 2)))}` : undefined;
    const ua = rand() < 0.8 ? pick(AGENTS) : undefined;
    // What ingest sets from the IP: a country for most ids, a relay or monitor origin for a few.
    const country = rand() < 0.8 ? pick(COUNTRIES) : undefined;
    const origin = rand() < 0.06 ? ('relay' as const) : rand() < 0.03 ? ('monitor' as const) : undefined;
    let t = startMs + Math.floor(rand() * spreadMs);
    const visits = int(1, options.maxVisits ?? 3);
    for (let v = 0; v < visits; v++) {
      const count = int(1, options.maxEvents ?? 40);
      const push = (event: Omit<ListenEvent, 'session' | 'output'> & { output?: ListenEvent['output'] }) => {
        const e: ListenEvent = { session, output: spec.output, ...event };
        if (rand() < 0.9) e.id = uuid();
        // Some events lack the listener key or the user agent: "first non-empty" must be honoured.
        if (listener && rand() < 0.85) e.listener = listener;
        if (ua && rand() < 0.7) e.ua = ua;
        if (country && !options.asSent) e.country = country;
        if (origin && !options.asSent) e.origin = origin;
        events.push(e);
      };
      if (spec.output === 'hls') push({ stream: spec.key, time: t, duration: 0, bytes: 0 });
      const burst = spec.output === 'shoutcast' && rand() < 0.4;
      const prefetch = spec.output === 'hls' && rand() < 0.4 ? int(2, 3) : 0;
      for (let i = 0; i < count; i++) {
        // Mostly back-to-back ticks; sometimes a pause shorter than idle inside the visit; the
        // prefetched segments come a fifth of a tick apart.
        if (i > 0 && i < prefetch) t += Math.max(1, Math.floor(tickMs / 5));
        else if (i > 0) t += rand() < 0.1 ? tickMs + Math.floor(rand() * (idleMs - tickMs - 1)) : tickMs;
        const cut = rand() < 0.1;
        // A burst: the first event carries several ticks of audio, delivered in a fraction of one.
        const durationMs = i === 0 && burst ? int(2, 4) * tickMs : cut ? int(1, tickMs) : tickMs;
        const stream = spec.output === 'hls' ? pick(spec.variants!) : spec.key;
        push({
          stream,
          time: t,
          duration: durationMs / 1000,
          bytes: Math.round((spec.kbps * 125 * durationMs) / 1000),
        });
      }
      // Next visit: back after more than idle (a resume under the same id), sometimes much later.
      t += idleMs + int(1, rand() < 0.5 ? idleMs : 30 * idleMs);
    }
  }
  return events;
}

/** Shuffles a copy (seeded Fisher-Yates). */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const rand = createRandom(seed).next;
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Adds repeats of a share of the events (a retried batch, a logger resend). */
export function withRepeats<T>(items: readonly T[], share: number, seed: number): T[] {
  const rand = createRandom(seed).next;
  const out = [...items];
  for (const item of items) if (rand() < share) out.push(item);
  return out;
}

/** Cuts into batches of 1..maxSize. */
export function batches<T>(items: readonly T[], maxSize: number, seed: number): T[][] {
  const rand = createRandom(seed).next;
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const size = 1 + Math.floor(rand() * maxSize);
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out;
}
