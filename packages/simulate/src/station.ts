// One unit over 400 lines: the station model (options with their defaults, one listener's session,
// the streams' event shapes) and the time-ordered merge that streams it; the parts share `Resolved`.
import type { ListenEvent } from '@earshot/core';
import { createLocalClock, type DailyCurve, radioDayCurve } from './curve.js';
import { createRandom, deriveSeed, type Random, type Seed, seedOf, uuidv4, uuidv7 } from './random.js';

/** A continuous Shoutcast/ICY stream: the logger emits one event per tick and one on close. */
export interface ShoutcastStreamSpec {
  output: 'shoutcast';
  /** Stream key, e.g. `main-mp3`. */
  key: string;
  bitrateKbps: number;
  /** Relative share of sessions on this stream. */
  share: number;
}

/** One HLS variant (rendition) of a stream group. */
export interface HlsVariantSpec {
  /** Variant key, e.g. `main-128k`: the `stream` of its segment events. */
  key: string;
  bitrateKbps: number;
  /** Relative share of players that pick it at start. Default 1. */
  share?: number;
}

/** An HLS stream group: a master playlist (the group key) over one or more variants. */
export interface HlsStreamSpec {
  output: 'hls';
  /** Group key, e.g. `main`: the `stream` of the zero-duration master-playlist event. */
  key: string;
  variants: readonly HlsVariantSpec[];
  /** Segment length, seconds. Default 10. */
  segmentS?: number;
  /** Relative share of sessions on this stream. */
  share: number;
}

export type StreamSpec = ShoutcastStreamSpec | HlsStreamSpec;

/** A small station's outputs: one Shoutcast MP3 stream and one HLS group with two variants. */
export const DEFAULT_STREAMS: readonly StreamSpec[] = [
  { output: 'shoutcast', key: 'main-mp3', bitrateKbps: 128, share: 0.5 },
  {
    output: 'hls',
    key: 'main',
    variants: [
      { key: 'main-64k', bitrateKbps: 64, share: 0.4 },
      { key: 'main-128k', bitrateKbps: 128, share: 0.6 },
    ],
    segmentS: 10,
    share: 0.5,
  },
];

/** What station to simulate. Every knob has a realistic default. */
export interface StationOptions {
  /** Same seed, same options: the same events, id for id. */
  seed: Seed;
  /** First instant of the window, epoch ms or ISO-8601 with a zone. */
  start: number | string;
  /** Length of the window, hours. Events at or after its end are not emitted (sessions are cut there). */
  hours: number;
  /**
   * About how many people listen at once at the busiest moment of the daily curve. Arrivals follow
   * the curve (Little's law with the mean session length), so the audience ramps up from zero at
   * `start`.
   */
  listeners: number;
  /** IANA zone of the station: the daily curve is read in local time. Default `UTC`. */
  tz?: string;
  /** Daily listening curve. Default {@link radioDayCurve} (drive times busiest). */
  curve?: DailyCurve;
  /** The station's outputs. Default {@link DEFAULT_STREAMS}. */
  streams?: readonly StreamSpec[];
  /** Distinct listeners the sessions are drawn from (some listen several times). Default `listeners * 4`. */
  audience?: number;
  /** Share of sessions whose events carry a `listener` key. Default 0.95. */
  listenerKeyShare?: number;
  /** Share of sessions that are tune-outs: under 60 s of audio delivered. Default 0.12. */
  shortShare?: number;
  /** Share of all-day listeners (2 to 8 hours). Default 0.05. */
  longShare?: number;
  /** Median listening of the other sessions (log-normal), seconds. Default 1200. */
  medianSessionS?: number;
  /** Pauses per hour of listening; a pause resumes under the same session id. Default 0.3. */
  pausesPerHour?: number;
  /** Share of pauses of `idleS` or more (the resume is a new session with the same id). Default 0.35. */
  longPauseShare?: number;
  /** The idle gap that pauses are made shorter or longer than, seconds. Default 300. */
  idleS?: number;
  /** Shoutcast logger tick, seconds. Default 30. */
  tickS?: number;
  /** Share of HLS listening runs whose last segment is cut off (pro-rata duration and bytes). Default 0.3. */
  cutOffShare?: number;
  /** Per segment, the chance that an HLS player switches variant. Default 0.01. */
  abrSwitchRate?: number;
  /** Share of HLS sessions that open a variant playlist directly (no group-key start event). Default 0. */
  variantDirectShare?: number;
  /** Add a `ua` (user agent) to every event. Default false. */
  userAgents?: boolean;
  /** With `userAgents`: the share of sessions made by bots (crawlers, uptime checks). Default 0.03. */
  botShare?: number;
  /**
   * Add an `ip` to every event: each listener a public IPv4 address of one of a few networks in
   * different countries (ingest looks the country up and drops the address). Default false.
   */
  ips?: boolean;
}

