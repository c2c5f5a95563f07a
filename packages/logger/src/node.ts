/**
 * @earshot/logger/node: the listen logger for plain `node:http` (and anything built on it: Express,
 * Fastify's raw request/response...). Bytes are counted when the socket accepts them: on each
 * `res.write`/`res.end` callback, not when they are queued.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HlsSegmentOptions, SegmentTracker, ServedPlaylist } from './hls.js';
import { resolveClientIp } from './ip.js';
import type { ListenLogger } from './listen-logger.js';
import type { ShoutcastOptions, ShoutcastTracker } from './shoutcast.js';
import type { RequestFacts } from './types.js';

export interface NodeAdapterOptions {
  /**
   * Proxies in front of this server whose `X-Forwarded-For` to believe: `true` (or `1`) for one,
   * `n` for a chain of `n`; the client IP is then the `n`-th entry from the right (see
   * `resolveClientIp`). Only behind your own proxies: a client can send any header. Default false:
   * the socket's peer address.
   */
  trustProxy?: boolean | number;
  /**
   * Answer a variant playlist request that carries no session (a player that opened it directly)
   * with a 302 to the same URL with `session_id` and `ua` added, so that its reloads keep one
   * session. Default true.
   */
  redirectDirectVariants?: boolean;
}

type ResponseHeaders = Record<string, string | number | readonly string[]>;

export interface NodeAdapter {
  /** Instruments a Shoutcast/ICY response; the session id comes from `session_id` or is new. */
  trackShoutcast(
    req: IncomingMessage,
    res: ServerResponse,
    options: Omit<ShoutcastOptions, 'session' | 'ua' | 'ip'>,
  ): ShoutcastTracker;
  /** Rewrites and sends a master playlist; emits the session's start event. */
  sendMasterPlaylist(
    req: IncomingMessage,
    res: ServerResponse,
    options: { group: string; playlist: string; headers?: ResponseHeaders },
  ): ServedPlaylist;
  /**
   * Rewrites and sends a variant (media) playlist; a request without a session gets a 302 to the
   * same URL with `session_id` and `ua` (see {@link NodeAdapterOptions.redirectDirectVariants}).
   */
  sendVariantPlaylist(
    req: IncomingMessage,
    res: ServerResponse,
    options: { playlist: string; headers?: ResponseHeaders },
  ): ServedPlaylist;
  /**
   * Instruments a segment response: one event when it closes. `totalBytes` defaults to the
   * response's `Content-Length`.
   */
  trackSegment(
    req: IncomingMessage,
    res: ServerResponse,
    options: Omit<HlsSegmentOptions, keyof RequestFacts>,
  ): SegmentTracker;
}

