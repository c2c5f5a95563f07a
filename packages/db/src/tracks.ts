import type { TrackEvent, TrackKind } from '@earshot/core';
import type { Queryable } from './client.js';

export interface InsertTracksOptions {
  /** Stored as `received_at`. Default: the statement's now(). */
  receivedAt?: Date | number | undefined;
}

export interface InsertTracksResult {
  /** Track events whose id was not stored: new rows. */
  inserted: number;
  /** Track events that replaced a stored row with other content (a correction). */
  replaced: number;
  /**
   * Track events identical to the stored row of their id (a retry), or repeated with the same id
   * later in the batch (the last one of an id wins): nothing written for them.
   */
  unchanged: number;
}

// One statement (atomic without BEGIN/COMMIT). Rows go in id order, so concurrent batches take
// their row locks in the same order and cannot deadlock. A stored row is rewritten only when
// something differs, so a retried batch writes nothing and reports every track unchanged.
const INSERT_SQL = `insert into stream_tracks as t (id, stream, time, artist, title, album, isrc, label, duration_ms, kind, received_at)
select u.id, u.stream, to_timestamp(u.ms::float8 / 1000), u.artist, u.title, u.album, u.isrc, u.label, u.duration_ms, u.kind,
  coalesce($11::timestamptz, now())
from unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[])
  as u(id, stream, ms, artist, title, album, isrc, label, duration_ms, kind)
order by u.id collate "C"
on conflict (id) do update set stream = excluded.stream, time = excluded.time, artist = excluded.artist,
  title = excluded.title, album = excluded.album, isrc = excluded.isrc, label = excluded.label,
  duration_ms = excluded.duration_ms, kind = excluded.kind, received_at = excluded.received_at
where (t.stream, t.time, t.artist, t.title, t.album, t.isrc, t.label, t.duration_ms, t.kind)
  is distinct from (excluded.stream, excluded.time, excluded.artist, excluded.title, excluded.album, excluded.isrc,
    excluded.label, excluded.duration_ms, excluded.kind)
returning (xmax = 0) as inserted`;

const TEXT_FIELDS = ['id', 'stream', 'artist', 'title', 'album', 'isrc', 'label'] as const;

/**
 * Stores track events (DESIGN section 9) in `stream_tracks`, in one statement: a new id is
 * inserted; an id already stored is replaced when the event differs (a correction: every field,
 * `time` too) and left alone when it is the same (a retry). Within the batch the last event of an
 * id wins. `duration` (seconds) is stored as whole milliseconds. Throws a TypeError for a text
 * holding U+0000 (core's `parseTrack` refuses those already).
 */
export async function insertTracks(
  db: Queryable,
  tracks: readonly TrackEvent[],
  options: InsertTracksOptions = {},
): Promise<InsertTracksResult> {
  const last = new Map<string, TrackEvent>();
  tracks.forEach((track, i) => {
    for (const field of TEXT_FIELDS) {
      if (track[field]?.includes('\u0000'))
        throw new TypeError(`insertTracks: track ${i} has U+0000 in ${field}`);
    }
    last.set(track.id, track);
  });
  if (last.size === 0) return { inserted: 0, replaced: 0, unchanged: tracks.length };
  const rows = [...last.values()];
  const column = <T>(pick: (t: TrackEvent) => T) => rows.map(pick);
  const receivedAt = options.receivedAt === undefined ? null : new Date(options.receivedAt).toISOString();
  const written = await db.query<{ inserted: boolean }>(INSERT_SQL, [
    column((t) => t.id),
    column((t) => t.stream),
    column((t) => t.time),
    column((t) => t.artist),
    column((t) => t.title),
    column((t) => t.album ?? null),
    column((t) => t.isrc ?? null),
    column((t) => t.label ?? null),
    column((t) => (t.duration === undefined ? null : Math.round(t.duration * 1000))),
    column((t) => t.kind),
    receivedAt,
  ]);
  const inserted = written.filter((r) => r.inserted).length;
  const replaced = written.length - inserted;
  return { inserted, replaced, unchanged: tracks.length - inserted - replaced };
}

export interface ReadTracksOptions {
  /** Stream keys to read; default every stream. */
  streams?: readonly string[] | undefined;
  /** Start of the period, epoch ms (inclusive). */
  from: number;
  /** End of the period, epoch ms (exclusive). */
  to: number;
}

interface TrackRow {
  id: string;
  stream: string;
  ms: number | string;
  artist: string;
  title: string;
  album: string | null;
  isrc: string | null;
  label: string | null;
  duration_ms: number | null;
  kind: string;
}

const COLUMNS = `id, stream, extract(epoch from time)::float8 * 1000 as ms, artist, title, album, isrc, label, duration_ms, kind`;

// The streams to look before `from` on: the ones asked for, or every stored stream, found by a loose
// index scan of (stream, time) (one index probe per stream instead of reading every row).
const STREAMS_SQL = `with recursive walk(stream) as (
  select min(stream) from stream_tracks where $3::text[] is null
  union all
  select (select min(t.stream) from stream_tracks t where t.stream > w.stream) from walk w where w.stream is not null
), streams(stream) as (
  select s from unnest($3::text[]) as s
  union all
  select stream from walk where stream is not null
)`;

const READ_SQL = `${STREAMS_SQL}
select * from (
  select ${COLUMNS} from stream_tracks
  where time >= to_timestamp($1::float8 / 1000) and time < to_timestamp($2::float8 / 1000)
    and ($3::text[] is null or stream = any($3::text[]))
  union all
  select p.* from streams s cross join lateral (
    select ${COLUMNS} from stream_tracks t
    where t.stream = s.stream and t.time < to_timestamp($1::float8 / 1000)
    order by t.time desc, t.id collate "C" desc limit 1
  ) as p
) as r
order by stream collate "C", ms, id collate "C"`;

/**
 * The track events of the period `[from, to)` in (stream, time, id) order, and on each stream the
 * last one that started before `from` (it is still playing at `from`), so a caller can tell what
 * every stream played at every moment of the period. Reads `stream_tracks` only.
 */
export async function readTracks(db: Queryable, options: ReadTracksOptions): Promise<TrackEvent[]> {
  const { from, to } = options;
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new TypeError('readTracks: from and to must be epoch ms');
  if (to <= from) return [];
  const streams = options.streams === undefined ? null : [...new Set(options.streams)];
  if (streams?.length === 0) return [];
  const rows = await db.query<TrackRow>(READ_SQL, [from, to, streams]);
  return rows.map((r) => {
    const track: TrackEvent = {
      id: r.id,
      stream: r.stream,
      time: Math.round(Number(r.ms)),
      artist: r.artist,
      title: r.title,
      kind: r.kind as TrackKind,
    };
    if (r.album !== null) track.album = r.album;
    if (r.isrc !== null) track.isrc = r.isrc;
    if (r.label !== null) track.label = r.label;
    if (r.duration_ms !== null) track.duration = Number(r.duration_ms) / 1000;
    return track;
  });
}