const BOT_AGENTS = [
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
  'curl/8.5.0',
];

// First octets of public IPv4 networks registered in different countries (by the shipped IP
// database: US, NL, AU, DE, BR, JP...); a listener's address is a random host in one of them.
const IP_NETWORKS = ['8.8', '193.0', '202.12', '80.156', '200.147', '133.242', '81.2', '24.48'];

const USER_AGENTS = [
  'VLC/3.0.21 LibVLC/3.0.21',
  'AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  'ExoPlayerLib/2.19.1',
  'Winamp/5.9',
  'Sonos/80.1-55140 (ZPS23)',
  'Lavf/59.27.100',
];

// Sub-streams of the seed (see deriveSeed).
const ARRIVALS = 1;
const SESSIONS = 2;
const AUDIENCE = 3;
const BOTS = 4;
const ADDRESSES = 5;

const LOG_SIGMA = 1;
const SHORT_MEAN_S = 30;
const LONG_MEAN_S = 5 * 3600;

interface Resolved {
  seed: number;
  startMs: number;
  endMs: number;
  listeners: number;
  tz: string;
  curve: DailyCurve;
  streams: readonly StreamSpec[];
  audience: number;
  listenerKeyShare: number;
  shortShare: number;
  longShare: number;
  medianSessionS: number;
  pausesPerHour: number;
  longPauseShare: number;
  idleS: number;
  tickS: number;
  cutOffShare: number;
  abrSwitchRate: number;
  variantDirectShare: number;
  userAgents: boolean;
  botShare: number;
  ips: boolean;
}

function share(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
  return v;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v > 0 && Number.isFinite(v))) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  return v;
}

function resolve(options: StationOptions): Resolved {
  const startMs = typeof options.start === 'number' ? options.start : Date.parse(options.start);
  if (!Number.isFinite(startMs))
    throw new RangeError(`start must be epoch ms or ISO-8601, got ${options.start}`);
  const hours = positive('hours', options.hours, Number.NaN);
  if (!(options.listeners >= 0 && Number.isFinite(options.listeners))) {
    throw new RangeError(`listeners must be a number >= 0, got ${options.listeners}`);
  }
  const streams = options.streams ?? DEFAULT_STREAMS;
  if (streams.length === 0) throw new RangeError('streams must not be empty');
  for (const stream of streams) {
    if (stream.output === 'hls' && stream.variants.length === 0) {
      throw new RangeError(`HLS stream ${stream.key} needs at least one variant`);
    }
  }
  const shortShare = share('shortShare', options.shortShare, 0.12);
  const longShare = share('longShare', options.longShare, 0.05);
  if (shortShare + longShare > 1) throw new RangeError('shortShare + longShare must be at most 1');
  return {
    seed: seedOf(options.seed),
    startMs: Math.round(startMs),
    endMs: Math.round(startMs + hours * 3_600_000),
    listeners: options.listeners,
    tz: options.tz ?? 'UTC',
    curve: options.curve ?? radioDayCurve,
    streams,
    audience: Math.max(1, Math.round(options.audience ?? Math.max(10, options.listeners * 4))),
    listenerKeyShare: share('listenerKeyShare', options.listenerKeyShare, 0.95),
    shortShare,
    longShare,
    medianSessionS: positive('medianSessionS', options.medianSessionS, 1200),
    pausesPerHour: nonNegative('pausesPerHour', options.pausesPerHour, 0.3),
    longPauseShare: share('longPauseShare', options.longPauseShare, 0.35),
    idleS: positive('idleS', options.idleS, 300),
    tickS: positive('tickS', options.tickS, 30),
    cutOffShare: share('cutOffShare', options.cutOffShare, 0.3),
    abrSwitchRate: share('abrSwitchRate', options.abrSwitchRate, 0.01),
    variantDirectShare: share('variantDirectShare', options.variantDirectShare, 0),
    userAgents: options.userAgents ?? false,
    botShare: share('botShare', options.botShare, 0.03),
    ips: options.ips ?? false,
  };
}

