// Access-log records -> listen events, by the logger's HLS rules (packages/logger/src/hls.ts) and,
// for Icecast's access log, one Shoutcast event per connection at its close.
import type { ListenEvent } from '@earshot/core';
import { buildEvent, cleanClientText, createSegmentLedger, isValidSessionId } from '@earshot/logger';
import { shortHash } from '../shared/deterministic-id.js';
import { streamKeyOf } from '../shared/stream-key.js';
import type { HlsCatalog, SegmentInfo } from './hls-catalog.js';
import type { AccessRecord } from './parse-line.js';

export interface AccessLogMapperOptions {
  /** The HLS groups to count; without one, only continuous-stream (Icecast) lines count. */
  catalog?: HlsCatalog;
  /**
   * Secret salt of the fallback session id (IP + user agent + group) of a request that carries no
   * session id. Without it such requests are skipped (counted in `noSession`).
   */
  salt?: string;
  /** Continuous-stream mounts to count (`/live.mp3` -> `live-mp3`); empty: every mount ({@link streamKeyOf}). */
  mounts?: ReadonlyMap<string, string>;
  /** Duration of a segment the playlists no longer list (an old log); unset: such lines are skipped. */
  fallbackSegmentS?: number;
  /** (session, media sequence) pairs remembered so re-fetched programme time counts once. Default 100 000. */
  maxTrackedSegments?: number;
  /** Ledger entries saved by an earlier run ({@link AccessLogMapper.ledger}). */
  ledger?: readonly (readonly [string, number])[];
}

/** What became of the lines, by outcome. */
export interface MapperCounts {
  master: number;
  segment: number;
  stream: number;
  /** Segment requests of a counted group whose duration is unknown (not in any playlist read). */
  unknownSegment: number;
  /** Requests without a session id while no salt was given for the fallback. */
  noSession: number;
  /** Lines that are none of the above (other paths, errors, variant playlists, HEAD). */
  skipped: number;
}

export interface AccessLogMapper {
  /** The event of one record (`id` derived from the line), or `undefined` when it makes none. */
  map(record: AccessRecord, id: string): ListenEvent | undefined | Promise<ListenEvent | undefined>;
  /** The (session, media sequence) ledger, oldest first (the newest `max`), to save with the log position. */
  ledger(max?: number): [string, number][];
  counts(): MapperCounts;
}

function splitTarget(target: string): { path: string; query: URLSearchParams | undefined } {
  const q = target.indexOf('?');
  if (q < 0) return { path: safeDecode(target), query: undefined };
  return { path: safeDecode(target.slice(0, q)), query: new URLSearchParams(target.slice(q + 1)) };
}

