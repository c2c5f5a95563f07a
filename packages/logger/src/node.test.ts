import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenEvent } from '@earshot/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCallbackSink } from './callback-sink.js';
import { createListenLogger } from './listen-logger.js';
import { createNodeAdapter, type NodeAdapterOptions } from './node.js';
import type { ShoutcastTracker } from './shoutcast.js';

const SEGMENT_BYTES = 100_000;
const MASTER = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=140000\n128k.m3u8\n';
const VARIANT = '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:6.0,\nseg.ts\n';

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

/** A node:http station: a paced stream, a stream that floods its socket, a slow segment, a master playlist. */
async function startStation(options: NodeAdapterOptions = {}) {
  const events: ListenEvent[] = [];
  const listen = createListenLogger({ sink: createCallbackSink((e) => void events.push(e)) });
  const http = createNodeAdapter(listen, options);
  const trackers: ShoutcastTracker[] = [];
  const queued = { flood: 0 };
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/stream.mp3') {
      trackers.push(http.trackShoutcast(req, res, { stream: 'live-mp3', bitrateKbps: 80, tickMs: 100 }));
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      const timer = setInterval(() => res.write(Buffer.alloc(1000)), 10);
      res.on('close', () => clearInterval(timer));
    } else if (path === '/flood.mp3') {
      trackers.push(http.trackShoutcast(req, res, { stream: 'flood', bitrateKbps: 128, tickMs: 60_000 }));
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      // Ignores backpressure on purpose: everything not accepted piles up in Node's buffers.
      const chunk = Buffer.alloc(256 * 1024);
      const timer = setInterval(() => {
        res.write(chunk);
        queued.flood += chunk.length;
      }, 2);
      res.on('close', () => clearInterval(timer));
    } else if (path === '/seg.ts') {
      http.trackSegment(req, res, { variant: 'live-128k', durationS: 6 });
      res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': SEGMENT_BYTES });
      let sent = 0;
      const timer = setInterval(() => {
        sent += 10_000;
        if (sent >= SEGMENT_BYTES) {
          clearInterval(timer);
          res.end(Buffer.alloc(10_000));
        } else res.write(Buffer.alloc(10_000));
      }, 15);
      res.on('close', () => clearInterval(timer));
    } else if (path === '/live.m3u8') {
      http.sendMasterPlaylist(req, res, { group: 'live', playlist: MASTER });
    } else if (path === '/hls/128k.m3u8') {
      http.sendVariantPlaylist(req, res, {
        playlist: VARIANT,
        headers: { 'access-control-allow-origin': '*' },
      });
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, events, trackers, queued };
}

function open(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { headers }, resolve).on('error', reject));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  expect(condition()).toBe(true);
}

