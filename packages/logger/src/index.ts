/**
 * @earshot/logger: listen-event logging for internet radio. Shoutcast/ICY connections and HLS
 * playlists and segments become listen events (DESIGN section 2) that a sink batches to Earshot
 * ingest. This entry point is framework-neutral; `@earshot/logger/node` and `@earshot/logger/fetch`
 * adapt it to `node:http` and to Fetch API servers (Hono, Bun, Deno, workers).
 */
export { type CallbackSinkOptions, createCallbackSink } from './callback-sink.js';
export { buildEvent, cleanClientText, type Delivery } from './event.js';
export type {
  HlsMasterOptions,
  HlsSegmentOptions,
  HlsVariantOptions,
  SegmentTracker,
  ServedPlaylist,
} from './hls.js';
export {
  createHttpSink,
  eventsUrl,
  type HttpSink,
  type HttpSinkOptions,
  tracksUrl,
} from './http-sink.js';
export { isValidSessionId, newId, resolveSessionId, type SessionSource } from './ids.js';
export { isIpv4, isIpv6, normalizeIp, proxyHops, resolveClientIp } from './ip.js';
export {
  createListenLogger,
  type ListenLogger,
  type ListenLoggerOptions,
  type NowPlaying,
} from './listen-logger.js';
export { isMasterPlaylist, rewritePlaylistUris, type UriParams, withQueryParams } from './playlist.js';
export {
  createSegmentLedger,
  type SegmentLedger,
  type ShoutcastOptions,
  type ShoutcastTracker,
} from './shoutcast.js';
export type {
  EventSink,
  ListenEvent,
  LogFn,
  LoggerLike,
  RequestFacts,
  SinkStats,
  TrackEvent,
} from './types.js';
