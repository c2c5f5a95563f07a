// The all-in-one counting a real Icecast 2 from configuration: the collector runs in the process,
// its events reach the in-process ingest and the sweep finalizes them as Icecast logged them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTracks } from '@earshot/db';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  exited,
  ffmpegPlayer,
  type RunningIcecast,
  startFfmpegSource,
  startIcecast,
  waitFor,
  waitForMount,
} from '../../cli/src/icecast-testing.js';
import { type RunningAllInOne, startAllInOne } from '../src/start.js';

describe('all in one with an Icecast collector', () => {
  let dir: string;
  let icecast: RunningIcecast;
  let running: RunningAllInOne;
  const children: ReturnType<typeof ffmpegPlayer>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-aio-icecast-'));
    icecast = await startIcecast();
    children.push(startFfmpegSource(icecast, '/live.mp3'));
    await waitForMount(icecast, '/live.mp3');
    running = await startAllInOne({
      dataDir: join(dir, 'db'),
      host: '127.0.0.1',
      stationPort: 0,
      ingestPort: 0,
      reportsPort: 0,
      ingestTokens: ['ingest-token-for-tests'],
      readTokens: ['read-token-for-tests'],
      listenerSalt: 'a-salt-of-at-least-16-chars',
      idleS: 6,
      minSessionS: 0,
      maxSessionS: 86_400,
      aqhQualifierS: 300,
      sweepS: 1,
      tz: 'UTC',
      icecast: {
        url: icecast.url,
        user: 'admin',
        password: ADMIN_PASSWORD,
        mounts: [{ mount: '/live.mp3', stream: 'icecast-live' }],
        accessLog: icecast.accessLog,
        stateFile: join(dir, 'icecast.json'),
        tickS: 2,
      },
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await running?.close();
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await icecast?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores a track for each title the source's metadata update gives the mount (admin/metadata)", async () => {
    // What a playout system does for an MP3 mount: Icecast's metadata update, the ICY StreamTitle.
    const setSong = async (song: string) => {
      const res = await fetch(
        `${icecast.url}/admin/metadata?mount=/live.mp3&mode=updinfo&song=${encodeURIComponent(song)}`,
        { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` } },
      );
      expect(res.status, await res.clone().text()).toBe(200);
    };
    const from = Date.now() - 1000;
    const stored = () => readTracks(running.db, { streams: ['icecast-live'], from, to: Date.now() + 60_000 });
    await setSong('Artist One - Song One');
    expect(await waitFor(async () => (await stored()).length === 1, 15_000)).toBe(true);
    await setSong('Station Jingle');
    expect(await waitFor(async () => (await stored()).length === 2, 15_000)).toBe(true);
    const tracks = await stored();
    expect(tracks.map((t) => [t.stream, t.artist, t.title, t.kind])).toEqual([
      ['icecast-live', 'Artist One', 'Song One', 'music'],
      ['icecast-live', '', 'Station Jingle', 'other'],
    ]);
    expect(tracks[0]!.time).toBeGreaterThanOrEqual(from);
    expect(tracks[1]!.time).toBeGreaterThan(tracks[0]!.time);
    // The same title polled again (a tick of 2 s) adds nothing.
    await new Promise((r) => setTimeout(r, 4500));
    expect(await stored()).toHaveLength(2);
  });

  it('finalizes an Icecast listener as Icecast logged it, under the configured key', async () => {
    const player = ffmpegPlayer(`${icecast.url}/live.mp3`, 8, join(icecast.dir, 'player.out'));
    children.push(player);
    await exited(player);
    expect(await waitFor(() => icecast.listenerLines('/live.mp3').length === 1, 10_000)).toBe(true);
    const [line] = icecast.listenerLines('/live.mp3');
    type Row = { stream: string; duration_ms: number; bytes: number; end: number };
    let rows: Row[] = [];
    await waitFor(async () => {
      rows = await running.db.query<Row>(
        `select stream, duration_ms::float8 as duration_ms, bytes::float8 as bytes,
          (extract(epoch from "end") * 1000)::float8 as "end" from sessions`,
      );
      return rows.length > 0;
    }, 30_000);
    expect(rows).toEqual([
      { stream: 'icecast-live', duration_ms: line!.connectedS * 1000, bytes: line!.bytes, end: line!.endMs },
    ]);
  });
});