/** Mean listening per session, seconds, for the arrival rate (Little's law). */
function meanListeningS(o: Resolved): number {
  const regular = 1 - o.shortShare - o.longShare;
  return (
    o.shortShare * SHORT_MEAN_S +
    o.longShare * LONG_MEAN_S +
    regular * o.medianSessionS * Math.exp((LOG_SIGMA * LOG_SIGMA) / 2)
  );
}

function pickWeighted<T extends { share?: number }>(items: readonly T[], u: number): T {
  let total = 0;
  for (const item of items) total += item.share ?? 1;
  let at = u * total;
  for (const item of items) {
    at -= item.share ?? 1;
    if (at < 0) return item;
  }
  return items[items.length - 1]!;
}

/**
 * Listening to do in one session, seconds, split into runs separated by pauses. `leadS` is how long
 * after a (re)connect the first event comes (a Shoutcast tick), so that a short pause keeps the gap
 * between events under `idle` and a long one puts it over.
 */
function planListening(o: Resolved, rng: Random, leadS: number): { runsS: number[]; pausesS: number[] } {
  let listenS: number;
  const kind = rng.next();
  if (kind < o.shortShare) listenS = rng.uniform(3, 25);
  else if (kind < o.shortShare + o.longShare) listenS = rng.uniform(2 * 3600, 8 * 3600);
  else listenS = Math.min(6 * 3600, Math.max(75, o.medianSessionS * Math.exp(LOG_SIGMA * rng.normal())));

  const runsS: number[] = [];
  const pausesS: number[] = [];
  const pauseCount = listenS >= 180 ? rng.poisson((listenS / 3600) * o.pausesPerHour) : 0;
  const cuts: number[] = [];
  for (let i = 0; i < pauseCount; i++) cuts.push(rng.uniform(60, listenS - 60));
  cuts.sort((a, b) => a - b);
  let at = 0;
  for (const cut of cuts) {
    if (cut - at < 20) continue;
    runsS.push(cut - at);
    at = cut;
    pausesS.push(
      rng.chance(o.longPauseShare)
        ? rng.uniform(o.idleS + 20, o.idleS + 2700)
        : rng.uniform(15, Math.max(16, o.idleS - leadS - 20)),
    );
  }
  runsS.push(listenS - at);
  return { runsS, pausesS };
}

interface SessionContext {
  o: Resolved;
  rng: Random;
  session: string;
  listener: string | undefined;
  ua: string | undefined;
  ip: string | undefined;
  events: ListenEvent[];
}

function push(
  ctx: SessionContext,
  stream: string,
  output: 'shoutcast' | 'hls',
  time: number,
  duration: number,
  bytes: number,
): void {
  const event: ListenEvent = {
    id: uuidv7(time, ctx.rng),
    session: ctx.session,
    stream,
    output,
    time,
    duration,
    bytes,
  };
  if (ctx.listener !== undefined) event.listener = ctx.listener;
  if (ctx.ua !== undefined) event.ua = ctx.ua;
  if (ctx.ip !== undefined) event.ip = ctx.ip;
  ctx.events.push(event);
}

/** One Shoutcast connection from `startMs` to `endMs`: a tick every `tickS`, the remainder on close. */
function shoutcastRun(ctx: SessionContext, spec: ShoutcastStreamSpec, startMs: number, endMs: number): void {
  const bytesPerS = spec.bitrateKbps * 125;
  const tickMs = ctx.o.tickS * 1000;
  // Burst-on-connect: the server sends a few seconds of buffered audio at once.
  let burst = ctx.rng.int(48, 64) * 1024;
  let last = startMs;
  const emit = (time: number) => {
    const ms = time - last;
    const bytes = Math.max(0, Math.round(bytesPerS * (ms / 1000) * (1 + 0.01 * ctx.rng.normal()))) + burst;
    burst = 0;
    push(ctx, spec.key, 'shoutcast', time, ms / 1000, bytes);
    last = time;
  };
  for (let k = 1; ; k++) {
    // Timers fire a little late.
    const tick = startMs + k * tickMs + ctx.rng.int(0, 25);
    if (tick >= endMs) break;
    emit(tick);
  }
  if (endMs > last) emit(endMs);
}

