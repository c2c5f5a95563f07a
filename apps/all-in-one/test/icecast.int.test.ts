// The all-in-one counting a real Icecast 2 from configuration: the collector runs in the process,
// its events reach the in-process ingest and the sweep finalizes them as Icecast logged them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
