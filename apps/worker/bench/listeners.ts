// A live audience for the capacity bench: concurrent listeners in real time, each reporting the way
// @earshot/logger's trackers do (DESIGN 2), into one logger sink per simulated streaming server.
//   Shoutcast: one event per listener per tick (default 30 s) with the seconds and bytes since the
//     last one, the remainder on close, a burst of buffered audio on connect.
//   HLS: the master playlist's zero-duration event on the group key, three segments prefetched
//     within a second, then one event per segment (default 6 s) on the variant delivered; sometimes
//     a last segment cut off when the listener leaves (pro rata).
// Sessions end and are replaced, so the worker always has sessions falling due; a few come back
// under the same session id after more than idle (a second session of that id, a re-finalization).
import type { EventSink } from '@earshot/logger';
import { buildEvent, newId } from '@earshot/logger';

export type Output = 'shoutcast' | 'hls';

export interface AudienceOptions {
  /** Prefix of the session ids (unique per run). */
  tag: string;
  /** The worker's idle: a listener who pauses stays away longer than this. */
  idleS: number;
  /** Shoutcast logger tick, seconds. Default 30. */
  tickS?: number;
  /** HLS segment length, seconds. Default 6. */
  segmentS?: number;
  /** Listeners per simulated streaming server (one logger sink each). Default 5,000. */
  listenersPerServer?: number;
  /** Share of sessions that pause for more than idle and resume under the same id. Default 0.05. */
  resumeShare?: number;
  /** The sink of streaming server `server` of `output` (created on first use). */
  sinkFor(output: Output, server: number): EventSink;
}

interface Listener {
  session: string;
  output: Output;
  server: number;
  stream: string;
  variant: number;
  ip: string;
  ua: string;
  /** When the interval of the next Shoutcast event starts (the last report), ms. */
  last: number;
  endAt: number;
  burst: boolean;
  /** Came back after a pause: not replaced when it ends (its replacement already was). */
  extra: boolean;
}

const SHOUTCAST = [
  { key: 'rock-mp3-128', kbps: 128 },
  { key: 'rock-aac-64', kbps: 64 },
];
const HLS_GROUP = 'rock';
const HLS_VARIANTS = [
  { key: 'rock-hls-64k', kbps: 64 },
  { key: 'rock-hls-128k', kbps: 128 },
];
const UAS = [
  'VLC/3.0.21 LibVLC/3.0.21',
  'AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'ExoPlayerLib/2.19.1',
  'Winamp/5.9',
];
// First octets of public networks in several countries (ingest looks the country up, then drops the IP).
const NETWORKS = [8, 81, 193, 202, 200, 133];

/** Listening time of a session, ms: 20 % tune-outs (under the 60 s minimum), 60 % 1-5 min, 20 % 5-15 min. */
function lifetimeMs(): number {
  const r = Math.random();
  if (r < 0.2) return 10_000 + Math.random() * 45_000;
  if (r < 0.8) return 60_000 + Math.random() * 240_000;
  return 300_000 + Math.random() * 600_000;
}
const LONGEST_MS = 900_000;

/** Mean of {@link lifetimeMs}, seconds: with N listeners about N / this many sessions end per second. */
export const MEAN_SESSION_S = 0.2 * 32.5 + 0.6 * 180 + 0.2 * 600;

/**
 * The time a listener already there keeps listening, ms: the residual of a length-biased lifetime,
 * so that the listeners a step adds end at the steady rate at once (N / mean lifetime), not only
 * once the first of them reach their natural end.
 */
function remainingMs(): number {
  for (;;) {
    const l = lifetimeMs();
    if (Math.random() * LONGEST_MS < l) return Math.random() * l;
  }
}

const SLOT_MS = 100;

/**
 * The audience: `grow(now, shoutcast, hls)` brings it to that many listeners (already listening,
 * at random phases of their tick or segment), `advance(now)` emits every report due up to `now`.
 */
