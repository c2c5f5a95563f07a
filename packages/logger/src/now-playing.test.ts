import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createCallbackSink } from './callback-sink.js';
import { createHttpSink, tracksUrl } from './http-sink.js';
import { createListenLogger } from './listen-logger.js';
import type { TrackEvent } from './types.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  items: Record<string, unknown>[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A stub ingest on 127.0.0.1:0 that records each request; `reply` answers it (200 by default). */
async function stubIngest(
  reply: (res: ServerResponse, index: number, path: string) => void = (res) => res.writeHead(200).end('{}'),
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      received.push({ path: req.url ?? '', headers: req.headers, items: JSON.parse(body.toString('utf8')) });
      reply(res, received.length - 1, req.url ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('nowPlaying through the HTTP sink', () => {
  it('posts each track event to /v1/tracks beside /v1/events, with a UUIDv7 id and the time now or given', async () => {
    const ingest = await stubIngest();
    const sink = createHttpSink({ url: `${ingest.url}/v1/events`, token: 'tok', flushIntervalMs: 20 });
    expect(sink.tracksUrl).toBe(`${ingest.url}/v1/tracks`);
    const logger = createListenLogger({ sink, now: () => 1_790_000_000_000 });
    const first = logger.nowPlaying('live', {
      artist: 'Earshot Demo',
      title: 'Tone A (440 Hz)',
      duration: 20,
    });
    const second = logger.nowPlaying('live', {
      artist: '',
      title: 'Station ID',
      kind: 'other',
      time: 1_790_000_020_000,
    });
    sink.push({
      session: 's1',
      stream: 'live-mp3',
      output: 'shoutcast',
      time: 1_790_000_000_000,
      duration: 30,
      bytes: 1000,
    });
    await sink.flush();

    expect(first).toEqual({
      id: expect.stringMatching(UUID_V7),
      stream: 'live',
      time: 1_790_000_000_000,
      artist: 'Earshot Demo',
      title: 'Tone A (440 Hz)',
      duration: 20,
      kind: 'music',
    });
    expect(second).toMatchObject({ time: 1_790_000_020_000, kind: 'other' });
    expect(first?.id).not.toBe(second?.id);
    const tracks = ingest.received.filter((r) => r.path === '/v1/tracks');
    expect(tracks).toHaveLength(1);
    expect(tracks[0]?.items).toEqual([first, second]);
    expect(tracks[0]?.headers).toMatchObject({
      authorization: 'Bearer tok',
      'content-encoding': 'gzip',
      'content-type': 'application/json',
    });
    expect(ingest.received.filter((r) => r.path === '/v1/events').map((r) => r.items.length)).toEqual([1]);
    expect(sink.trackStats()).toEqual({ sent: 2, dropped: 0, retried: 0, failed: 0, buffered: 0 });
    expect(sink.stats()).toEqual({ sent: 1, dropped: 0, retried: 0, failed: 0, buffered: 0 });
    await sink.close();
  });

  it('retries a track batch after a 503 with the same ids, and counts a track ingest would refuse as failed', async () => {
    const ingest = await stubIngest((res, index) =>
      index === 0 ? res.writeHead(503, { 'retry-after': '0' }).end('{}') : res.writeHead(200).end('{}'),
    );
    const sink = createHttpSink({ url: ingest.url, flushIntervalMs: 10, retryBaseMs: 5, gzip: false });
    const logger = createListenLogger({ sink });
    const played = logger.nowPlaying('live', { artist: 'Earshot Demo', title: 'Tone B (660 Hz)' });
    logger.nowPlaying('live', { artist: '', title: 'no artist for music' }); // refused by parseTrack
    await sink.flush();
    expect(ingest.received.map((r) => [r.path, r.items])).toEqual([
      ['/v1/tracks', [played]],
      ['/v1/tracks', [played]],
    ]);
    expect(sink.trackStats()).toEqual({ sent: 1, dropped: 0, retried: 1, failed: 1, buffered: 0 });
    await sink.close();
  });

  it('keeps an id the caller derived from its playout, so a second announcement of the play is the same event', async () => {
    const seen: TrackEvent[] = [];
    const logger = createListenLogger({
      sink: createCallbackSink(() => {}, { onTrack: (t) => void seen.push(t) }),
      now: () => 5_000,
    });
    logger.nowPlaying('live', { id: 'playout-log-42', artist: 'A', title: 'T', time: 1_000 });
    logger.nowPlaying('live', { id: 'playout-log-42', artist: 'A', title: 'T', time: 1_000 });
    expect(seen.map((t) => [t.id, t.time])).toEqual([
      ['playout-log-42', 1_000],
      ['playout-log-42', 1_000],
    ]);
  });

  it('derives the tracks URL from a base URL or the events URL', () => {
    expect(tracksUrl('http://ingest:8080')).toBe('http://ingest:8080/v1/tracks');
    expect(tracksUrl('http://ingest:8080/earshot/v1/events')).toBe('http://ingest:8080/earshot/v1/tracks');
  });
});

describe('nowPlaying through other sinks', () => {
  it('hands track events to a callback sink with onTrack, and drops them (counted) without one', async () => {
    const seen: TrackEvent[] = [];
    const withTracks = createCallbackSink(() => {}, { onTrack: (track) => void seen.push(track) });
    createListenLogger({ sink: withTracks }).nowPlaying('live', { artist: 'A', title: 'T' });
    expect(seen.map((t) => [t.stream, t.title, t.kind])).toEqual([['live', 'T', 'music']]);

    const without = createCallbackSink(() => {});
    createListenLogger({ sink: without }).nowPlaying('live', { artist: 'A', title: 'T' });
    expect(without.stats()).toMatchObject({ sent: 0, dropped: 1 });
  });

  it('returns undefined and never throws for a sink that takes no tracks', () => {
    const warnings: string[] = [];
    const sink = {
      push() {},
      flush: async () => {},
      close: async () => ({}) as never,
      stats: () => ({}) as never,
    };
    const logger = createListenLogger({
      sink,
      logger: { warn: (_o, m) => void warnings.push(m ?? ''), error: () => {} },
    });
    expect(logger.nowPlaying('live', { artist: 'A', title: 'T' })).toBeUndefined();
    expect(warnings).toEqual(['now playing: the sink takes no track events; not sent']);
  });
});
