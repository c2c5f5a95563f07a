import { csvField } from './csv.js';
import type { TrackReport, TrackSong } from './tracks.js';

/** The list parts of a track report, each exportable as CSV. */
export type TrackPart = 'plays' | 'songs' | 'shows' | 'ath';

export const TRACK_PARTS: readonly TrackPart[] = ['plays', 'songs', 'shows', 'ath'];

/** CSV columns of each track part, in order (the field names of its rows). */
export const TRACK_COLUMNS: Readonly<Record<TrackPart, readonly string[]>> = {
  plays: [
    'stream',
    'start',
    'end',
    'id',
    'kind',
    'artist',
    'title',
    'album',
    'label',
    'isrc',
    'duration',
    'daypart',
    'listenersAtStart',
    'performances',
    'tlh',
    'tuneOuts',
    'tuneOutRate',
    'expectedTuneOutRate',
    'tuneOutIndex',
  ],
  songs: [
    'key',
    'kind',
    'artist',
    'title',
    'album',
    'label',
    'isrc',
    'plays',
    'performances',
    'tlh',
    'tuneOuts',
    'tuneOutIndex',
  ],
  shows: ['stream', 'show', 'plays', 'performances', 'tlh', 'tuneOuts', 'tuneOutIndex'],
  ath: ['stream', 'month', 'ath'],
};

/** One part of a track report as CSV (header row, `\n` line ends; see `csvField`). */
export function trackCsv(report: TrackReport, part: TrackPart): string {
  const columns = TRACK_COLUMNS[part];
  const lines = [columns.join(',')];
  for (const row of report[part] as unknown as readonly Record<string, unknown>[]) {
    lines.push(columns.map((c) => csvField(row[c])).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Columns of a SoundExchange report of use (census reporting, 37 CFR 370; the fields of
 * SoundExchange's Report of Use template, https://www.soundexchange.com/service-provider/reporting-requirements/),
 * in the order of the file.
 */
export const SOUNDEXCHANGE_COLUMNS = [
  'NAME_OF_SERVICE',
  'TRANSMISSION_CATEGORY',
  'FEATURED_ARTIST',
  'SOUND_RECORDING_TITLE',
  'ISRC',
  'ALBUM_TITLE',
  'MARKETING_LABEL',
  'ACTUAL_TOTAL_PERFORMANCES',
] as const;

export type SoundExchangeColumn = (typeof SOUNDEXCHANGE_COLUMNS)[number];

/**
 * The transmission categories of 37 CFR 370 (D-G are reserved). A: eligible nonsubscription
 * transmissions other than broadcast simulcasts and non-music programming (webcasts); B: broadcast
 * simulcasts of music programming; C: non-music (news, talk, sports, business); H-J: the same for
 * new subscription services; K: business establishment services; L: preexisting satellite radio.
 */
export const SOUNDEXCHANGE_CATEGORIES = ['A', 'B', 'C', 'H', 'I', 'J', 'K', 'L'] as const;

/** One row of a report of use: the column's value per column. */
export type SoundExchangeRow = Record<SoundExchangeColumn, string>;

/** A value as one TSV field: tabs and line breaks become spaces. */
function tsvField(value: string): string {
  return value.replace(/[\t\r\n]/g, ' ');
}

/**
 * The rows of a SoundExchange report of use: one per sound recording (music songs only, whatever
 * kinds the song list holds), in the songs' order. ACTUAL_TOTAL_PERFORMANCES is the song's
 * performances: each instance any portion of the recording was transmitted to a listener.
 */
export function soundExchangeRows(
  songs: readonly TrackSong[],
  service: { service: string; category: string },
): SoundExchangeRow[] {
  return songs
    .filter((song) => song.kind === 'music')
    .map((song) => ({
      NAME_OF_SERVICE: service.service,
      TRANSMISSION_CATEGORY: service.category,
      FEATURED_ARTIST: song.artist,
      SOUND_RECORDING_TITLE: song.title,
      ISRC: song.isrc ?? '',
      ALBUM_TITLE: song.album ?? '',
      MARKETING_LABEL: song.label ?? '',
      ACTUAL_TOTAL_PERFORMANCES: String(song.performances),
    }));
}

/**
 * A SoundExchange report of use as tab-separated text: a header row of {@link SOUNDEXCHANGE_COLUMNS},
 * then one row per sound recording ({@link soundExchangeRows}); tabs and line breaks inside a value
 * become spaces; `\n` line ends.
 */
export function soundExchangeTsv(
  songs: readonly TrackSong[],
  service: { service: string; category: string },
): string {
  const lines = [SOUNDEXCHANGE_COLUMNS.join('\t')];
  for (const row of soundExchangeRows(songs, service)) {
    lines.push(SOUNDEXCHANGE_COLUMNS.map((c) => tsvField(row[c])).join('\t'));
  }
  return `${lines.join('\n')}\n`;
}
