/**
 * @earshot/logger/fetch: the listen logger for servers that speak the Fetch API (Hono, Bun, Deno,
 * edge workers). Response bodies are wrapped so that bytes are counted as the client pulls them,
 * and a cancelled body (the client went away) ends the segment or connection.
 */
import type { HlsSegmentOptions, SegmentTracker, ServedPlaylist } from './hls.js';
import { resolveClientIp } from './ip.js';
import type { ListenLogger } from './listen-logger.js';
import type { ShoutcastOptions, ShoutcastTracker } from './shoutcast.js';
import type { RequestFacts } from './types.js';

export interface FetchAdapterOptions {
  /**
   * Proxies in front of this server whose `X-Forwarded-For` to believe: `true` (or `1`) for one,
   * `n` for a chain of `n`; the client IP is then the `n`-th entry from the right (see
   * `resolveClientIp`), and the `ip` a call gives (the socket's peer: the proxy) is only the
   * fallback for a request without the header. Only behind your own proxies: a client can send any
   * header. Default false: the `ip` each call gives, the header ignored.
   */
  trustProxy?: boolean | number;
  /**
   * Answer a variant playlist request that carries no session (a player that opened it directly)
   * with a 302 to the same URL with `session_id` and `ua` added, so that its reloads keep one
   * session. Default true.
   */
  redirectDirectVariants?: boolean;
}

/**
 * The socket's peer address, which the Fetch API does not expose: Hono has it from
 * `getConnInfo(c).remote.address`.
 */
interface WithIp {
  ip?: string | null;
}

export interface FetchAdapter {
  /** Wraps a Shoutcast/ICY response; the session id comes from `session_id` or is new. */
  trackShoutcast(
    request: Request,
    response: Response,
    options: Omit<ShoutcastOptions, 'session' | 'ua' | 'ip'> & WithIp,
  ): { response: Response; tracker: ShoutcastTracker };
  /** A master playlist response; emits the session's start event. */
  masterPlaylist(
    request: Request,
    options: { group: string; playlist: string; headers?: HeadersInit } & WithIp,
  ): { response: Response; served: ServedPlaylist };
  /**
   * A variant (media) playlist response; a request without a session gets a 302 to the same URL
   * with `session_id` and `ua` (see {@link FetchAdapterOptions.redirectDirectVariants}).
   */
  variantPlaylist(
    request: Request,
    options: { playlist: string; headers?: HeadersInit } & WithIp,
  ): { response: Response; served: ServedPlaylist };
  /**
   * Wraps a segment response: one event when the body ends or is cancelled. `totalBytes` defaults
   * to the response's `Content-Length`.
   */
  trackSegment(
    request: Request,
    response: Response,
    options: Omit<HlsSegmentOptions, keyof RequestFacts> & WithIp,
  ): { response: Response; tracker: SegmentTracker };
}

const PLAYLIST_HEADERS = { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' };

/** Reads the facts the logger needs from a Fetch API request. */
export function requestFacts(request: Request, options: FetchAdapterOptions & WithIp = {}): RequestFacts {
  return {
    sessionHeader: request.headers.get('x-playback-session-id'),
    query: new URL(request.url).searchParams,
    ua: request.headers.get('user-agent'),
    // Headers.get joins repeated X-Forwarded-For headers with ", ", in order.
    ip: resolveClientIp(
      { remoteAddress: options.ip, forwardedFor: request.headers.get('x-forwarded-for') },
      options.trustProxy,
    ),
  };
}

/**
 * Wraps a body so that `onBytes` hears of each chunk as the consumer (the server writing to the
 * socket) pulls it, and `onEnd` of the end: `true` when the source was read to its end, `false`
 * when the consumer cancelled or the source failed. Nothing is read ahead of the consumer.
 */
export function countBody(
  source: ReadableStream<Uint8Array>,
  hooks: { onBytes(bytes: number): void; onEnd(complete: boolean): void },
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let ended = false;
  const end = (complete: boolean): void => {
    if (ended) return;
    ended = true;
    try {
      hooks.onEnd(complete);
    } catch {
      // Logging must not break the response.
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            end(true);
            return;
          }
          hooks.onBytes(value.byteLength);
          controller.enqueue(value);
        } catch (error) {
          end(false);
          controller.error(error);
        }
      },
      cancel(reason) {
        end(false);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function rewrap(response: Response, body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** Adapts a listen logger to Fetch API requests and responses. */
export function createFetchAdapter(listen: ListenLogger, options: FetchAdapterOptions = {}): FetchAdapter {
  const factsOf = (request: Request, ip: string | null | undefined): RequestFacts =>
    requestFacts(request, { trustProxy: options.trustProxy, ip });
  const redirectVariants = options.redirectDirectVariants ?? true;
  return {
    trackShoutcast(request, response, { ip, ...shoutcastOptions }) {
      const facts = factsOf(request, ip);
      const tracker = listen.shoutcast({
        ...shoutcastOptions,
        // The tracker replaces an invalid id with a new one.
        session: (facts.query as URLSearchParams).get('session_id') ?? undefined,
        ua: facts.ua,
        ip: facts.ip,
      });
      if (!response.body) {
        tracker.close();
        return { response, tracker };
      }
      const body = countBody(response.body, {
        onBytes: (bytes) => tracker.accepted(bytes),
        onEnd: () => tracker.close(),
      });
      return { response: rewrap(response, body), tracker };
    },
    masterPlaylist(request, { group, playlist, headers, ip }) {
      const served = listen.hlsMaster({ ...factsOf(request, ip), group, playlist });
      const response = new Response(served.playlist, {
        headers: { ...PLAYLIST_HEADERS, ...toRecord(headers) },
      });
      return { response, served };
    },
    variantPlaylist(request, { playlist, headers, ip }) {
      const served = listen.hlsVariant({
        ...factsOf(request, ip),
        playlist,
        url: redirectVariants ? request.url : undefined,
      });
      if (served.redirect !== undefined) {
        // Never cached: a shared cache would hand one listener's session to everyone. Built with
        // the constructor, not Response.redirect(), whose headers middleware (CORS) cannot touch.
        const response = new Response(null, {
          status: 302,
          headers: { ...toRecord(headers), location: served.redirect, 'cache-control': 'no-store' },
        });
        return { response, served };
      }
      const response = new Response(served.playlist, {
        headers: { ...PLAYLIST_HEADERS, ...toRecord(headers) },
      });
      return { response, served };
    },
    trackSegment(request, response, { ip, ...segmentOptions }) {
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      const tracker = listen.hlsSegment({
        ...factsOf(request, ip),
        ...segmentOptions,
        totalBytes: segmentOptions.totalBytes ?? (Number.isFinite(length) ? length : undefined),
      });
      if (!response.body || request.method === 'HEAD') {
        tracker.end();
        return { response, tracker };
      }
      const body = countBody(response.body, {
        onBytes: (bytes) => tracker.sent(bytes),
        onEnd: (complete) => tracker.end({ complete }),
      });
      return { response: rewrap(response, body), tracker };
    },
  };
}

function toRecord(headers: HeadersInit | undefined): Record<string, string> {
  return headers === undefined ? {} : Object.fromEntries(new Headers(headers).entries());
}
