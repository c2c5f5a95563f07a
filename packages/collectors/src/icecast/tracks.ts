import { MAX_TRACK_TEXT_LENGTH, parseStreamTitle, type TrackEvent } from '@earshot/core';
import { deterministicId } from '../shared/deterministic-id.js';

/** What a mount was last seen playing, kept in the collector's state. */
export interface SeenTitle {
  /** The title as Icecast reports it (artist and title joined by U+001F when both are given). */
  text: string;
  /** When the collector first saw it, epoch ms. */
  firstSeenMs: number;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f]/g;

const clean = (text: string) => text.replace(CONTROLS, ' ').trim().slice(0, MAX_TRACK_TEXT_LENGTH).trim();

/**
 * The track event for a title a mount plays from `seenMs` on (DESIGN section 9): artist and title
 * from Icecast's `<artist>` and `<title>` when both are given, else core's `parseStreamTitle` of the
 * title (`Artist - Title`). Kind `music` when there is an artist; a title alone (a show, a jingle)
 * is `other`, since a music track must name its artist. The id is derived from server, mount,
 * title and first sighting, so a collector restarted with its state adds nothing. Undefined for an
 * empty title.
 */
export function trackOfTitle(
  server: string,
  mount: string,
  stream: string,
  seen: SeenTitle,
  stats: { title?: string; artist?: string },
): TrackEvent | undefined {
  let artist = '';
  let title = '';
  if (stats.artist && stats.title) {
    artist = clean(stats.artist);
    title = clean(stats.title);
  } else if (stats.title) {
    const parsed = parseStreamTitle(stats.title);
    if (parsed) {
      artist = clean(parsed.artist);
      title = clean(parsed.title);
    }
  }
  if (title === '') return undefined;
  return {
    id: deterministicId('icecast-track', server, mount, seen.text, seen.firstSeenMs),
    stream,
    time: seen.firstSeenMs,
    artist,
    title,
    kind: artist === '' ? 'other' : 'music',
  };
}

/** The key a mount's now-playing state compares: '' when the source sent no title. */
export function titleText(stats: { title?: string; artist?: string }): string {
  if (!stats.title) return '';
  return stats.artist ? `${stats.artist}\u001f${stats.title}` : stats.title;
}
