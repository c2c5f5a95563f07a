import { cleanClientText } from './event.js';
import { resolveSessionId, type SessionSource, toSearchParams } from './ids.js';
import { rewritePlaylistUris, withQueryParams } from './playlist.js';
import type { TrackerContext } from './shoutcast.js';
import type { RequestFacts } from './types.js';

/** A served playlist: the session it belongs to and the text to send. */
export interface ServedPlaylist {
  session: string;
  /** Where the session id came from: the request header, the `session_id` parameter, or new. */
  source: SessionSource;
  /** The playlist with every playlist or segment URI carrying `session_id` and `ua`. */
  playlist: string;
  /**
   * Variant playlists requested with a `url` and without any session id only: where to redirect
   * the player (302) instead of sending `playlist`, a relative reference to the same URL with
   * `session_id` and `ua` added. A player reloads a live playlist every target duration; without
   * the redirect each reload would start a new session.
   */
  redirect?: string;
}

export interface HlsMasterOptions extends RequestFacts {
  /** The stream group key, e.g. `live`: the `stream` of the session's start event. */
  group: string;
  /** The master playlist text as the server would send it. */
  playlist: string;
}

export interface HlsVariantOptions extends RequestFacts {
  /** The variant (media) playlist text as the server would send it. */
  playlist: string;
  /**
   * The request's URL (absolute, or the path and query). Given, a request that carries no session
   * (neither `X-Playback-Session-Id` nor `session_id`: a player that opened the variant playlist
   * directly) is answered with {@link ServedPlaylist.redirect}. The adapters pass it.
   */
  url?: string;
}

export interface HlsSegmentOptions extends RequestFacts {
  /** The key of the variant actually delivered, e.g. `live-128k`. */
  variant: string;
  /** The segment's duration from its `#EXTINF`, seconds. */
  durationS: number;
  /** Size of the response body (the segment, or the byte range served). Needed to pro-rate a cut-off. */
  totalBytes?: number;
  /**
   * The segment's media sequence number. When given, a session that gets the same number again (a
   * re-fetch, a player probing or switching variants, a download aborted and retried) is credited
   * only the seconds not counted yet: the bytes are all reported, the programme time once. Give it
   * only when the variants' sequence numbers are aligned (the same number = the same programme time).
   */
  mediaSequence?: number;
}

/** Counts the bytes of one segment response and emits its event when the response ends. */
export interface SegmentTracker {
  readonly session: string;
  /** Report bytes the client accepted. */
  sent(bytes: number): void;
  /**
   * The response ended. `complete` says whether the body was delivered whole; by default it is
   * whether `totalBytes` were sent (or true when `totalBytes` is unknown). `totalBytes` may be given
   * here when it was not known at the start. Idempotent.
   */
  end(outcome?: { complete?: boolean; totalBytes?: number }): void;
  readonly bytes: number;
}

/** The user agent to carry: the one a playlist URL already carries, else the request's own; cleaned. */
function carriedUa(facts: RequestFacts): string | undefined {
  return cleanClientText(toSearchParams(facts.query)?.get('ua')) ?? cleanClientText(facts.ua);
}

/**
 * The request URL again, with `params` added, as a reference relative to the request itself
 * (`./live.m3u8?...`): it survives a proxy that serves the station under another path prefix or
 * scheme, which an absolute URL built from the request would not.
 */
function selfReference(url: string, params: Record<string, string | undefined>): string {
  const parsed = new URL(url, 'http://localhost');
  const name = parsed.pathname.slice(parsed.pathname.lastIndexOf('/') + 1);
  return withQueryParams(`./${name}${parsed.search}`, params);
}

/**
 * Serves a master playlist: resolves the session (header > `session_id` > new), emits the session's
 * zero-duration start event with `stream` = the group key, and rewrites the variant and rendition
 * URIs to carry `session_id` and `ua`.
 */
export function serveMasterPlaylist(context: TrackerContext, options: HlsMasterOptions): ServedPlaylist {
  const { session, source } = resolveSessionId(options, context.newId);
  const ua = carriedUa(options);
  context.emit({
    session,
    stream: options.group,
    output: 'hls',
    time: context.now(),
    durationS: 0,
    bytes: 0,
    ua,
    ip: options.ip,
  });
  return { session, source, playlist: rewritePlaylistUris(options.playlist, { session_id: session, ua }) };
}

/**
 * Serves a variant (media) playlist: carries `session_id` and `ua` from the playlist's URL into
 * every segment URI. Emits nothing. A client that opens the variant directly gets a new session,
 * and with `url` given, a `redirect` that makes its later reloads carry that session.
 */
export function serveVariantPlaylist(context: TrackerContext, options: HlsVariantOptions): ServedPlaylist {
  const { session, source } = resolveSessionId(options, context.newId);
  const ua = carriedUa(options);
  const params = { session_id: session, ua };
  const served: ServedPlaylist = { session, source, playlist: rewritePlaylistUris(options.playlist, params) };
  if (source === 'new' && options.url !== undefined) served.redirect = selfReference(options.url, params);
  return served;
}

/**
 * Tracks one segment response: one event when it ends, with the bytes sent and the segment's
 * duration, pro rata by bytes when it was cut off; `stream` = the variant key. Nothing is emitted
 * for a response that delivered no bytes (a HEAD, a 304, an immediate abort). With `mediaSequence`,
 * programme time a session already got is not counted twice (see {@link HlsSegmentOptions}).
 */
export function trackSegment(context: TrackerContext, options: HlsSegmentOptions): SegmentTracker {
  if (!(options.durationS >= 0)) throw new TypeError('durationS must be >= 0');
  const { session } = resolveSessionId(options, context.newId);
  const ua = carriedUa(options);
  let bytes = 0;
  let ended = false;
  return {
    session,
    sent(count: number) {
      if (!ended && count > 0 && Number.isFinite(count)) bytes += count;
    },
    end(outcome = {}) {
      if (ended) return;
      ended = true;
      if (bytes <= 0) return;
      const total = outcome.totalBytes ?? options.totalBytes;
      const whole = outcome.complete ?? (total === undefined || bytes >= total);
      const fraction = whole ? 1 : total !== undefined && total > 0 ? Math.min(1, bytes / total) : 0;
      const delivered = options.durationS * fraction;
      const sequence = options.mediaSequence;
      const durationS =
        sequence !== undefined && context.segments
          ? context.segments.claim(`${session}\n${sequence}`, delivered)
          : delivered;
      context.emit({
        session,
        stream: options.variant,
        output: 'hls',
        time: context.now(),
        durationS,
        bytes,
        ua,
        ip: options.ip,
      });
    },
    get bytes() {
      return bytes;
    },
  };
}
