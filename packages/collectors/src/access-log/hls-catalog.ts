// What the collector knows about the HLS streams it counts: each master playlist (a stream group),
// its variants, and each segment's variant, `#EXTINF` duration, media sequence and file size,
// read from the server's docroot or over HTTP and cached.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One HLS stream group to count: the master playlist's URL path and the group key. */
export interface HlsGroup {
  /** URL path of the master playlist, e.g. `/hls/live.m3u8`. */
  path: string;
  /** The group key (`stream` of the master playlist's event), e.g. `live`. */
  key: string;
  /**
   * Variant keys by variant playlist URL path (`/hls/32k/live.m3u8` -> `live-32k`). A variant not
   * named here is keyed `<group>-<name>`, name = its directory below the master's (`32k`) or, in
   * the same directory, its file name without extension.
   */
  variants?: Record<string, string>;
}

/** Where playlists are read from: the files nginx serves (`docroot`) or the server itself (`origin`). */
export interface PlaylistSource {
  /** The directory the URL paths are relative to (nginx `root`). */
  docroot?: string;
  /** Base URL to fetch playlists from (`http://127.0.0.1:8080`), when the files are not local. */
  origin?: string;
}

export interface SegmentInfo {
  group: string;
  variant: string;
  durationS: number;
  /** `EXT-X-MEDIA-SEQUENCE` + position: the same number in every variant = the same programme time. */
  sequence: number;
  /** File size, when the docroot has it. */
  sizeBytes?: number;
}

interface VariantState {
  path: string;
  dir: string;
  key: string;
  group: string;
  /** When the playlist was last read (ms, the collector's clock) and its mtime when read from disk. */
  readAtMs: number;
  mtimeMs: number;
}

export interface HlsCatalogOptions {
  groups: readonly HlsGroup[];
  source: PlaylistSource;
  /** Most segments remembered (oldest forgotten first). Default 200 000. */
  maxSegments?: number;
  /** A playlist read over HTTP is read again at most this often. Default 500 ms. */
  minRefreshMs?: number;
}

/** Maps request paths to groups, variants and segments. */
export interface HlsCatalog {
  /** The group of a master playlist path. */
  group(path: string): HlsGroup | undefined;
  /** Whether the path is a variant playlist of a counted group (a request that emits nothing). */
  isVariantPlaylist(path: string): boolean;
  /** A segment's facts if already known (no I/O). */
  cached(path: string): SegmentInfo | undefined;
  /** A segment's facts; reads the variant playlists again when the segment is new. */
  segment(path: string): Promise<SegmentInfo | undefined>;
  /** The group a path under a variant's directory belongs to (a segment the playlists no longer list). */
  groupOfPath(path: string): { group: string; variant: string } | undefined;
  /** Reads the master playlists (at start, and again when a group has no variants yet). */
  load(): Promise<void>;
}

/** The URL path a playlist URI points to, relative to the playlist's own path. */
export function resolvePath(uri: string, basePath: string): string {
  return new URL(uri, `http://h${basePath}`).pathname;
}

function directoryOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}

/** The default variant key: `<group>-<directory below the master>` or `<group>-<file name>`. */
export function defaultVariantKey(groupKey: string, masterPath: string, variantPath: string): string {
  const base = directoryOf(masterPath);
  const rel = variantPath.startsWith(base) ? variantPath.slice(base.length) : variantPath.replace(/^\/+/, '');
  const slash = rel.indexOf('/');
  const name = slash > 0 ? rel.slice(0, slash) : rel.replace(/\.[^.]*$/, '');
  return `${groupKey}-${name}`;
}

/** The variant playlist URIs of a master playlist (`EXT-X-STREAM-INF` lines and `EXT-X-MEDIA` `URI`s). */
export function masterVariantUris(text: string): string[] {
  const uris: string[] = [];
  let expectUri = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#EXT-X-STREAM-INF')) expectUri = true;
    else if (line.startsWith('#EXT-X-MEDIA:')) {
      const m = /(?:^|[:,])URI="([^"]+)"/.exec(line);
      if (m?.[1]) uris.push(m[1]);
    } else if (!line.startsWith('#') && expectUri) {
      uris.push(line);
      expectUri = false;
    }
  }
  return uris;
}

