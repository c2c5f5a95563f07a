import type { AddressInfo } from 'node:net';
import { createListenLogger, type EventSink, type ListenLogger, type LoggerLike } from '@earshot/logger';
import { createFetchAdapter } from '@earshot/logger/fetch';
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { loadAudio, type StationAudio } from './audio.js';
import { HLS_CLOCK, liveWindow, masterPlaylist, segmentOf, variantPlaylist } from './hls.js';
import { liveMp3Body } from './mp3.js';
import { startToneAnnouncer } from './programme.js';

/** Stream keys the station reports under. */
export const STREAM_KEYS = { mp3: 'live-mp3', hlsGroup: 'live' } as const;

export interface StationOptions {
  /** Where listen events go (an HTTP sink to ingest, or a callback sink when embedded). */
  sink: EventSink;
  /** Port to listen on; 0 picks a free one. Default 8000. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Directory with stream.mp3 and hls/{32k,64k}/ (scripts/make-audio.sh). Default: the committed audio. */
  audioDir?: string;
  /** Seconds between Shoutcast listen events. Default 30. */
  tickS?: number;
  /** Seconds of audio a new MP3 listener gets at once. Default 2. */
  burstS?: number;
  /**
   * Proxies of your own in front of the station (`true` = 1): the client IP is then the entry they
   * appended to `X-Forwarded-For` (the `n`-th from the right), not the socket's peer, which is the
   * proxy. Default false: the socket's peer; the header is ignored.
   */
  trustProxy?: boolean | number;
  /** A pino logger (or anything with its shape). */
  logger?: LoggerLike;
  /** Clock, epoch ms: the live position of every stream follows it. Default `Date.now`. */
  now?: () => number;
  /**
   * Announce each tone as a track event (the listen logger's `nowPlaying`, to the sink's
   * `pushTrack`) on `live-mp3` and the HLS group `live` when it starts. Default true.
   */
  announceTracks?: boolean;
}

/** A running station. */
export interface Station {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  port: number;
  /** Stops listening and ends every listener connection (emitting their last events). Does not close the sink. */
  close(): Promise<void>;
}

