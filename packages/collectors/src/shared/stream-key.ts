import { MAX_KEY_LENGTH } from '@earshot/core';

/**
 * The default stream key of a mount or URL path: lower case, every run of characters other than
 * `a-z0-9` becomes one `-`, no leading or trailing `-` (`/live.mp3` -> `live-mp3`,
 * `/hls/Live_64k/` -> `hls-live-64k`). `undefined` when nothing is left.
 */
export function streamKeyOf(mountOrPath: string): string | undefined {
  const key = mountOrPath
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_KEY_LENGTH)
    .replace(/-+$/, '');
  return key === '' ? undefined : key;
}

/** One `MOUNT[=KEY]` item of a mount map, e.g. from a repeated `--mount` flag. */
export interface MountKey {
  mount: string;
  stream: string;
}

/**
 * Parses `MOUNT[=KEY]` (`/live.mp3=live-mp3`, or `/live.mp3` for the default key
 * {@link streamKeyOf}). A key must be 1..128 visible ASCII characters.
 */
export function parseMountKey(text: string): { ok: true; value: MountKey } | { ok: false; reason: string } {
  const at = text.indexOf('=');
  const mount = (at === -1 ? text : text.slice(0, at)).trim();
  if (mount === '') return { ok: false, reason: `"${text}" names no mount (expected MOUNT[=KEY])` };
  const stream = at === -1 ? streamKeyOf(mount) : text.slice(at + 1).trim();
  if (!stream || !/^[\x21-\x7e]{1,128}$/.test(stream)) {
    return { ok: false, reason: `"${text}": the stream key must be 1..128 visible ASCII characters` };
  }
  return { ok: true, value: { mount, stream } };
}