describe('node:http adapter', () => {
  it('ticks a Shoutcast connection, takes session_id from the URL and emits the remainder on close', async () => {
    const station = await startStation();
    const res = await open(`${station.base}/stream.mp3?session_id=abc`, { 'user-agent': 'VLC/3.0' });
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    await sleep(350);
    res.destroy();
    await waitUntil(
      () => station.events.length >= 4 && station.trackers[0]?.bytes === sumBytes(station.events),
    );
    const events = station.events;
    expect(new Set(events.map((e) => e.session))).toEqual(new Set(['abc']));
    expect(events[0]).toMatchObject({
      stream: 'live-mp3',
      output: 'shoutcast',
      ua: 'VLC/3.0',
      ip: '127.0.0.1',
    });
    expect(sumBytes(events)).toBeGreaterThanOrEqual(received);
    // 80 kbit/s = 10 000 bytes per second.
    for (const e of events) expect(e.duration).toBeCloseTo(e.bytes / 10_000, 3);
  });

  it('counts the bytes the socket accepted, not the bytes queued for a client that stopped reading', async () => {
    const station = await startStation();
    const res = await open(`${station.base}/flood.mp3`);
    res.pause();
    await sleep(400);
    const tracker = station.trackers[0] as ShoutcastTracker;
    expect(tracker.bytes).toBeGreaterThan(0);
    expect(tracker.bytes).toBeLessThan(station.queued.flood / 4);
    res.destroy();
    await waitUntil(() => station.events.length === 1);
    expect(station.events[0]?.bytes).toBe(tracker.bytes);
    expect(new Set(station.events.map((e) => e.session)).size).toBe(1);
  });

  it('emits a whole segment once, with its duration', async () => {
    const station = await startStation();
    const res = await open(`${station.base}/seg.ts?session_id=S&ua=App%2F1`);
    let received = 0;
    for await (const chunk of res) received += (chunk as Buffer).length;
    expect(received).toBe(SEGMENT_BYTES);
    await waitUntil(() => station.events.length === 1);
    expect(station.events[0]).toMatchObject({
      session: 'S',
      stream: 'live-128k',
      output: 'hls',
      duration: 6,
      bytes: SEGMENT_BYTES,
      ua: 'App/1',
    });
  });

  it('pro-rates a segment the client cut off by the bytes it accepted', async () => {
    const station = await startStation();
    const res = await open(`${station.base}/seg.ts?session_id=S`);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await waitUntil(() => station.events.length === 1);
    const event = station.events[0] as ListenEvent;
    expect(event.bytes).toBeGreaterThan(0);
    expect(event.bytes).toBeLessThan(SEGMENT_BYTES);
    expect(event.duration).toBeCloseTo((6 * event.bytes) / SEGMENT_BYTES, 3);
  });

  it('sends a rewritten master playlist and a start event, with the session from X-Playback-Session-Id', async () => {
    const station = await startStation();
    const res = await open(`${station.base}/live.m3u8?session_id=ignored`, {
      'x-playback-session-id': 'APPLE-9',
      'user-agent': 'AppleCoreMedia/1',
    });
    let body = '';
    for await (const chunk of res) body += chunk;
    expect(res.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(body).toBe(
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=140000\n128k.m3u8?session_id=APPLE-9&ua=AppleCoreMedia%2F1\n',
    );
    expect(station.events).toEqual([
      expect.objectContaining({ session: 'APPLE-9', stream: 'live', duration: 0, bytes: 0 }),
    ]);
  });
});

describe('node:http adapter, a variant playlist opened directly', () => {
  it('redirects to a URL with session_id and ua, so every reload carries one session', async () => {
    const station = await startStation();
    const manual = await fetch(`${station.base}/hls/128k.m3u8?token=t`, {
      redirect: 'manual',
      headers: { 'user-agent': 'Lavf/61' },
    });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('cache-control')).toBe('no-store');
    expect(manual.headers.get('access-control-allow-origin')).toBe('*');
    expect(manual.headers.get('location')).toMatch(/^\.\/128k\.m3u8\?token=t&session_id=[^&]+&ua=Lavf%2F61$/);

    // A player follows the redirect once, then reloads the playlist it ended up at.
    const first = await fetch(`${station.base}/hls/128k.m3u8`, { headers: { 'user-agent': 'Lavf/61' } });
    expect(first.redirected).toBe(true);
    const sessions = new Set<string>();
    for (let reload = 0; reload < 4; reload++) {
      const res = await fetch(first.url, { headers: { 'user-agent': 'Lavf/61' } });
      expect([res.status, res.redirected]).toEqual([200, false]);
      const segment = (await res.text()).split('\n').find((line) => line.startsWith('seg.ts?'));
      sessions.add(new URL(segment as string, first.url).searchParams.get('session_id') as string);
    }
    expect(sessions.size).toBe(1);
    const [session] = sessions;
    expect(new URL(first.url).searchParams.get('session_id')).toBe(session);
  });

  it('can be turned off', async () => {
    const station = await startStation({ redirectDirectVariants: false });
    const res = await fetch(`${station.base}/hls/128k.m3u8`, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('seg.ts?session_id=');
  });
});

describe('node:http adapter behind a proxy', () => {
  async function ipOf(options: NodeAdapterOptions, forwardedFor?: string): Promise<string | undefined> {
    const station = await startStation(options);
    const res = await open(
      `${station.base}/live.m3u8`,
      forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    );
    res.resume();
    await waitUntil(() => station.events.length === 1);
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    return station.events[0]?.ip;
  }

  it('ignores X-Forwarded-For unless told to trust a proxy', async () => {
    expect(await ipOf({}, '198.51.100.7')).toBe('127.0.0.1');
  });

  it('takes the entry the trusted proxy appended (the rightmost), not the one the client wrote', async () => {
    expect(await ipOf({ trustProxy: true }, '6.6.6.6, 198.51.100.7')).toBe('198.51.100.7');
    expect(await ipOf({ trustProxy: 2 }, '6.6.6.6, 198.51.100.7, 10.0.0.9')).toBe('198.51.100.7');
  });

  it('strips a port and drops a value that is not an address', async () => {
    expect(await ipOf({ trustProxy: true }, '198.51.100.7:5678')).toBe('198.51.100.7');
    expect(await ipOf({ trustProxy: true }, 'unknown')).toBeUndefined();
    expect(await ipOf({ trustProxy: true })).toBe('127.0.0.1');
  });
});

function sumBytes(events: ListenEvent[]): number {
  return events.reduce((sum, e) => sum + e.bytes, 0);
}