export function createAudience(options: AudienceOptions) {
  const tickMs = (options.tickS ?? 30) * 1000;
  const segmentMs = (options.segmentS ?? 6) * 1000;
  const perServer = options.listenersPerServer ?? 5000;
  const resumeShare = options.resumeShare ?? 0.05;
  const wheel = new Map<number, Listener[]>();
  const count = { shoutcast: 0, hls: 0 };
  const stats = { events: 0, sessionsStarted: 0, sessionsEnded: 0, resumed: 0 };
  let serial = 0;
  let lastSlot = Math.floor(Date.now() / SLOT_MS);
  // The slot being emitted (lastSlot between advances): a report is never filed at or before it.
  let cursor = lastSlot;

  const schedule = (l: Listener, at: number) => {
    const slot = Math.max(cursor + 1, Math.floor(at / SLOT_MS));
    const list = wheel.get(slot);
    if (list) list.push(l);
    else wheel.set(slot, [l]);
  };

  const emit = (l: Listener, stream: string, time: number, durationS: number, bytes: number) => {
    const delivery = {
      session: l.session,
      stream,
      output: l.output,
      time,
      durationS,
      bytes,
      ua: l.ua,
      ip: l.ip,
    };
    options.sinkFor(l.output, l.server).push(buildEvent(delivery, newId()));
    stats.events++;
  };

  const segment = (l: Listener, time: number, fraction = 1) => {
    const v = HLS_VARIANTS[l.variant]!;
    const seconds = (segmentMs / 1000) * fraction;
    emit(l, v.key, time, seconds, Math.round(v.kbps * 125 * seconds * 1.04));
  };

  /** A listener on `output`: `fresh` connects now; otherwise it was already listening (random phase). */
  const join = (output: Output, now: number, fresh: boolean): Listener => {
    const n = serial++;
    const member = Math.floor(Math.random() * 1_000_000);
    const l: Listener = {
      session: `${options.tag}-${n.toString(36)}`,
      output,
      server: Math.floor(Math.random() * Math.max(1, Math.ceil(count[output] / perServer))),
      stream: output === 'hls' ? HLS_GROUP : SHOUTCAST[n % SHOUTCAST.length]!.key,
      variant: n % HLS_VARIANTS.length,
      ip: `${NETWORKS[member % NETWORKS.length]}.${(member >> 8) & 255}.${member & 255}.${1 + (member % 250)}`,
      ua: UAS[member % UAS.length]!,
      last: now,
      endAt: now + (fresh ? lifetimeMs() : remainingMs()),
      burst: fresh,
      extra: false,
    };
    count[output]++;
    stats.sessionsStarted++;
    if (output === 'shoutcast') {
      const first = fresh ? now + tickMs : now + Math.random() * tickMs;
      if (!fresh) l.last = first - tickMs;
      schedule(l, Math.min(first, l.endAt));
    } else if (fresh) {
      connectHls(l, now);
    } else {
      schedule(l, Math.min(now + Math.random() * segmentMs, l.endAt));
    }
    return l;
  };

  const connectHls = (l: Listener, now: number) => {
    emit(l, HLS_GROUP, now, 0, 400 + Math.floor(Math.random() * 300));
    for (let i = 0; i < 3; i++) segment(l, now + 150 + i * 300);
    schedule(l, Math.min(now + segmentMs, l.endAt));
  };

  const end = (l: Listener, now: number) => {
    stats.sessionsEnded++;
    if (l.output === 'shoutcast') {
      const kbps = SHOUTCAST.find((s) => s.key === l.stream)!.kbps;
      const seconds = (now - l.last) / 1000;
      emit(l, l.stream, now, seconds, Math.round(kbps * 125 * seconds));
    } else if (Math.random() < 0.3) segment(l, now, 0.05 + Math.random() * 0.9);
    if (!l.extra && Math.random() < resumeShare) {
      // Away for longer than idle, back under the same id; a replacement keeps the count meanwhile.
      const back = now + (options.idleS + 5 + Math.random() * 10) * 1000;
      const again: Listener = { ...l, last: back, endAt: back + lifetimeMs(), burst: true, extra: true };
      stats.resumed++;
      if (again.output === 'shoutcast') schedule(again, back + tickMs);
      else schedule(again, back);
    }
    if (!l.extra) {
      count[l.output]--;
      join(l.output, now, true);
    }
  };

  const report = (l: Listener, now: number) => {
    if (now >= l.endAt) return end(l, now);
    if (l.output === 'shoutcast') {
      const kbps = SHOUTCAST.find((s) => s.key === l.stream)!.kbps;
      const seconds = (now - l.last) / 1000;
      emit(l, l.stream, now, seconds, Math.round(kbps * 125 * seconds) + (l.burst ? 65_536 : 0));
      l.burst = false;
      l.last = now;
      schedule(l, Math.min(now + tickMs, l.endAt));
    } else {
      if (l.burst) {
        // A resumed HLS listener reloads the master playlist and prefetches again.
        l.burst = false;
        connectHls(l, now);
        return;
      }
      segment(l, now);
      schedule(l, Math.min(now + segmentMs, l.endAt));
    }
  };

  return {
    /** Adds listeners (already listening) until there are `shoutcast` + `hls` of them. */
    grow(now: number, shoutcast: number, hls: number): void {
      while (count.shoutcast < shoutcast) join('shoutcast', now, false);
      while (count.hls < hls) join('hls', now, false);
    },
    /** Emits every report due up to `now`; returns how late the oldest one was, ms. */
    advance(now: number): number {
      const slot = Math.floor(now / SLOT_MS);
      let lateMs = 0;
      for (let s = lastSlot + 1; s <= slot; s++) {
        cursor = s;
        const list = wheel.get(s);
        if (!list) continue;
        wheel.delete(s);
        lateMs = Math.max(lateMs, now - s * SLOT_MS);
        for (const l of list) report(l, now);
      }
      lastSlot = Math.max(lastSlot, slot);
      cursor = lastSlot;
      return lateMs;
    },
    count: () => ({ ...count }),
    stats: () => ({ ...stats }),
  };
}

export type Audience = ReturnType<typeof createAudience>;
