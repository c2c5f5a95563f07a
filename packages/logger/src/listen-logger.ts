import type { TrackEvent } from '@earshot/core';
import { buildEvent, type Delivery } from './event.js';
import {
  type HlsMasterOptions,
  type HlsSegmentOptions,
  type HlsVariantOptions,
  type SegmentTracker,
  type ServedPlaylist,
  serveMasterPlaylist,
  serveVariantPlaylist,
  trackSegment,
} from './hls.js';
import { newId } from './ids.js';
import {
  createSegmentLedger,
  type ShoutcastOptions,
  type ShoutcastTracker,
  type TrackerContext,
  trackShoutcast,
} from './shoutcast.js';
import type { EventSink, LoggerLike } from './types.js';

export interface ListenLoggerOptions {
  /** Where events go: `createHttpSink` to Earshot ingest, or `createCallbackSink`. */
  sink: EventSink;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Id factory for events and new sessions. Default UUIDv7. */
  newId?: () => string;
  logger?: LoggerLike;
  /**
   * How many recent (session, media sequence) pairs to remember for HLS segments given a
   * `mediaSequence`, so that re-fetched or overlapping segments are not counted twice. Default 100 000
   * (about 10 segments for each of 10 000 listeners).
   */
  maxTrackedSegments?: number;
}

/**
 * The framework-neutral listen logger. The `@earshot/logger/node` and `@earshot/logger/fetch`
 * adapters read the request facts and count the bytes for you; use this directly with any other
 * server.
 */
export interface ListenLogger {
  readonly sink: EventSink;
  /** One Shoutcast/ICY listener connection. */
  shoutcast(options: ShoutcastOptions): ShoutcastTracker;
  /** A master playlist request: emits the session's start event, returns the rewritten playlist. */
  hlsMaster(options: HlsMasterOptions): ServedPlaylist;
  /**
   * A variant playlist request: returns the rewritten playlist, emits nothing. Given the request's
   * `url`, a request without a session also gets `redirect` (answer it with a 302 there).
   */
  hlsVariant(options: HlsVariantOptions): ServedPlaylist;
  /** A segment request: emits one event when the response ends. */
  hlsSegment(options: HlsSegmentOptions): SegmentTracker;
  /**
   * Announces what `stream` plays from `track.time` on (default now) until its next track: pushes a
   * track event (DESIGN section 9) with a new UUIDv7 id (or `track.id`) to the sink's `pushTrack` (the HTTP sink
   * posts it to ingest's `/v1/tracks`). Never throws; returns the event pushed, or undefined when
   * the sink takes no tracks.
   */
  nowPlaying(stream: string, track: NowPlaying): TrackEvent | undefined;
}

/** What {@link ListenLogger.nowPlaying} is told: a track event without its id and stream. */
export type NowPlaying = Omit<TrackEvent, 'id' | 'stream' | 'time' | 'kind'> & {
  /**
   * The event's id. Default a new UUIDv7. Give one derived from your playout (its log entry, or
   * stream + start time) when the same play may be announced twice, by a restarted process or by
   * several: ingest stores an id once.
   */
  id?: string;
  /** When the track starts, epoch ms. Default now. */
  time?: number;
  /** Default `music`. */
  kind?: TrackEvent['kind'];
};

export function createListenLogger(options: ListenLoggerOptions): ListenLogger {
  const { sink, logger } = options;
  const now = options.now ?? Date.now;
  const makeId = options.newId ?? newId;
  const context: TrackerContext = {
    now,
    newId: makeId,
    segments: createSegmentLedger(options.maxTrackedSegments ?? 100_000),
    emit(delivery: Delivery) {
      // Logging must never break the audio path.
      try {
        sink.push(buildEvent(delivery, makeId()));
      } catch (error) {
        logger?.error({ err: error }, 'listen event could not be pushed to the sink');
      }
    },
  };
  return {
    sink,
    shoutcast: (shoutcastOptions) => trackShoutcast(context, shoutcastOptions),
    hlsMaster: (masterOptions) => serveMasterPlaylist(context, masterOptions),
    hlsVariant: (variantOptions) => serveVariantPlaylist(context, variantOptions),
    hlsSegment: (segmentOptions) => trackSegment(context, segmentOptions),
    nowPlaying(stream, track) {
      try {
        if (!sink.pushTrack) {
          logger?.warn({ stream }, 'now playing: the sink takes no track events; not sent');
          return undefined;
        }
        const event: TrackEvent = {
          ...track,
          id: track.id ?? makeId(),
          stream,
          time: track.time ?? now(),
          kind: track.kind ?? 'music',
        };
        sink.pushTrack(event);
        return event;
      } catch (error) {
        logger?.error({ err: error }, 'track event could not be pushed to the sink');
        return undefined;
      }
    },
  };
}
