import { childrenNamed, childText, parseXml } from '../shared/xml.js';

/**
 * One listener of a Shoutcast DNAS 2 stream, from `admin.cgi?sid=N&mode=viewxml&page=3` (the
 * "Listener Stats" XML of the DNAS server's documentation: `SHOUTCASTSERVER/LISTENERS/LISTENER`).
 */
export interface DnasListener {
  /** `<UID>`: the DNAS's id of this listener connection. */
  uid: string;
  /** `<HOSTNAME>`: the client's address (the DNAS writes the IP unless name lookups are on). */
  ip: string;
  ua: string | undefined;
  /** `<CONNECTTIME>`: whole seconds connected. */
  connectedS: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses the listener list (page 3; the full `viewxml` without a page holds the same list). */
export function parseDnasListeners(xml: string): Parsed<DnasListener[]> {
  const doc = parseXml(xml);
  if (!doc.ok) return doc;
  if (doc.root.name !== 'SHOUTCASTSERVER') return { ok: false, reason: 'not a SHOUTCASTSERVER document' };
  const list = childrenNamed(doc.root, 'LISTENERS')[0];
  const listeners: DnasListener[] = [];
  for (const l of list ? childrenNamed(list, 'LISTENER') : []) {
    const uid = childText(l, 'UID');
    const ip = childText(l, 'HOSTNAME');
    const connectedS = Number(childText(l, 'CONNECTTIME'));
    if (!uid || !ip || !Number.isFinite(connectedS) || connectedS < 0) continue;
    const ua = childText(l, 'USERAGENT');
    listeners.push({ uid, ip, ua: ua === '' ? undefined : ua, connectedS: Math.floor(connectedS) });
  }
  return { ok: true, value: listeners };
}

/** Parses the stream's bitrate (kbit/s) from the general summary (`page=1`, or `/stats?sid=N`). */
export function parseDnasBitrate(xml: string): number | undefined {
  const doc = parseXml(xml);
  if (!doc.ok || doc.root.name !== 'SHOUTCASTSERVER') return undefined;
  const n = Number(childText(doc.root, 'BITRATE'));
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
