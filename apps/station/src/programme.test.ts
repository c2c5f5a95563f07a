import type { TrackEvent } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { describe, expect, it } from 'vitest';
import { toneAt, toneTitle } from './programme.js';
import { createStation, STREAM_KEYS } from './station.js';

const LOOP_HLS = 18_000;
const LOOP_MP3 = 18_024; // 751 frames of 24 ms
const T = Date.parse('2026-11-28T10:00:00.000Z'); // a multiple of 18 s since the epoch

describe('the tone schedule', () => {
  it('names the three tones', () => {
    expect([0, 1, 2].map(toneTitle)).toEqual(['Tone A (440 Hz)', 'Tone C# (554 Hz)', 'Tone E (659 Hz)']);
  });

  it('follows the HLS segments (segment n plays tone n mod 3 over [6n, 6n + 6) s)', () => {
    expect(T % LOOP_HLS).toBe(0);
    expect(toneAt(T, LOOP_HLS)).toEqual({ tone: 0, startMs: T, endMs: T + 6000 });
    expect(toneAt(T + 6000, LOOP_HLS)).toEqual({ tone: 1, startMs: T + 6000, endMs: T + 12_000 });
    expect(toneAt(T + 17_999, LOOP_HLS)).toEqual({ tone: 2, startMs: T + 12_000, endMs: T + 18_000 });
  });

  it('follows the MP3 loop, whose last tone is 24 ms longer', () => {
    const loopStart = Math.floor(T / LOOP_MP3) * LOOP_MP3;
    expect(toneAt(loopStart + 12_500, LOOP_MP3)).toEqual({
      tone: 2,
      startMs: loopStart + 12_000,
      endMs: loopStart + LOOP_MP3,
    });
    expect(toneAt(loopStart + LOOP_MP3, LOOP_MP3)).toMatchObject({ tone: 0, startMs: loopStart + LOOP_MP3 });
  });
});

describe('the station announces its tones', () => {
  it('announces the tone playing at start, then each tone as it starts, on both streams', async () => {
    const tracks: TrackEvent[] = [];
    // A clock 60 ms before a tone change on HLS (a multiple of 6 s), so the next one comes quickly.
    const offset = T + 5940 - Date.now();
    const now = () => Date.now() + offset;
    const station = await createStation({
      sink: createCallbackSink(() => {}, { onTrack: (t) => void tracks.push(t) }),
      port: 0,
      now,
    });
    try {
      const atStart = tracks.length;
      expect(tracks.map((t) => t.stream).sort()).toEqual([STREAM_KEYS.hlsGroup, STREAM_KEYS.mp3].sort());
      const hls = tracks.find((t) => t.stream === STREAM_KEYS.hlsGroup)!;
      expect(hls).toEqual({
        id: `earshot-demo:live:${T}`,
        stream: 'live',
        time: T,
        artist: 'Earshot Demo',
        title: 'Tone A (440 Hz)',
        kind: 'music',
        duration: 6,
      });
      await expect.poll(() => tracks.filter((t) => t.stream === 'live').length, { timeout: 2000 }).toBe(2);
      expect(tracks.filter((t) => t.stream === 'live')[1]).toMatchObject({
        id: `earshot-demo:live:${T + 6000}`,
        time: T + 6000,
        title: 'Tone C# (554 Hz)',
      });
      expect(tracks.length).toBeGreaterThan(atStart);
    } finally {
      await station.close();
    }
    const count = tracks.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tracks.length).toBe(count); // close stopped the announcer
  });

  it('announces nothing with announceTracks: false', async () => {
    const tracks: TrackEvent[] = [];
    const station = await createStation({
      sink: createCallbackSink(() => {}, { onTrack: (t) => void tracks.push(t) }),
      port: 0,
      announceTracks: false,
    });
    await station.close();
    expect(tracks).toEqual([]);
  });
});