const PLAYLIST_HEADERS = { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' };

/** Reads the facts the logger needs from a `node:http` request. */
export function requestFacts(req: IncomingMessage, options: NodeAdapterOptions = {}): RequestFacts {
  const url = new URL(req.url ?? '/', 'http://localhost');
  return {
    sessionHeader: header(req, 'x-playback-session-id'),
    query: url.searchParams,
    ua: header(req, 'user-agent'),
    ip: clientIp(req, options.trustProxy ?? false),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function clientIp(req: IncomingMessage, trustProxy: boolean | number): string | undefined {
  // Node joins repeated X-Forwarded-For headers with ", ", in order.
  return resolveClientIp(
    { remoteAddress: req.socket.remoteAddress, forwardedFor: header(req, 'x-forwarded-for') },
    trustProxy,
  );
}

type WriteCallback = (error?: Error | null) => void;

/**
 * Calls `onAccepted(bytes)` each time the socket accepts body bytes written to `res` (the write
 * callback without an error). Works with `res.write`, `res.end` and `stream.pipe(res)`.
 */
export function countAcceptedBytes(res: ServerResponse, onAccepted: (bytes: number) => void): void {
  // Loosely typed: the overloads of write/end do not survive `.call`.
  const write = res.write as (...args: unknown[]) => boolean;
  const end = res.end as (...args: unknown[]) => ServerResponse;
  const counted =
    (size: number, callback: WriteCallback | undefined): WriteCallback =>
    (error) => {
      if (!error && size > 0) onAccepted(size);
      callback?.(error);
    };
  res.write = function countedWrite(
    this: ServerResponse,
    chunk: unknown,
    encoding?: unknown,
    callback?: unknown,
  ) {
    const [enc, cb] = typeof encoding === 'function' ? [undefined, encoding] : [encoding, callback];
    const size = byteLength(chunk, enc as BufferEncoding | undefined);
    return write.call(this, chunk, enc, counted(size, cb as WriteCallback | undefined));
  } as ServerResponse['write'];
  res.end = function countedEnd(
    this: ServerResponse,
    chunk?: unknown,
    encoding?: unknown,
    callback?: unknown,
  ) {
    if (typeof chunk === 'function') return end.call(this, chunk);
    const [enc, cb] = typeof encoding === 'function' ? [undefined, encoding] : [encoding, callback];
    if (chunk === undefined || chunk === null) return end.call(this, cb);
    const size = byteLength(chunk, enc as BufferEncoding | undefined);
    // end's callback runs on 'finish': every byte was handed to the socket.
    return end.call(this, chunk, enc, counted(size, cb as WriteCallback | undefined));
  } as ServerResponse['end'];
}

function byteLength(chunk: unknown, encoding: BufferEncoding | undefined): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, encoding ?? 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/** Adapts a listen logger to `node:http` requests and responses. */
export function createNodeAdapter(listen: ListenLogger, options: NodeAdapterOptions = {}): NodeAdapter {
  const redirectVariants = options.redirectDirectVariants ?? true;
  return {
    trackShoutcast(req, res, shoutcastOptions) {
      const facts = requestFacts(req, options);
      const tracker = listen.shoutcast({
        ...shoutcastOptions,
        // The tracker replaces an invalid id with a new one.
        session: (facts.query as URLSearchParams).get('session_id') ?? undefined,
        ua: facts.ua,
        ip: facts.ip,
      });
      countAcceptedBytes(res, (bytes) => tracker.accepted(bytes));
      res.once('close', () => tracker.close());
      return tracker;
    },
    sendMasterPlaylist(req, res, { group, playlist, headers }) {
      const served = listen.hlsMaster({ ...requestFacts(req, options), group, playlist });
      res.writeHead(200, { ...PLAYLIST_HEADERS, ...headers });
      res.end(served.playlist);
      return served;
    },
    sendVariantPlaylist(req, res, { playlist, headers }) {
      const served = listen.hlsVariant({
        ...requestFacts(req, options),
        playlist,
        url: redirectVariants ? (req.url ?? '/') : undefined,
      });
      if (served.redirect !== undefined) {
        // Never cached: a shared cache would hand one listener's session to everyone.
        res.writeHead(302, { ...headers, location: served.redirect, 'cache-control': 'no-store' });
        res.end();
        return served;
      }
      res.writeHead(200, { ...PLAYLIST_HEADERS, ...headers });
      res.end(served.playlist);
      return served;
    },
    trackSegment(req, res, segmentOptions) {
      const tracker = listen.hlsSegment({ ...requestFacts(req, options), ...segmentOptions });
      countAcceptedBytes(res, (bytes) => tracker.sent(bytes));
      const declared = declaredLength(res);
      res.once('close', () => {
        tracker.end({
          // 'finish' happened: every byte was handed to the socket.
          complete: res.writableFinished,
          totalBytes: segmentOptions.totalBytes ?? declared(),
        });
      });
      return tracker;
    },
  };
}

/**
 * The response's Content-Length, whether it was set with `setHeader` or passed to `writeHead`
 * (which `getHeader` does not see).
 */
function declaredLength(res: ServerResponse): () => number | undefined {
  let fromWriteHead: number | undefined;
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  res.writeHead = function lengthWriteHead(this: ServerResponse, ...args: unknown[]) {
    const headers = args.find((arg) => typeof arg === 'object' && arg !== null);
    if (Array.isArray(headers)) {
      // [name, value, name, value...] or [[name, value]...]
      const flat = headers.flat() as unknown[];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (String(flat[i]).toLowerCase() === 'content-length') fromWriteHead = Number(flat[i + 1]);
      }
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        if (name.toLowerCase() === 'content-length') fromWriteHead = Number(value);
      }
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  return () => {
    const length = fromWriteHead ?? Number(res.getHeader('content-length'));
    return Number.isFinite(length) && length >= 0 ? length : undefined;
  };
}
