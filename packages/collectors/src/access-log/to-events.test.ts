import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHlsCatalog, defaultVariantKey, masterVariantUris, mediaSegments } from './hls-catalog.js';
import type { AccessRecord } from './parse-line.js';
import { createAccessLogMapper } from './to-events.js';

const MASTER = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=35200,CODECS="mp4a.40.2"
32k/live.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=70400,CODECS="mp4a.40.2"
64k/live.m3u8
`;
const variant = (first: number) => `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:${first}
#EXTINF:2.020133,
seg${first}.ts
#EXTINF:1.996922,
seg${first + 1}.ts
`;

let docroot: string;
beforeAll(() => {
  docroot = mkdtempSync(join(tmpdir(), 'earshot-hls-'));
  for (const name of ['32k', '64k']) {
    mkdirSync(join(docroot, 'hls', name), { recursive: true });
    writeFileSync(join(docroot, 'hls', name, 'live.m3u8'), variant(7));
    writeFileSync(join(docroot, 'hls', name, 'seg7.ts'), Buffer.alloc(name === '32k' ? 10_000 : 20_000));
  }
  writeFileSync(join(docroot, 'hls', 'live.m3u8'), MASTER);
});
afterAll(() => rmSync(docroot, { recursive: true, force: true }));

const record = (over: Partial<AccessRecord>): AccessRecord => ({
  timeMs: 1_796_279_741_915,
  ip: '127.0.0.1',
  method: 'GET',
  target: '/',
  status: 200,
  bytes: 0,
  ua: 'Lavf/59.27.100',
  ...over,
});

function mapper(salt?: string) {
  const catalog = createHlsCatalog({
    groups: [{ path: '/hls/live.m3u8', key: 'live' }],
    source: { docroot },
  });
  return createAccessLogMapper({ catalog, ...(salt ? { salt } : {}) });
}

describe('playlists', () => {
  it('lists variants and segments with their media sequence', () => {
    expect(masterVariantUris(MASTER)).toEqual(['32k/live.m3u8', '64k/live.m3u8']);
    expect(mediaSegments(variant(7))).toEqual([
      { uri: 'seg7.ts', durationS: 2.020133, sequence: 7 },
      { uri: 'seg8.ts', durationS: 1.996922, sequence: 8 },
    ]);
    expect(defaultVariantKey('live', '/hls/live.m3u8', '/hls/32k/live.m3u8')).toBe('live-32k');
    expect(defaultVariantKey('live', '/hls/live.m3u8', '/hls/live_hi.m3u8')).toBe('live-live_hi');
  });
});

describe('createAccessLogMapper (HLS, the logger’s rules)', () => {
  it('makes a zero-duration master event under the group key, the session from session_id', async () => {
    const m = mapper();
    const event = await m.map(record({ target: '/hls/live.m3u8?session_id=abc', bytes: 260 }), 'id-1');
    expect(event).toEqual({
      id: 'id-1',
      session: 'abc',
      stream: 'live',
      output: 'hls',
      time: 1_796_279_741_915,
      duration: 0,
      bytes: 0,
      ua: 'Lavf/59.27.100',
      ip: '127.0.0.1',
    });
    // The redirect of the sessions snippet, and variant playlists, make nothing.
    expect(await m.map(record({ target: '/hls/live.m3u8', status: 302 }), 'id-2')).toBeUndefined();
    expect(
      await m.map(record({ target: '/hls/32k/live.m3u8?session_id=abc', bytes: 300 }), 'id-3'),
    ).toBeUndefined();
  });

  it('credits a segment its #EXTINF, pro rata when cut short, and a re-fetched sequence once', async () => {
    const m = mapper();
    const whole = await m.map(
      record({ target: '/hls/32k/seg7.ts?session_id=abc', status: 206, bytes: 10_000, rangeTotal: 10_000 }),
      'a',
    );
    expect(whole).toMatchObject({ session: 'abc', stream: 'live-32k', duration: 2.02, bytes: 10_000 });
    // ffmpeg probing the other variant's same segment: bytes reported, seconds not again.
    const probe = await m.map(record({ target: '/hls/64k/seg7.ts?session_id=abc', bytes: 20_000 }), 'b');
    expect(probe).toMatchObject({ stream: 'live-64k', duration: 0, bytes: 20_000 });
    // Another session, cut at a quarter of the file (nginx logged no completion; size from disk).
    const cut = await m.map(
      record({ target: '/hls/64k/seg7.ts?session_id=xyz', bytes: 5_000, completed: false }),
      'c',
    );
    expect(cut).toMatchObject({ session: 'xyz', duration: 0.505, bytes: 5_000 });
    // The X-Playback-Session-Id header wins over session_id.
    const header = await m.map(
      record({ target: '/hls/64k/seg8.ts?session_id=xyz', bytes: 100, sessionHeader: 'HDR-1' }),
      'd',
    );
    expect(header).toMatchObject({ session: 'HDR-1', duration: 1.997 });
  });

  it('falls back to a salted hash of IP + agent + group, only with a salt', async () => {
    const target = '/hls/32k/seg7.ts';
    expect(await mapper().map(record({ target, bytes: 10 }), 'x')).toBeUndefined();
    const a = await mapper('salt-1').map(record({ target, bytes: 10 }), 'x');
    const master = await mapper('salt-1').map(record({ target: '/hls/live.m3u8', bytes: 10 }), 'y');
    const other = await mapper('salt-2').map(record({ target, bytes: 10 }), 'x');
    expect(a?.session).toMatch(/^h-[0-9a-f]{32}$/);
    expect(master?.session).toBe(a?.session);
    expect(other?.session).not.toBe(a?.session);
    const ua = await mapper('salt-1').map(record({ target, bytes: 10, ua: 'libmpv' }), 'x');
    expect(ua?.session).not.toBe(a?.session);
  });

  it('counts segments no playlist lists as unknown', async () => {
    const m = mapper();
    expect(await m.map(record({ target: '/hls/32k/seg1.ts?session_id=a', bytes: 10 }), 'x')).toBeUndefined();
    expect(m.counts().unknownSegment).toBe(1);
    expect(await m.map(record({ target: '/other/file.ts', bytes: 10 }), 'x')).toBeUndefined();
    expect(m.counts().skipped).toBe(1);
  });
});

describe('createAccessLogMapper (Icecast access log)', () => {
  it('makes one event per connection at its close: seconds connected, bytes sent', async () => {
    const m = createAccessLogMapper({ mounts: new Map([['/live.mp3', 'live-mp3']]) });
    const event = await m.map(record({ target: '/live.mp3', bytes: 160_234, connectedS: 20 }), 'id-9');
    expect(event).toEqual({
      id: 'id-9',
      session: 'icecast-id-9',
      stream: 'live-mp3',
      output: 'shoutcast',
      time: 1_796_279_741_915,
      duration: 20,
      bytes: 160_234,
      ua: 'Lavf/59.27.100',
      ip: '127.0.0.1',
    });
    expect(await m.map(record({ target: '/other.mp3', bytes: 10, connectedS: 2 }), 'x')).toBeUndefined();
    const any = createAccessLogMapper({});
    expect((await any.map(record({ target: '/Jazz_128.aac', bytes: 10, connectedS: 2 }), 'x'))?.stream).toBe(
      'jazz-128-aac',
    );
    expect(
      await any.map(record({ target: '/admin/stats.xsl', bytes: 10, connectedS: 0 }), 'x'),
    ).toBeUndefined();
  });
});
