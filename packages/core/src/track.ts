import {
  CONTROL,
  type EventIssue,
  MAX_DURATION_S,
  MAX_ID_LENGTH,
  MAX_KEY_LENGTH,
  objectFields,
  parseTime,
} from './event.js';

/** What a track is: music (what royalties are reported for), talk, an ad, or anything else. */
export type TrackKind = 'music' | 'talk' | 'ad' | 'other';

export const TRACK_KINDS: readonly TrackKind[] = ['music', 'talk', 'ad', 'other'];

/**
 * A track event (DESIGN section 9): from `time` on, `stream` plays this, until the stream's next
 * track event. A track on an HLS stream-group key covers its variants (sessions are filed under
 * the group key). Ingest is idempotent on `id`: an event with the id of a stored one replaces it
 * (a correction).
 */
export interface TrackEvent {
  /** Unique per track event, 1..128 characters. */
  id: string;
  /** Stream key (an HLS group key covers its variants), 1..128 characters. */
  stream: string;
  /** When the track starts on the stream, epoch ms (integer). */
  time: number;
  /** Featured artist, 1..512 characters (empty for talk or ads without one is allowed as ''). */
  artist: string;
  /** Sound recording (or segment) title, 1..512 characters. */
  title: string;
  album?: string;
  /** International Standard Recording Code, 12 characters (`USRC17607839`), dashes removed, upper case. */
  isrc?: string;
  /** Marketing label. */
  label?: string;
  /** The track's length, seconds, if known: the last track of a stream ends after it. */
  duration?: number;
  kind: TrackKind;
}

/** Longest accepted artist, title, album and label, in characters. */
export const MAX_TRACK_TEXT_LENGTH = 512;

const TRACK_FIELDS = new Set([
  'id',
  'stream',
  'time',
  'artist',
  'title',
  'album',
  'isrc',
  'label',
  'duration',
  'kind',
]);

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f]/g;
const ISRC = /^[A-Z]{2}[A-Z0-9]{3}\d{7}$/;

function text(
  raw: Record<string, unknown>,
  field: string,
  issues: EventIssue[],
  options: { required: boolean; max: number; allowEmpty?: boolean },
): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) {
    if (options.required) issues.push({ field, reason: 'is required' });
    return undefined;
  }
  if (typeof value !== 'string') {
    issues.push({ field, reason: 'must be a string' });
    return undefined;
  }
  const trimmed = value.trim();
  if (trimmed.length > options.max)
    issues.push({ field, reason: `must be at most ${options.max} characters` });
  else if (CONTROL.test(trimmed)) issues.push({ field, reason: 'must not contain control characters' });
  else if (trimmed === '' && options.required && !options.allowEmpty)
    issues.push({ field, reason: `must be 1..${options.max} characters` });
  return trimmed === '' && !options.required ? undefined : trimmed;
}

/** Result of {@link parseTrack}: the normalized track event, or every problem found. */
export type ParseTrackResult = { ok: true; track: TrackEvent } | { ok: false; issues: EventIssue[] };

/**
 * Validates one track event (DESIGN section 9) and normalizes it: `time` to integer epoch ms, text
 * trimmed, empty optional text dropped, the ISRC without dashes in upper case. Never throws; unknown
 * fields are refused, as for listen events. `artist` may be empty for talk, ads and other segments.
 */
export function parseTrack(input: unknown): ParseTrackResult {
  const { raw, issues } = objectFields(input, TRACK_FIELDS, { whole: 'a track event', kind: 'track-event' });
  if (!raw) return { ok: false, issues };
  const id = text(raw, 'id', issues, { required: true, max: MAX_ID_LENGTH });
  const stream = text(raw, 'stream', issues, { required: true, max: MAX_KEY_LENGTH });
  let time = 0;
  if (raw.time === undefined) issues.push({ field: 'time', reason: 'is required' });
  else {
    const parsed = parseTime(raw.time);
    if (parsed.ok) time = parsed.ms;
    else issues.push({ field: 'time', reason: parsed.reason });
  }
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(TRACK_KINDS as readonly string[]).includes(kind)) {
    issues.push({
      field: 'kind',
      reason: kind === undefined ? 'is required' : `must be one of ${TRACK_KINDS.join(', ')}`,
    });
  }
  const music = kind === 'music';
  const artist = text(raw, 'artist', issues, {
    required: true,
    max: MAX_TRACK_TEXT_LENGTH,
    allowEmpty: !music,
  });
  const title = text(raw, 'title', issues, { required: true, max: MAX_TRACK_TEXT_LENGTH });
  const album = text(raw, 'album', issues, { required: false, max: MAX_TRACK_TEXT_LENGTH });
  const label = text(raw, 'label', issues, { required: false, max: MAX_TRACK_TEXT_LENGTH });
  let isrc = text(raw, 'isrc', issues, { required: false, max: 15 });
  if (isrc !== undefined) {
    isrc = isrc.replaceAll('-', '').toUpperCase();
    if (!ISRC.test(isrc))
      issues.push({ field: 'isrc', reason: 'must be an ISRC: CC-XXX-YY-NNNNN (12 characters)' });
  }
  const duration = raw.duration;
  if (duration !== undefined && duration !== null) {
    if (
      typeof duration !== 'number' ||
      !Number.isFinite(duration) ||
      duration <= 0 ||
      duration > MAX_DURATION_S
    )
      issues.push({
        field: 'duration',
        reason: `must be a number of seconds above 0, at most ${MAX_DURATION_S}`,
      });
  }
  if (issues.length > 0) return { ok: false, issues };
  const track: TrackEvent = {
    id: id!,
    stream: stream!,
    time,
    artist: artist ?? '',
    title: title!,
    kind: kind as TrackKind,
  };
  if (album !== undefined) track.album = album;
  if (isrc !== undefined) track.isrc = isrc;
  if (label !== undefined) track.label = label;
  if (typeof duration === 'number') track.duration = duration;
  return { ok: true, track };
}

/**
 * The artist and title of an ICY `StreamTitle` (Shoutcast/Icecast in-band metadata), which
 * stations send as `Artist - Title`: split at the first ` - ` (a title may hold more of them). A
 * text without one is a title alone (a show's name, a jingle). Undefined for an empty title.
 */
export function parseStreamTitle(streamTitle: string): { artist: string; title: string } | undefined {
  const textValue = streamTitle.replace(CONTROLS, ' ').trim();
  if (textValue === '') return undefined;
  const at = textValue.indexOf(' - ');
  if (at <= 0) return { artist: '', title: textValue };
  const artist = textValue.slice(0, at).trim();
  const title = textValue.slice(at + 3).trim();
  return title === '' ? { artist: '', title: artist } : { artist, title };
}