/**
 * One HLS listening run from `startMs` to `endMs`: (optionally) the master-playlist event, a prefetch
 * of three segments within the first second, then a segment per segment length while the listener
 * stays, and sometimes a last segment cut off when they leave.
 */
function hlsRun(
  ctx: SessionContext,
  spec: HlsStreamSpec,
  state: { variant: HlsVariantSpec },
  startMs: number,
  endMs: number,
  withMaster: boolean,
): void {
  const { rng, o } = ctx;
  const segmentS = spec.segmentS ?? 10;
  const segmentMs = segmentS * 1000;
  let last = startMs;
  if (withMaster) push(ctx, spec.key, 'hls', startMs, 0, rng.int(380, 720));
  const segmentBytes = () =>
    Math.round(state.variant.bitrateKbps * 125 * segmentS * 1.04 * (1 + 0.005 * rng.normal()));
  const segment = (time: number) => {
    if (spec.variants.length > 1 && rng.chance(o.abrSwitchRate)) {
      const others = spec.variants.filter((v) => v !== state.variant);
      state.variant = rng.pick(others);
    }
    push(ctx, state.variant.key, 'hls', time, segmentS, segmentBytes());
    last = time;
  };
  // Prefetch: three segments within a second.
  segment(startMs + rng.int(120, 350));
  segment(startMs + rng.int(400, 650));
  segment(startMs + rng.int(700, 980));
  for (let k = 1; ; k++) {
    const time = startMs + k * segmentMs + rng.int(40, 600);
    if (time >= endMs) break;
    segment(time);
  }
  if (endMs - last >= 50 && rng.chance(o.cutOffShare)) {
    const fraction = rng.uniform(0.05, 0.95);
    const full = segmentBytes();
    push(
      ctx,
      state.variant.key,
      'hls',
      endMs,
      Math.round(segmentMs * fraction) / 1000,
      Math.round(full * fraction),
    );
  }
}

function listenerKey(seed: number, index: number): string {
  return createRandom(deriveSeed(seed, AUDIENCE, index)).hex(32);
}

/** All events of one session id (time-ascending), from its arrival on. */
function simulateSession(o: Resolved, seq: number, arrivalMs: number): ListenEvent[] {
  const rng = createRandom(deriveSeed(o.seed, SESSIONS, seq));
  let listener: string | undefined;
  let listenerIndex = -1;
  if (rng.chance(o.listenerKeyShare)) {
    // Heavy listeners come back more often: a skewed pick from the audience.
    const u = rng.next();
    listenerIndex = Math.floor(o.audience * u * u);
    listener = listenerKey(o.seed, listenerIndex);
  }
  // A listener mostly uses the same device and so the same output; sometimes another.
  const deviceU =
    listenerIndex >= 0 && rng.chance(0.85)
      ? createRandom(deriveSeed(o.seed, AUDIENCE, listenerIndex)).next()
      : rng.next();
  const spec = pickWeighted(o.streams, deviceU);
  // Bots and addresses come from their own sub-streams, so turning them on changes nothing else.
  const botRng = createRandom(deriveSeed(o.seed, BOTS, seq));
  const ua = !o.userAgents
    ? undefined
    : botRng.chance(o.botShare)
      ? BOT_AGENTS[botRng.int(0, BOT_AGENTS.length - 1)]
      : USER_AGENTS[Math.floor(deviceU * USER_AGENTS.length)];
  let ip: string | undefined;
  if (o.ips) {
    const ipRng = createRandom(deriveSeed(o.seed, ADDRESSES, listenerIndex >= 0 ? listenerIndex : -1 - seq));
    ip = `${IP_NETWORKS[ipRng.int(0, IP_NETWORKS.length - 1)]}.${ipRng.int(0, 255)}.${ipRng.int(1, 254)}`;
  }
  const ctx: SessionContext = { o, rng, session: uuidv4(rng), listener, ua, ip, events: [] };

  const { runsS, pausesS } = planListening(o, rng, spec.output === 'shoutcast' ? o.tickS : 1);
  const hlsState = spec.output === 'hls' ? { variant: pickWeighted(spec.variants, rng.next()) } : undefined;
  const direct = spec.output === 'hls' && rng.chance(o.variantDirectShare);
  let at = arrivalMs;
  for (let i = 0; i < runsS.length && at < o.endMs; i++) {
    const endMs = at + Math.max(1000, Math.round(runsS[i]! * 1000));
    if (spec.output === 'shoutcast') shoutcastRun(ctx, spec, at, endMs);
    else {
      // After a pause of `idle` or more the player reloads the master playlist.
      const longPause = i > 0 && pausesS[i - 1]! >= o.idleS;
      hlsRun(ctx, spec, hlsState!, at, endMs, !direct && (i === 0 || longPause));
    }
    at = endMs + Math.round((pausesS[i] ?? 0) * 1000);
  }
  return ctx.events;
}

