import type { ListenLogger, LoggerLike } from '@earshot/logger';

/** The tones of the committed audio, in loop order, 6 s each (scripts/make-audio.sh). */
export const TONES = [
  { note: 'A', hz: 440 },
  { note: 'C#', hz: 554.37 },
  { note: 'E', hz: 659.25 },
] as const;

/** Nominal length of one tone, ms. */
export const TONE_MS = 6000;

/** The artist every demo track is announced under. */
export const DEMO_ARTIST = 'Earshot Demo';

/** `Tone A (440 Hz)`. */
export function toneTitle(index: number): string {
  const tone = TONES[index % TONES.length]!;
  return `Tone ${tone.note} (${Math.round(tone.hz)} Hz)`;
}

/** One play of a tone on a stream, epoch ms: `[startMs, endMs)`. */
export interface ToneSlot {
  tone: number;
  startMs: number;
  endMs: number;
}

/**
 * The tone a stream plays at `nowMs`. A stream plays its loop of `loopMs` from the Unix epoch on
 * (the MP3: byte `p` at `p / bytesPerSecond`; HLS: segment `n` at `6n` s), tone `k` from `k x
 * TONE_MS` into the loop and the last one to the loop's end (the MP3's loop is 18.024 s: the encoder
 * pads to whole frames).
 */
export function toneAt(nowMs: number, loopMs: number): ToneSlot {
  const loopStart = Math.floor(nowMs / loopMs) * loopMs;
  const tone = Math.min(TONES.length - 1, Math.floor((nowMs - loopStart) / TONE_MS));
  const startMs = Math.round(loopStart + tone * TONE_MS);
  const endMs = Math.round(tone === TONES.length - 1 ? loopStart + loopMs : loopStart + (tone + 1) * TONE_MS);
  return { tone, startMs, endMs };
}

export interface ToneAnnouncerOptions {
  listen: ListenLogger;
  /** The streams to announce on, each with its loop length, ms. */
  streams: readonly { key: string; loopMs: number }[];
  now: () => number;
  logger?: LoggerLike;
}

/**
 * Announces each tone as a track (`nowPlaying`) when it starts on each stream, and at once the one
 * playing now (with its start as `time`). The id is the stream and start time, so a restarted station,
 * or several station processes (they agree on the live position), announce each play once.
 * Returns a stop function.
 */
export function startToneAnnouncer(options: ToneAnnouncerOptions): () => void {
  const { listen, now } = options;
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const announced = new Map<string, number>();
  let stopped = false;

  const announce = (key: string, loopMs: number): void => {
    if (stopped) return;
    const slot = toneAt(now(), loopMs);
    if (announced.get(key) !== slot.startMs) {
      announced.set(key, slot.startMs);
      listen.nowPlaying(key, {
        id: `earshot-demo:${key}:${slot.startMs}`,
        time: slot.startMs,
        artist: DEMO_ARTIST,
        title: toneTitle(slot.tone),
        kind: 'music',
        duration: (slot.endMs - slot.startMs) / 1000,
      });
      options.logger?.debug?.({ stream: key, title: toneTitle(slot.tone) }, 'now playing');
    }
    // A timer may fire a little early: at least 10 ms, and a slot announced already is skipped.
    const timer = setTimeout(() => announce(key, loopMs), Math.max(10, slot.endMs - now()));
    (timer as { unref?: () => void }).unref?.();
    timers.set(key, timer);
  };

  for (const { key, loopMs } of options.streams) announce(key, loopMs);
  return () => {
    stopped = true;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  };
}