function safeDecode(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const NOT_A_MOUNT = /\.(?:xsl|html?|css|js|ico|png|jpe?g|svg|json|xml|txt|m3u8?|pls|xspf|ts|m4s)$/i;

export function createAccessLogMapper(options: AccessLogMapperOptions): AccessLogMapper {
  const maxTracked = options.maxTrackedSegments ?? 100_000;
  // The logger's ledger: a session is credited each media sequence's seconds once.
  const segments = createSegmentLedger(maxTracked, options.ledger ?? []);
  const counts: MapperCounts = {
    master: 0,
    segment: 0,
    stream: 0,
    unknownSegment: 0,
    noSession: 0,
    skipped: 0,
  };

  // Per-line work a busy log repeats for every request of a listener: cached, bounded.
  const cleaned = new Map<string, string | undefined>();
  const fallbacks = new Map<string, string>();
  function cleanUa(raw: string | null | undefined): string | undefined {
    if (raw === null || raw === undefined) return undefined;
    let value = cleaned.get(raw);
    if (value === undefined && !cleaned.has(raw)) {
      value = cleanClientText(raw);
      if (cleaned.size >= 10_000) cleaned.clear();
      cleaned.set(raw, value);
    }
    return value;
  }

  // header > session_id > (fallback) salted hash of IP + user agent + group.
  function sessionOf(
    record: AccessRecord,
    query: URLSearchParams | undefined,
    ua: string | undefined,
    group: string,
  ): string | undefined {
    const header = record.sessionHeader?.trim();
    if (isValidSessionId(header)) return header;
    const fromQuery = query?.get('session_id');
    if (isValidSessionId(fromQuery)) return fromQuery;
    if (options.salt === undefined) return undefined;
    const key = `${record.ip ?? ''}\n${ua ?? ''}\n${group}`;
    let session = fallbacks.get(key);
    if (session === undefined) {
      session = `h-${shortHash(32, 'earshot-hls-session', options.salt, record.ip ?? '', ua ?? '', group)}`;
      if (fallbacks.size >= 100_000) fallbacks.clear();
      fallbacks.set(key, session);
    }
    return session;
  }

  function skip(): undefined {
    counts.skipped++;
    return undefined;
  }

  type Outcome = ListenEvent | undefined | false;

  // Synchronous unless the segment is new to the catalog (then the playlists are read).
  function mapHls(
    record: AccessRecord,
    id: string,
    path: string,
    query: URLSearchParams | undefined,
  ): Outcome | Promise<Outcome> {
    const catalog = options.catalog;
    if (!catalog) return false;
    // The user agent a rewritten URI carries wins, as in the logger (players change theirs).
    const ua = cleanUa(query?.get('ua')) ?? cleanUa(record.ua);
    const group = catalog.group(path);
    if (group) {
      if (
        !((record.status >= 200 && record.status < 300) || record.status === 304) ||
        record.method === 'HEAD'
      ) {
        return skip();
      }
      const session = sessionOf(record, query, ua, group.key);
      if (!session) {
        counts.noSession++;
        return undefined;
      }
      counts.master++;
      const delivery = { session, stream: group.key, output: 'hls' as const, time: record.timeMs };
      return buildEvent({ ...delivery, durationS: 0, bytes: 0, ua, ip: record.ip }, id);
    }
    if (catalog.isVariantPlaylist(path)) return skip();
    if (record.status !== 200 && record.status !== 206) {
      return catalog.groupOfPath(path) ? skip() : false;
    }
    if (record.bytes <= 0) return catalog.groupOfPath(path) ? skip() : false;
    const cached = catalog.cached(path);
    if (cached) return segmentEvent(record, id, path, query, ua, cached);
    return catalog.segment(path).then((info) => segmentEvent(record, id, path, query, ua, info));
  }

  function segmentEvent(
    record: AccessRecord,
    id: string,
    path: string,
    query: URLSearchParams | undefined,
    ua: string | undefined,
    info: SegmentInfo | undefined,
  ): Outcome {
    const catalog = options.catalog as HlsCatalog;
    let variant: string;
    let groupKey: string;
    let durationS: number;
    let sequence: number | undefined;
    let total: number | undefined;
    if (info) {
      ({ variant, durationS, sequence } = info);
      groupKey = info.group;
      total =
        record.rangeTotal ?? (record.status === 200 ? record.contentLength : undefined) ?? info.sizeBytes;
    } else {
      const owner = catalog.groupOfPath(path);
      if (!owner || path.endsWith('.m3u8')) return false;
      if (options.fallbackSegmentS === undefined) {
        counts.unknownSegment++;
        return undefined;
      }
      variant = owner.variant;
      groupKey = owner.group;
      durationS = options.fallbackSegmentS;
      total = record.rangeTotal ?? (record.status === 200 ? record.contentLength : undefined);
    }
    total ??= record.contentLength;
    const session = sessionOf(record, query, ua, groupKey);
    if (!session) {
      counts.noSession++;
      return undefined;
    }
    // The logger's rule: whole when every byte went out (or the size is unknown and nginx saw no
    // cut), else pro rata by bytes.
    const whole = total === undefined ? record.completed !== false : record.bytes >= total;
    const fraction = whole ? 1 : total !== undefined && total > 0 ? Math.min(1, record.bytes / total) : 0;
    const delivered = durationS * fraction;
    const credited =
      sequence !== undefined ? segments.claim(`${session}\n${sequence}`, delivered) : delivered;
    counts.segment++;
    return buildEvent(
      {
        session,
        stream: variant,
        output: 'hls',
        time: record.timeMs,
        durationS: credited,
        bytes: record.bytes,
        ua,
        ip: record.ip,
      },
      id,
    );
  }

  // Icecast writes one access-log line per client when it disconnects, with the seconds connected.
  function mapStream(record: AccessRecord, id: string, path: string, query: URLSearchParams | undefined) {
    if (record.connectedS === undefined || record.method !== 'GET' || record.status !== 200) return skip();
    if (record.bytes <= 0) return skip();
    let stream: string | undefined;
    if (options.mounts && options.mounts.size > 0) stream = options.mounts.get(path);
    else if (!path.startsWith('/admin') && !NOT_A_MOUNT.test(path)) stream = streamKeyOf(path);
    if (!stream) return skip();
    const fromQuery = query?.get('session_id');
    const session = isValidSessionId(fromQuery) ? fromQuery : `icecast-${id}`;
    counts.stream++;
    return buildEvent(
      {
        session,
        stream,
        output: 'shoutcast',
        time: record.timeMs,
        durationS: record.connectedS,
        bytes: record.bytes,
        ua: record.ua,
        ip: record.ip,
      },
      id,
    );
  }

  return {
    map(record, id) {
      const { path, query } = splitTarget(record.target);
      const hls = mapHls(record, id, path, query);
      if (hls instanceof Promise)
        return hls.then((r) => (r !== false ? r : mapStream(record, id, path, query)));
      return hls !== false ? hls : mapStream(record, id, path, query);
    },
    ledger: (max) => segments.entries(max),
    counts: () => ({ ...counts }),
  };
}