interface Cursor {
  seq: number;
  events: ListenEvent[];
  index: number;
}

function before(a: Cursor, b: Cursor): boolean {
  const ta = a.events[a.index]!.time;
  const tb = b.events[b.index]!.time;
  return ta < tb || (ta === tb && a.seq < b.seq);
}

/** A binary min-heap of session cursors by their next event's time, then session order. */
class CursorHeap {
  private readonly items: Cursor[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Cursor | undefined {
    return this.items[0];
  }

  push(cursor: Cursor): void {
    const items = this.items;
    items.push(cursor);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  /** Re-establishes order after the top cursor advanced (or removes it when done). */
  settleTop(): void {
    const items = this.items;
    const top = items[0]!;
    if (top.index >= top.events.length) {
      const last = items.pop()!;
      if (items.length === 0) return;
      items[0] = last;
    }
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && before(items[l]!, items[m]!)) m = l;
      if (r < items.length && before(items[r]!, items[m]!)) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
  }
}

/**
 * The events of a simulated station (DESIGN section 2), lazily and in time order (ties by session
 * order), so that millions of events never sit in memory at once. Deterministic: the same options
 * give the same events. Each session draws from its own seeded stream.
 */
export function* streamStation(options: StationOptions): Generator<ListenEvent> {
  const o = resolve(options);
  const clock = createLocalClock(o.tz);
  const arrivals = createRandom(deriveSeed(o.seed, ARRIVALS));
  // Non-homogeneous Poisson arrivals by thinning: candidates at the peak rate, each kept with
  // probability curve(t).
  const peakRatePerMs = o.listeners / meanListeningS(o) / 1000;
  const heap = new CursorHeap();
  let seq = 0;
  let nextArrival = Number.POSITIVE_INFINITY;
  const drawArrival = (from: number) => {
    if (peakRatePerMs <= 0) return Number.POSITIVE_INFINITY;
    let t = from;
    for (;;) {
      t += arrivals.exponential(1 / peakRatePerMs);
      if (t >= o.endMs) return Number.POSITIVE_INFINITY;
      const local = clock(t);
      if (arrivals.next() < Math.min(1, Math.max(0, o.curve(local.hour, local.weekday))))
        return Math.floor(t);
    }
  };
  nextArrival = drawArrival(o.startMs);

  for (;;) {
    const top = heap.peek();
    const topTime = top ? top.events[top.index]!.time : Number.POSITIVE_INFINITY;
    if (nextArrival <= topTime && nextArrival < Number.POSITIVE_INFINITY) {
      // A session's first event is never before its arrival, so arrivals are added just in time.
      const events = simulateSession(o, seq, nextArrival);
      if (events.length > 0 && events[0]!.time < o.endMs) heap.push({ seq, events, index: 0 });
      seq++;
      nextArrival = drawArrival(nextArrival);
      continue;
    }
    if (!top || topTime >= o.endMs) return;
    yield top.events[top.index]!;
    top.index++;
    heap.settleTop();
  }
}

/** The events of a simulated station, sorted by time. See {@link streamStation} for large ones. */
export function generateStation(options: StationOptions): ListenEvent[] {
  return [...streamStation(options)];
}
