// Real players against the station: ffmpeg plays HLS and the MP3 stream at the same time, and the
// events a callback sink collects must make one session per player with the time played.
import { execFileSync } from 'node:child_process';
import { compareEvents, DEFAULT_SESSION_SETTINGS, type ListenEvent, splitSessions } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStation } from '../src/station.js';
import { play } from '../src/testing.js';

const PLAY_S = 20;
const SEGMENT_S = 6;
const TICK_S = 5;

beforeAll(() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('these tests play the station with ffmpeg: apt-get install -y ffmpeg');
  }
});

const sum = (events: ListenEvent[], field: 'duration' | 'bytes') =>
  events.reduce((total, e) => total + e[field], 0);

describe('ffmpeg playing the station', () => {
  it('makes one session per player: HLS under the group key with variant segments, MP3 in ticks', async () => {
    const events: ListenEvent[] = [];
    let mp3WallS = 0;
    const station = await createStation({
      port: 0,
      tickS: TICK_S,
      sink: createCallbackSink((e) => void events.push(e)),
    });
    try {
      // `-re` plays at real speed, as a listener would. `-live_start_index -1` starts at the live
      // edge; ffmpeg's default (3 segments back) fetches that much more than it plays.
      const [, mp3Play] = await Promise.all([
        play(`${station.url}/hls/live.m3u8`, ['-re', '-live_start_index', '-1'], PLAY_S),
        play(`${station.url}/stream.mp3`, [], PLAY_S),
      ]);
      mp3WallS = mp3Play.wallS;
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await station.close();
    }

    const runs = splitSessions(events, DEFAULT_SESSION_SETTINGS);
    expect(runs).toHaveLength(2);
    const hls = runs.find((run) => run.output === 'hls');
    const mp3 = runs.find((run) => run.output === 'shoutcast');

    // HLS: the master playlist's zero-duration start under the group key, then segments of the
    // variants, all with the session id the master handed out.
    expect(hls?.session.stream).toBe('live');
    const hlsEvents = [...(hls?.events ?? [])].sort(compareEvents);
    expect(hlsEvents[0]).toMatchObject({ stream: 'live', duration: 0, bytes: 0 });
    const segments = hlsEvents.slice(1);
    expect(segments.length).toBeGreaterThanOrEqual(PLAY_S / SEGMENT_S);
    for (const e of segments) expect(['live-32k', 'live-64k']).toContain(e.stream);
    expect(new Set(hlsEvents.map((e) => e.ua))).toEqual(new Set([expect.stringMatching(/^Lavf\//)]));
    // A segment is credited whole when fetched, so HLS runs ahead of playback by at most the one
    // segment a player holds in its buffer (ffmpeg probes the other variant too: credited 0 s).
    const hlsS = hls?.session.duration ?? 0;
    expect(hlsS).toBeGreaterThanOrEqual(PLAY_S - 0.5);
    expect(hlsS).toBeLessThanOrEqual(PLAY_S + SEGMENT_S + 0.5);

    // MP3: one event every 5 s and the remainder at the end, all for the connection's session.
    expect(mp3?.session.stream).toBe('live-mp3');
    const ticks = mp3?.events ?? [];
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks.every((e) => e.stream === 'live-mp3')).toBe(true);
    const gaps = ticks.slice(1, -1).map((e, i) => e.time - (ticks[i] as ListenEvent).time);
    for (const gap of gaps) expect(Math.abs(gap - 5000)).toBeLessThan(1000);
    // 20 s of audio plus what the socket still held when ffmpeg stopped reading.
    const mp3S = mp3?.session.duration ?? 0;
    expect(mp3S).toBeGreaterThanOrEqual(PLAY_S - 0.5);
    expect(mp3S).toBeLessThanOrEqual(PLAY_S + 2);
    expect(sum(ticks, 'bytes')).toBe(Math.round(mp3S * 8000));
    // The session starts where its first tick's audio did (DESIGN 3), so elapsed is the time the
    // player was connected, within one tick: never more than a second short of it (ffmpeg's start
    // and exit are in the wall time), at most a tick over (the station's burst on connect lands in
    // the first tick). Taking the first tick's time as the start made it a tick short (13 s of 18 s).
    const elapsedS = mp3?.session.elapsed ?? 0;
    expect(elapsedS).toBeGreaterThan(mp3WallS - 1);
    expect(elapsedS).toBeLessThan(mp3WallS + TICK_S);
  });

  it('keeps one session for a player that opens a variant playlist directly (redirected to carry it)', async () => {
    const events: ListenEvent[] = [];
    const station = await createStation({ port: 0, sink: createCallbackSink((e) => void events.push(e)) });
    try {
      await play(`${station.url}/hls/64k/live.m3u8`, ['-re', '-live_start_index', '-1'], PLAY_S);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await station.close();
    }
    // No master playlist: segments only, every one with the session id the redirect handed out,
    // across the playlist reloads of the whole play.
    expect(events.length).toBeGreaterThanOrEqual(PLAY_S / SEGMENT_S);
    expect(new Set(events.map((e) => e.session)).size).toBe(1);
    expect(new Set(events.map((e) => e.stream))).toEqual(new Set(['live-64k']));
    const runs = splitSessions(events, DEFAULT_SESSION_SETTINGS);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.session.duration).toBeGreaterThanOrEqual(PLAY_S - 0.5);
    expect(runs[0]?.session.duration).toBeLessThanOrEqual(PLAY_S + SEGMENT_S + 0.5);
  });
});
