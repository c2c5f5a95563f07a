import type { Variant } from './audio.js';

/** The live window: how many segments a variant playlist lists, and their nominal length. */
export interface HlsClock {
  segmentMs: number;
  windowSize: number;
}

export const HLS_CLOCK: HlsClock = { segmentMs: 6000, windowSize: 5 };

/**
 * The segments live at `nowMs`: segment `n` covers wall time `[n, n + 1) x segmentMs` from the Unix
 * epoch and is listed once it is complete, so every station process agrees on the media sequence.
 */
export function liveWindow(nowMs: number, clock: HlsClock = HLS_CLOCK): { first: number; last: number } {
  const last = Math.floor(nowMs / clock.segmentMs) - 1;
  return { first: Math.max(0, last - clock.windowSize + 1), last };
}

/** The master playlist: one variant per bitrate, relative URIs (`64k/live.m3u8`). */
export function masterPlaylist(variants: readonly Variant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const variant of variants) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${variant.peakBps},AVERAGE-BANDWIDTH=${variant.averageBps},CODECS="mp4a.40.2"`,
      `${variant.name}/live.m3u8`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A variant's live playlist at `nowMs`: a sliding window of the loop's segments, media sequence
 * advancing with wall time. The loop restarts the audio's timestamps, so each restart is a
 * discontinuity; the discontinuity sequence counts those that slid out of the window.
 */
export function variantPlaylist(variant: Variant, nowMs: number, clock: HlsClock = HLS_CLOCK): string {
  const loop = variant.segments.length;
  const { first, last } = liveWindow(nowMs, clock);
  const target = Math.max(...variant.segments.map((s) => Math.round(s.durationS)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${Math.floor(first / loop)}`,
  ];
  for (let n = first; n <= last; n++) {
    const restart = n % loop === 0 && n > 0;
    if (restart && n > first) lines.push('#EXT-X-DISCONTINUITY');
    if (n === first || restart)
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(n * clock.segmentMs).toISOString()}`);
    lines.push(`#EXTINF:${segmentOf(variant, n).durationS.toFixed(3)},`, `seg-${n}.ts`);
  }
  return `${lines.join('\n')}\n`;
}

/** The loop segment that plays as media sequence number `n`. */
export function segmentOf(variant: Variant, n: number): { bytes: Uint8Array; durationS: number } {
  return variant.segments[n % variant.segments.length] as { bytes: Uint8Array; durationS: number };
}