/** The segments of a media playlist: URI, `#EXTINF` duration and media sequence number. */
export function mediaSegments(text: string): { uri: string; durationS: number; sequence: number }[] {
  const segments: { uri: string; durationS: number; sequence: number }[] = [];
  let sequence = 0;
  let duration: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) sequence = Number(line.slice(22)) || 0;
    else if (line.startsWith('#EXTINF:')) {
      const value = Number.parseFloat(line.slice(8));
      duration = Number.isFinite(value) && value >= 0 ? value : undefined;
    } else if (!line.startsWith('#')) {
      if (duration !== undefined) segments.push({ uri: line, durationS: duration, sequence });
      sequence++;
      duration = undefined;
    }
  }
  return segments;
}

export function createHlsCatalog(options: HlsCatalogOptions): HlsCatalog {
  const { source } = options;
  if (!source.docroot && !source.origin) throw new TypeError('an HLS catalog needs a docroot or an origin');
  const maxSegments = options.maxSegments ?? 200_000;
  const minRefreshMs = options.minRefreshMs ?? 500;
  const groups = new Map(options.groups.map((g) => [g.path, g]));
  const variants = new Map<string, VariantState>();
  const segments = new Map<string, SegmentInfo>();

  async function read(path: string): Promise<{ text: string; mtimeMs: number } | undefined> {
    try {
      if (source.docroot) {
        const file = join(source.docroot, path);
        const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
        return { text, mtimeMs: info.mtimeMs };
      }
      const response = await fetch(new URL(path, source.origin), { signal: AbortSignal.timeout(5000) });
      if (!response.ok) return undefined;
      return { text: await response.text(), mtimeMs: Date.now() };
    } catch {
      return undefined;
    }
  }

  async function loadGroup(group: HlsGroup): Promise<void> {
    const master = await read(group.path);
    if (!master) return;
    for (const uri of masterVariantUris(master.text)) {
      const path = resolvePath(uri, group.path);
      if (variants.has(path)) continue;
      const key = group.variants?.[path] ?? defaultVariantKey(group.key, group.path, path);
      variants.set(path, { path, dir: directoryOf(path), key, group: group.key, readAtMs: 0, mtimeMs: -1 });
    }
  }

  async function refresh(variant: VariantState): Promise<void> {
    if (source.docroot) {
      try {
        const info = await stat(join(source.docroot, variant.path));
        if (info.mtimeMs === variant.mtimeMs) return;
      } catch {
        return;
      }
    } else if (Date.now() - variant.readAtMs < minRefreshMs) return;
    const playlist = await read(variant.path);
    variant.readAtMs = Date.now();
    if (!playlist) return;
    variant.mtimeMs = playlist.mtimeMs;
    for (const s of mediaSegments(playlist.text)) {
      const path = resolvePath(s.uri, variant.path);
      if (segments.has(path)) continue;
      const info: SegmentInfo = {
        group: variant.group,
        variant: variant.key,
        durationS: s.durationS,
        sequence: s.sequence,
      };
      if (source.docroot) {
        try {
          info.sizeBytes = (await stat(join(source.docroot, path))).size;
        } catch {
          // deleted already (hls_flags delete_segments): no size, no pro rata from the file
        }
      }
      segments.set(path, info);
      if (segments.size > maxSegments) segments.delete(segments.keys().next().value as string);
    }
  }

  function variantsFor(path: string): VariantState[] {
    const found: VariantState[] = [];
    for (const v of variants.values()) if (path.startsWith(v.dir)) found.push(v);
    return found;
  }

  const catalog: HlsCatalog = {
    group: (path) => groups.get(path),
    isVariantPlaylist: (path) => variants.has(path),
    async load() {
      for (const group of groups.values()) await loadGroup(group);
    },
    cached: (path) => segments.get(path),
    async segment(path) {
      const known = segments.get(path);
      if (known) return known;
      if (variants.size < groups.size) await catalog.load();
      for (const variant of variantsFor(path)) {
        await refresh(variant);
        const found = segments.get(path);
        if (found) return found;
      }
      return undefined;
    },
    groupOfPath(path) {
      const [variant] = variantsFor(path).sort((a, b) => b.dir.length - a.dir.length);
      return variant ? { group: variant.group, variant: variant.key } : undefined;
    },
  };
  return catalog;
}
