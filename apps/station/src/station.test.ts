import type { ListenEvent } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAudio, type StationAudio } from './audio.js';
import { createStation, createStationApp } from './station.js';

const T = Date.parse('2026-11-28T10:00:00.000Z');
let audio: StationAudio;

beforeAll(async () => {
  audio = await loadAudio();
});

function setup(start = T) {
  const events: ListenEvent[] = [];
  const clock = { now: start };
  const app = createStationApp({
    audio,
    sink: createCallbackSink((e) => void events.push(e)),
    now: () => clock.now,
  });
  return { app, events, clock };
}

describe('the committed audio', () => {
  it('has a 64 kbit/s MP3 and two HLS variants of three segments', () => {
    expect(audio.mp3.byteLength % 192).toBe(0);
    expect(audio.variants.map((v) => [v.key, v.segments.length])).toEqual([
      ['live-32k', 3],
      ['live-64k', 3],
    ]);
    for (const variant of audio.variants) {
      const total = variant.segments.reduce((sum, s) => sum + s.durationS, 0);
      expect(total).toBeCloseTo(18.005, 2);
    }
  });
});

describe('HLS', () => {
  it('serves the master playlist with session_id and ua on each variant, and logs a start with the group key', async () => {
    const { app, events } = setup();
    const res = await app.request('/hls/live.m3u8', { headers: { 'user-agent': 'AppleCoreMedia/1.0' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const uris = (await res.text()).split('\n').filter((line) => line.endsWith('ua=AppleCoreMedia%2F1.0'));
    expect(uris).toHaveLength(2);
    const session = events[0]?.session as string;
    expect(uris).toEqual([
      `32k/live.m3u8?session_id=${session}&ua=AppleCoreMedia%2F1.0`,
      `64k/live.m3u8?session_id=${session}&ua=AppleCoreMedia%2F1.0`,
    ]);
    expect(events).toEqual([
      expect.objectContaining({ stream: 'live', output: 'hls', duration: 0, bytes: 0, time: T }),
    ]);
  });

  it('uses the player session id (X-Playback-Session-Id) when it sends one', async () => {
    const { app, events } = setup();
    const res = await app.request('/hls/live.m3u8', { headers: { 'x-playback-session-id': 'C0FFEE-1' } });
    expect(await res.text()).toContain('32k/live.m3u8?session_id=C0FFEE-1');
    expect(events[0]?.session).toBe('C0FFEE-1');
  });

  it('slides the variant window with the clock, every segment URI carrying the session', async () => {
    const { app, events, clock } = setup();
    const url = '/hls/64k/live.m3u8?session_id=S1&ua=ffmpeg';
    const first = await (await app.request(url)).text();
    clock.now += 6000;
    const second = await (await app.request(url)).text();
    const segments = (text: string) => text.split('\n').filter((line) => line.startsWith('seg-'));
    expect(segments(first)).toHaveLength(5);
    expect(segments(first).every((uri) => uri.endsWith('.ts?session_id=S1&ua=ffmpeg'))).toBe(true);
    expect(segments(second).slice(0, 4)).toEqual(segments(first).slice(1));
    expect(first).toContain('#EXT-X-MEDIA-SEQUENCE:299309995\n');
    expect(second).toContain('#EXT-X-MEDIA-SEQUENCE:299309996\n');
    expect(events).toEqual([]);
  });

  it('serves a segment and logs it under the variant key with its EXTINF duration', async () => {
    const { app, events } = setup();
    const res = await app.request('/hls/32k/seg-299309997.ts?session_id=S1&ua=ffmpeg');
    const body = new Uint8Array(await res.arrayBuffer());
    // 299309997 % 3 = 0: the loop's first segment.
    const expected = audio.variants[0]?.segments[0];
    expect(body.byteLength).toBe(expected?.bytes.byteLength);
    expect(res.headers.get('content-length')).toBe(String(body.byteLength));
    expect(events).toEqual([
      expect.objectContaining({
        session: 'S1',
        stream: 'live-32k',
        output: 'hls',
        duration: 6.016,
        bytes: body.byteLength,
        ua: 'ffmpeg',
      }),
    ]);
  });

  it('redirects a player that opens a variant playlist directly, so its reloads and segments share one session', async () => {
    const { app, events, clock } = setup();
    const headers = { 'user-agent': 'Lavf/61.7.100' };
    const first = await app.request('/hls/64k/live.m3u8', { headers });
    expect(first.status).toBe(302);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    const location = first.headers.get('location') as string;
    expect(location).toMatch(/^\.\/live\.m3u8\?session_id=[^&]+&ua=Lavf%2F61\.7\.100$/);
    const url = new URL(location, 'http://station.test/hls/64k/live.m3u8');
    const session = url.searchParams.get('session_id') as string;

    // ffmpeg and hls.js reload the playlist they were redirected to, once per target duration.
    let playlist = '';
    for (let reload = 0; reload < 5; reload++) {
      const res = await app.request(`${url.pathname}${url.search}`, { headers });
      expect(res.status).toBe(200);
      playlist = await res.text();
      expect(playlist).toContain(`.ts?session_id=${session}&ua=Lavf%2F61.7.100\n`);
      clock.now += 6000;
    }
    const segments = playlist.split('\n').filter((line) => line.startsWith('seg-'));
    for (const uri of segments.slice(-2)) {
      const res = await app.request(new URL(uri, url).pathname + new URL(uri, url).search, { headers });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.session))).toEqual(new Set([session]));
  });

  it('refuses segments that are not live yet and unknown variants', async () => {
    const { app } = setup();
    expect((await app.request('/hls/32k/seg-299310000.ts')).status).toBe(404);
    expect((await app.request('/hls/128k/live.m3u8')).status).toBe(404);
  });
});

describe('client IPs', () => {
  async function ipOf(
    trustProxy: boolean | number | undefined,
    forwardedFor: string,
  ): Promise<string | undefined> {
    const events: ListenEvent[] = [];
    const station = await createStation({
      port: 0,
      sink: createCallbackSink((e) => void events.push(e)),
      trustProxy,
    });
    try {
      const res = await fetch(`${station.url}/hls/live.m3u8`, {
        headers: { 'x-forwarded-for': forwardedFor },
      });
      await res.text();
    } finally {
      await station.close();
    }
    expect(events).toHaveLength(1);
    return events[0]?.ip;
  }

  it('are the socket peer, X-Forwarded-For ignored, by default', async () => {
    expect(await ipOf(undefined, '198.51.100.7')).toBe('127.0.0.1');
  });

  it("behind a trusted proxy are the entry the proxy appended, not the socket's or the client's", async () => {
    expect(await ipOf(true, '6.6.6.6, 198.51.100.7')).toBe('198.51.100.7');
    expect(await ipOf(2, '6.6.6.6, 198.51.100.7, 10.0.0.9')).toBe('198.51.100.7');
  });

  it('behind a trusted proxy drop a forwarded value that is not an address, and strip a port', async () => {
    expect(await ipOf(true, 'unknown')).toBeUndefined();
    expect(await ipOf(true, '198.51.100.7:5678')).toBe('198.51.100.7');
  });
});

describe('the MP3 stream', () => {
  it('bursts 2 s, then paces at 64 kbit/s, ticking events for the connection', async () => {
    const events: ListenEvent[] = [];
    const station = await createStation({
      port: 0,
      sink: createCallbackSink((e) => void events.push(e)),
      tickS: 0.5,
    });
    try {
      const started = performance.now();
      const res = await fetch(`${station.url}/stream.mp3?session_id=mp3-1`);
      expect(res.headers.get('content-type')).toBe('audio/mpeg');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let received = 0;
      while (performance.now() - started < 1200) received += (await reader.read()).value?.byteLength ?? 0;
      const elapsedS = (performance.now() - started) / 1000;
      await reader.cancel();
      // 16 000 bytes of burst plus 8000 bytes per second, give or take a pacing step.
      expect(received).toBeGreaterThanOrEqual(16_000 + 8000 * (elapsedS - 0.4));
      expect(received).toBeLessThanOrEqual(16_000 + 8000 * (elapsedS + 0.2));
      await waitUntil(() => events.reduce((sum, e) => sum + e.bytes, 0) >= received);
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(new Set(events.map((e) => `${e.session} ${e.stream} ${e.output}`))).toEqual(
        new Set(['mp3-1 live-mp3 shoutcast']),
      );
      for (const e of events) expect(e.duration).toBeCloseTo(e.bytes / 8000, 3);
    } finally {
      await station.close();
    }
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
