import { childrenNamed, childText, parseXml, type XmlElement } from '../shared/xml.js';

/** One listener of a mount, as Icecast 2.4's admin `listclients` reports it. */
export interface IcecastListener {
  /** Icecast's connection id (`<ID>`): unique per connection while the server process runs. */
  id: string;
  ip: string;
  /** `<UserAgent>`; Icecast writes `Unknown` when the client sent none. */
  ua: string | undefined;
  /** Whole seconds since the connection was accepted (`<Connected>`, `now - con_time`). */
  connectedS: number;
}

/** What the collector needs from Icecast's admin `stats`. */
export interface IcecastStats {
  /** When this Icecast process started, epoch s (`server_start_iso8601`, else `server_start`). */
  serverStartS: number;
  /** Per mount with a source connected. */
  mounts: Map<string, IcecastMountStats>;
}

export interface IcecastMountStats {
  listeners: number;
  /** The source's declared bitrate in kbit/s (`bitrate`, `ice-bitrate` or `audio_info`), if any. */
  bitrateKbps: number | undefined;
  /** Bytes read from the source so far, and since when (for a measured bitrate). */
  totalBytesRead: number | undefined;
  streamStartS: number | undefined;
  /**
   * Now playing: `<title>` (the ICY `StreamTitle` an MP3/AAC source sent with `admin/metadata`, or
   * an Ogg source's TITLE comment) and `<artist>` (Ogg sources' ARTIST comment). Absent when the
   * source sent none.
   */
  title?: string;
  artist?: string;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses `/admin/listclients?mount=...` (Icecast 2.4: `icestats/source/listener`). */
export function parseListClients(xml: string): Parsed<{ mount: string; listeners: IcecastListener[] }> {
  const doc = parseXml(xml);
  if (!doc.ok) return doc;
  const source = childrenNamed(doc.root, 'source')[0];
  if (doc.root.name !== 'icestats' || !source)
    return { ok: false, reason: 'not an icestats/source document' };
  const listeners: IcecastListener[] = [];
  for (const l of childrenNamed(source, 'listener')) {
    // 2.4 writes <ID>; 2.5 also an id attribute.
    const id = childText(l, 'ID') ?? l.attributes.id;
    const ip = childText(l, 'IP');
    const connectedS = Number(childText(l, 'Connected'));
    if (!id || !ip || !Number.isFinite(connectedS) || connectedS < 0) continue;
    const ua = childText(l, 'UserAgent');
    listeners.push({
      id,
      ip,
      ua: ua === undefined || ua === '' || ua === 'Unknown' ? undefined : ua,
      connectedS,
    });
  }
  return { ok: true, value: { mount: source.attributes.mount ?? '', listeners } };
}

/** Parses `/admin/stats`. */
export function parseStats(xml: string): Parsed<IcecastStats> {
  const doc = parseXml(xml);
  if (!doc.ok) return doc;
  if (doc.root.name !== 'icestats') return { ok: false, reason: 'not an icestats document' };
  const serverStartS = parseIcecastTime(
    childText(doc.root, 'server_start_iso8601') ?? childText(doc.root, 'server_start'),
  );
  if (serverStartS === undefined) return { ok: false, reason: 'no server_start in the stats' };
  const mounts = new Map<string, IcecastMountStats>();
  for (const s of childrenNamed(doc.root, 'source')) {
    const mount = s.attributes.mount;
    if (!mount) continue;
    const stats: IcecastMountStats = {
      listeners: Number(childText(s, 'listeners') ?? 0) || 0,
      bitrateKbps: declaredBitrate(s),
      totalBytesRead: numberOrUndefined(childText(s, 'total_bytes_read')),
      streamStartS: parseIcecastTime(childText(s, 'stream_start_iso8601') ?? childText(s, 'stream_start')),
    };
    const title = childText(s, 'title')?.trim();
    const artist = childText(s, 'artist')?.trim();
    if (title) stats.title = title;
    if (artist) stats.artist = artist;
    mounts.set(mount, stats);
  }
  return { ok: true, value: { serverStartS, mounts } };
}

function declaredBitrate(source: XmlElement): number | undefined {
  for (const name of ['bitrate', 'ice-bitrate']) {
    const n = numberOrUndefined(childText(source, name));
    if (n !== undefined && n > 0) return n;
  }
  // audio_info: "bitrate=128;samplerate=44100" (Liquidsoap and most encoders send it).
  const info = childText(source, 'audio_info');
  const m = info?.match(/(?:^|[;&])(?:ice-)?bitrate=(\d+(?:\.\d+)?)/);
  return m ? Number(m[1]) : undefined;
}

function numberOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** `2026-12-03T06:16:10+0000` or `Thu, 03 Dec 2026 06:16:10 +0000` -> epoch s. */
export function parseIcecastTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const iso = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** How to reach Icecast's admin interface. */
export interface IcecastAdmin {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  user: string;
  password: string;
  /** Per request, ms. Default 5000. */
  timeoutMs?: number;
}

/** One admin request's answer and the instants it was sent and fully received (epoch ms). */
export interface Timed<T> {
  value: T;
  sentMs: number;
  receivedMs: number;
}

async function adminGet(admin: IcecastAdmin, path: string): Promise<Timed<{ status: number; body: string }>> {
  const url = new URL(path, admin.url.endsWith('/') ? admin.url : `${admin.url}/`);
  const sentMs = Date.now();
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` },
    signal: AbortSignal.timeout(admin.timeoutMs ?? 5000),
  });
  const body = await res.text();
  return { value: { status: res.status, body }, sentMs, receivedMs: Date.now() };
}

/** GET /admin/stats. Throws on a network error, a non-200 answer or a document it cannot read. */
export async function fetchStats(admin: IcecastAdmin): Promise<Timed<IcecastStats>> {
  const r = await adminGet(admin, 'admin/stats');
  if (r.value.status !== 200) throw new Error(`Icecast admin/stats answered ${r.value.status}`);
  const parsed = parseStats(r.value.body);
  if (!parsed.ok) throw new Error(`Icecast admin/stats: ${parsed.reason}`);
  return { value: parsed.value, sentMs: r.sentMs, receivedMs: r.receivedMs };
}

/**
 * GET /admin/listclients?mount=MOUNT. A mount without a source answers an error: that is no
 * listeners (`[]`), not a failure. Throws on a network error or another answer.
 */
export async function fetchListClients(
  admin: IcecastAdmin,
  mount: string,
): Promise<Timed<IcecastListener[]>> {
  const r = await adminGet(admin, `admin/listclients?mount=${encodeURIComponent(mount)}`);
  if (r.value.status !== 200) {
    if (/Source does not exist/i.test(r.value.body))
      return { value: [], sentMs: r.sentMs, receivedMs: r.receivedMs };
    throw new Error(`Icecast admin/listclients?mount=${mount} answered ${r.value.status}`);
  }
  const parsed = parseListClients(r.value.body);
  if (!parsed.ok) throw new Error(`Icecast admin/listclients: ${parsed.reason}`);
  return { value: parsed.value.listeners, sentMs: r.sentMs, receivedMs: r.receivedMs };
}
