import { type ParsedLine, ParseStream } from 'm3u8-parser';

/**
 * Query parameters to add to a URI; `undefined` values are skipped. Existing parameters of the
 * same name are replaced, every other one is kept byte for byte.
 */
export type UriParams = Record<string, string | undefined>;

/** Tags whose `URI` attribute names another playlist that the session must follow. */
const PLAYLIST_URI_TAGS = new Set(['media', 'i-frame-playlist']);

/**
 * Rewrites every playlist URI of an HLS playlist so that it carries `params`, and keeps every other
 * line exactly as it was (tags, attribute order, number formats, comments, unknown tags, blank
 * lines, line breaks).
 *
 * In a master playlist that is every variant URI plus the `URI` of `EXT-X-MEDIA` and
 * `EXT-X-I-FRAME-STREAM-INF`; in a media playlist, every segment URI. Keys (`EXT-X-KEY`), init
 * sections (`EXT-X-MAP`) and session data are left alone: they carry no audio a listener hears.
 *
 * Lines are classified by m3u8-parser's line parser; only the URI text itself is replaced. (A full
 * parse-and-stringify with hls-parser reorders tags, drops comments and unknown tags, and rewrites
 * numbers and dates, so it is not used.)
 */
export function rewritePlaylistUris(text: string, params: UriParams): string {
  const parser = new ParseStream();
  let parsed: ParsedLine | undefined;
  parser.on('data', (line) => {
    parsed = line;
  });
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as string;
    const cr = raw.endsWith('\r');
    const line = cr ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    parsed = undefined;
    parser.push(line);
    const rewritten = rewriteLine(line, parsed, params);
    if (rewritten !== line) lines[index] = cr ? `${rewritten}\r` : rewritten;
  }
  return lines.join('\n');
}

function rewriteLine(line: string, parsed: ParsedLine | undefined, params: UriParams): string {
  if (parsed === undefined) return line;
  if (parsed.type === 'uri') {
    const start = line.indexOf(parsed.uri);
    if (start < 0) return line;
    return line.slice(0, start) + withQueryParams(parsed.uri, params) + line.slice(start + parsed.uri.length);
  }
  if (parsed.type === 'tag' && parsed.tagType !== undefined && PLAYLIST_URI_TAGS.has(parsed.tagType)) {
    const uri = parsed.attributes?.URI;
    if (typeof uri !== 'string' || uri === '') return line;
    return replaceUriAttribute(line, uri, withQueryParams(uri, params));
  }
  return line;
}

// Replaces the value of the `URI="..."` attribute only (not e.g. `X-URI="..."`), leaving the rest.
function replaceUriAttribute(line: string, from: string, to: string): string {
  const attribute = `URI="${from}"`;
  let at = line.indexOf(attribute);
  while (at >= 0) {
    const before = line[at - 1];
    if (before === ':' || before === ',') {
      return `${line.slice(0, at)}URI="${to}"${line.slice(at + attribute.length)}`;
    }
    at = line.indexOf(attribute, at + 1);
  }
  return line;
}

/**
 * Adds query parameters to a URI (relative or absolute) without touching anything else in it:
 * the path, the other parameters (their order and encoding) and the fragment stay as they were.
 */
export function withQueryParams(uri: string, params: UriParams): string {
  const entries = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (entries.length === 0) return uri;
  const hashAt = uri.indexOf('#');
  const fragment = hashAt >= 0 ? uri.slice(hashAt) : '';
  const beforeFragment = hashAt >= 0 ? uri.slice(0, hashAt) : uri;
  const queryAt = beforeFragment.indexOf('?');
  const path = queryAt >= 0 ? beforeFragment.slice(0, queryAt) : beforeFragment;
  const query = queryAt >= 0 ? beforeFragment.slice(queryAt + 1) : '';
  const names = new Set(entries.map(([name]) => name));
  const kept =
    query === '' ? [] : query.split('&').filter((pair) => pair !== '' && !names.has(parameterName(pair)));
  const added = entries.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  return `${path}?${[...kept, ...added].join('&')}${fragment}`;
}

function parameterName(pair: string): string {
  const eq = pair.indexOf('=');
  const name = (eq >= 0 ? pair.slice(0, eq) : pair).replaceAll('+', ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** Whether a playlist is a master (multivariant) playlist: it has `EXT-X-STREAM-INF`. */
export function isMasterPlaylist(text: string): boolean {
  return /^#EXT-X-STREAM-INF:/m.test(text);
}