/** Serves a 64 kbit/s MP3 stream at `/stream.mp3` and live HLS at `/hls/live.m3u8`, logging listen events. */
export function createStationApp(
  options: StationOptions & { audio: StationAudio; listen?: ListenLogger },
): Hono {
  const { audio, sink, logger } = options;
  const now = options.now ?? Date.now;
  const listen = options.listen ?? createListenLogger({ sink, now, logger });
  const web = createFetchAdapter(listen, { trustProxy: options.trustProxy });
  const master = masterPlaylist(audio.variants);
  const byName = new Map(audio.variants.map((variant) => [variant.name, variant]));
  // The socket's peer; behind a trusted proxy the adapter takes X-Forwarded-For over it.
  const clientIp = (c: Parameters<typeof getConnInfo>[0]): string | undefined => {
    try {
      return getConnInfo(c).remote.address;
    } catch {
      return undefined; // app.request() in tests has no socket
    }
  };

  const app = new Hono();
  app.use('*', cors({ origin: '*', allowHeaders: ['X-Playback-Session-Id', 'Range'] }));

  app.get('/', (c) =>
    c.html(`<!doctype html><meta charset="utf-8"><title>Earshot demo station</title>
<h1>Earshot demo station</h1>
<p>MP3 (Shoutcast/ICY style): <a href="/stream.mp3">/stream.mp3</a></p>
<audio controls preload="none" src="/stream.mp3"></audio>
<p>HLS: <a href="/hls/live.m3u8">/hls/live.m3u8</a> (Safari plays it natively; elsewhere use ffplay or VLC)</p>`),
  );

  app.get('/healthz', (c) => c.json({ ok: true }));

  app.get('/stream.mp3', (c) => {
    const body = liveMp3Body({
      mp3: audio.mp3,
      bitrateKbps: audio.mp3BitrateKbps,
      now,
      burstS: options.burstS,
    });
    const source = new Response(body, {
      headers: {
        'content-type': 'audio/mpeg',
        'cache-control': 'no-cache, no-store',
        'icy-name': 'Earshot demo station',
        'icy-br': String(audio.mp3BitrateKbps),
        'icy-pub': '0',
      },
    });
    const { response, tracker } = web.trackShoutcast(c.req.raw, source, {
      stream: STREAM_KEYS.mp3,
      bitrateKbps: audio.mp3BitrateKbps,
      tickMs: (options.tickS ?? 30) * 1000,
      ip: clientIp(c),
    });
    logger?.debug?.({ session: tracker.session, stream: STREAM_KEYS.mp3 }, 'listener connected');
    return response;
  });

  app.get('/hls/live.m3u8', (c) => {
    const { response, served } = web.masterPlaylist(c.req.raw, {
      group: STREAM_KEYS.hlsGroup,
      playlist: master,
      ip: clientIp(c),
    });
    logger?.debug?.({ session: served.session, source: served.source }, 'hls session started');
    return response;
  });

  app.get('/hls/:variant/live.m3u8', (c) => {
    const variant = byName.get(c.req.param('variant'));
    if (!variant) return c.json({ error: 'no such variant', variants: [...byName.keys()] }, 404);
    return web.variantPlaylist(c.req.raw, { playlist: variantPlaylist(variant, now()), ip: clientIp(c) })
      .response;
  });

  app.get('/hls/:variant/:segment{seg-[0-9]+\\.ts}', (c) => {
    const variant = byName.get(c.req.param('variant'));
    const sequence = Number(/^seg-(\d+)\.ts$/.exec(c.req.param('segment'))?.[1]);
    if (!variant || !Number.isSafeInteger(sequence)) return c.json({ error: 'no such segment' }, 404);
    if (sequence > liveWindow(now(), HLS_CLOCK).last)
      return c.json({ error: 'segment not yet live', sequence }, 404);
    const segment = segmentOf(variant, sequence);
    const source = new Response(chunked(segment.bytes, 8 * 1024), {
      headers: {
        'content-type': 'video/mp2t',
        'content-length': String(segment.bytes.byteLength),
        'cache-control': 'public, max-age=60',
      },
    });
    return web.trackSegment(c.req.raw, source, {
      variant: variant.key,
      durationS: segment.durationS,
      mediaSequence: sequence,
      ip: clientIp(c),
    }).response;
  });

  return app;
}

/** Idle keep-alive, well above the segment interval (nginx keeps 75 s). */
const KEEP_ALIVE_MS = 65_000;

/**
 * Starts the station: loads the audio, listens, and returns its URL and `close`. Embeddable: give
 * it the sink (and logger) of the process it runs in.
 */
export async function createStation(options: StationOptions): Promise<Station> {
  const audio = await loadAudio(options.audioDir);
  const now = options.now ?? Date.now;
  const listen = createListenLogger({ sink: options.sink, now, logger: options.logger });
  const app = createStationApp({ ...options, audio, listen });
  const server = createAdaptorServer({ fetch: app.fetch });
  // HLS players reuse one connection for a segment every target duration (6 s). Node's default
  // keep-alive of 5 s closes it just before each reuse: every segment request races a reset, and
  // a player that loses the race may skip the segment (a 6 s hole in what it plays).
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.headersTimeout = KEEP_ALIVE_MS + 1000;
  }
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const stopAnnouncing =
    options.announceTracks === false
      ? () => {}
      : startToneAnnouncer({
          listen,
          now,
          logger: options.logger,
          streams: [
            { key: STREAM_KEYS.mp3, loopMs: (audio.mp3.byteLength * 8) / audio.mp3BitrateKbps },
            {
              key: STREAM_KEYS.hlsGroup,
              loopMs: (audio.variants[0]?.segments.length ?? 3) * HLS_CLOCK.segmentMs,
            },
          ],
        });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      stopAnnouncing();
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Streams never end by themselves: cut them, which emits each listener's remainder.
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** A body that hands out `bytes` in slices, so a client that goes away mid-segment is noticed. */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at >= bytes.byteLength) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.subarray(at, at + size));
        at += size;
      },
    },
    { highWaterMark: 0 },
  );
}
