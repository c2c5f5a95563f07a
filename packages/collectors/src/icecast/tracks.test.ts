import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackEvent } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStats } from './admin.js';
import { createIcecastCollector } from './collector.js';
import { trackOfTitle } from './tracks.js';

const statsXml = (sources: { mount: string; title?: string; artist?: string }[]) => `<?xml version="1.0"?>
<icestats><server_start_iso8601>2026-12-03T06:16:10+0000</server_start_iso8601>${sources
  .map(
    (s) =>
      `<source mount="${s.mount}"><listeners>0</listeners>${s.artist ? `<artist>${s.artist}</artist>` : ''}${
        s.title === undefined ? '' : `<title>${s.title}</title>`
      }<audio_info>bitrate=64</audio_info></source>`,
  )
  .join('')}</icestats>`;

describe('Icecast now-playing stats', () => {
  it('reads each mount title and artist, entities decoded', () => {
    const parsed = parseStats(
      statsXml([
        { mount: '/live.mp3', title: 'Daft Punk - One More Time &amp; Again' },
        { mount: '/ogg', title: 'Song', artist: 'Band' },
        { mount: '/bare' },
      ]),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.mounts.get('/live.mp3')).toMatchObject({
      title: 'Daft Punk - One More Time & Again',
    });
    expect(parsed.value.mounts.get('/ogg')).toMatchObject({ title: 'Song', artist: 'Band' });
    expect(parsed.value.mounts.get('/bare')).not.toHaveProperty('title');
  });

  it('makes a track of a title: Artist - Title, or the artist and title given, or a title alone (kind other)', () => {
    const seen = { text: 'x', firstSeenMs: 1_790_000_000_000 };
    const icy = trackOfTitle('ice:8000', '/live.mp3', 'live-mp3', seen, {
      title: 'Daft Punk - One More Time',
    });
    expect(icy).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8/),
      stream: 'live-mp3',
      time: 1_790_000_000_000,
      artist: 'Daft Punk',
      title: 'One More Time',
      kind: 'music',
    });
    expect(trackOfTitle('ice:8000', '/o', 'o', seen, { title: 'A - B', artist: 'Band' })).toMatchObject({
      artist: 'Band',
      title: 'A - B',
    });
    expect(trackOfTitle('ice:8000', '/o', 'o', seen, { title: 'Morning Show' })).toMatchObject({
      artist: '',
      title: 'Morning Show',
      kind: 'other',
    });
    expect(trackOfTitle('ice:8000', '/o', 'o', seen, { title: '  ' })).toBeUndefined();
    // The id is the source's: same server, mount, title and first sighting, same id.
    const again = trackOfTitle(
      'ice:8000',
      '/live.mp3',
      'live-mp3',
      { ...seen },
      { title: 'Daft Punk - One More Time' },
    );
    expect(again?.id).toBe(icy?.id);
    expect(
      trackOfTitle('ice:8000', '/live.mp3', 'live-mp3', { text: 'x', firstSeenMs: 1 }, { title: 'a - b' })
        ?.id,
    ).not.toBe(icy?.id);
  });
});

describe('the Icecast collector on title changes (a stub admin interface)', () => {
  let server: Server;
  let url: string;
  let dir: string;
  const sources = [{ mount: '/live.mp3', title: 'Artist One - Song One' as string | undefined }];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-ice-tracks-'));
    server = createServer((req, res) => {
      if (req.url?.startsWith('/admin/stats')) res.writeHead(200).end(statsXml(sources));
      else res.writeHead(200).end('<icestats><source mount="/live.mp3"></source></icestats>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('emits a track when a mount title changes, none when it stays, and none again after a restart with its state', async () => {
    const tracks: TrackEvent[] = [];
    const collector = () =>
      createIcecastCollector({
        admin: { url, user: 'admin', password: 'pw' },
        server: 'ice',
        mounts: [{ mount: '/live.mp3', stream: 'icecast-live' }],
        stateFile: join(dir, 'state.json'),
        tickS: 1,
        sink: createCallbackSink(() => {}, { onTrack: (t) => void tracks.push(t) }),
      });
    const first = collector();
    const before = Date.now();
    expect(await first.runOnce()).toMatchObject({ polled: true, tracks: 1, saved: true });
    expect(tracks).toEqual([
      {
        id: expect.any(String),
        stream: 'icecast-live',
        time: expect.any(Number),
        artist: 'Artist One',
        title: 'Song One',
        kind: 'music',
      },
    ]);
    expect(tracks[0]!.time).toBeGreaterThanOrEqual(before);
    expect((await first.runOnce()).tracks).toBe(0);
    await first.stop();

    // A restarted collector with the same state sees the same title: nothing new.
    const second = collector();
    expect((await second.runOnce()).tracks).toBe(0);
    sources[0]!.title = 'Station Jingle';
    expect((await second.runOnce()).tracks).toBe(1);
    expect(tracks[1]).toMatchObject({
      stream: 'icecast-live',
      artist: '',
      title: 'Station Jingle',
      kind: 'other',
    });
    expect(tracks[1]!.id).not.toBe(tracks[0]!.id);
    // A source without a title, then the first title again: a new play of it.
    sources[0]!.title = undefined;
    expect((await second.runOnce()).tracks).toBe(0);
    sources[0]!.title = 'Artist One - Song One';
    expect((await second.runOnce()).tracks).toBe(1);
    expect(tracks[2]).toMatchObject({ artist: 'Artist One', title: 'Song One' });
    expect(tracks[2]!.id).not.toBe(tracks[0]!.id);
    await second.stop();
  });
});
