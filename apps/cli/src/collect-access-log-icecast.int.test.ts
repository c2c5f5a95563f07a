// earshot collect access-log --format combined on a real Icecast 2's own access log: ffmpeg feeds a
// mount, ffmpeg and mpv listen for different lengths; each connection becomes one event at its
// close (Icecast writes the line when the client leaves), through the real ingest and
// finalizeSessions, equal to what the log line says (read by the test's own parser).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createDb, type Db, finalizeSessions } from '@earshot/db';
import { createTestDatabase, type TestDatabase } from '@earshot/db/testing';
import { createLogger, loadEnv, type RunningIngest, startIngest } from '@earshot/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exited,
  ffmpegPlayer,
  mpvPlayer,
  type RunningIcecast,
  sleep,
  startFfmpegSource,
  startIcecast,
  waitFor,
  waitForMount,
} from './icecast-testing.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = 'ingest-token-for-icecast-log-tests';
const SETTINGS = { idleS: 300, maxSessionS: 86_400, minSessionS: 0 };
const cliDir = join(import.meta.dirname, '..');

function collectOnce(icecast: RunningIcecast, ingestUrl: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli.ts',
      'collect',
      'access-log',
      '--format',
      'combined',
      '--mount',
      '/live.mp3=live-mp3',
      '--from-start',
      '--once',
      '--state',
      join(icecast.dir, 'access-log-state.json'),
      '--ingest-url',
      ingestUrl,
      icecast.accessLog,
    ],
    { cwd: cliDir, env: { ...process.env, EARSHOT_INGEST_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`)))),
  );
}

describe('earshot collect access-log on Icecast’s own access log', () => {
  let pg: TestDatabase;
  let db: Db;
  let ingest: RunningIngest;
  let icecast: RunningIcecast;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    pg = await createTestDatabase(ADMIN_URL, 'test_collect_icecast_log');
    db = await createDb({ url: pg.url, maxConnections: 4 });
    ingest = await startIngest(
      loadEnv({
        EARSHOT_INGEST_TOKENS: TOKEN,
        DATABASE_URL: pg.url,
        PORT: '0',
        EARSHOT_LISTENER_SALT: 'a-listener-salt-for-the-tests',
        EARSHOT_IDLE_S: String(SETTINGS.idleS),
      }),
      createLogger('silent'),
    );
    icecast = await startIcecast();
  });

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await icecast?.dispose();
    await ingest?.close();
    await db?.close();
    await pg?.drop();
  });

  it('makes one session per connection with Icecast’s seconds and bytes, ending when the line was written', {
    timeout: 90_000,
  }, async () => {
    children.push(startFfmpegSource(icecast, '/live.mp3'));
    await waitForMount(icecast, '/live.mp3');
    const dir = icecast.dir;
    const players = [
      ffmpegPlayer(`${icecast.url}/live.mp3`, 6, join(dir, 'ffmpeg-player.out')),
      mpvPlayer(`${icecast.url}/live.mp3`, 11, join(dir, 'mpv-player.out')),
    ];
    children.push(...players);
    const closed: number[] = [];
    for (const p of players) p.once('exit', () => closed.push(Date.now()));
    await Promise.all(players.map(exited));
    expect(await waitFor(() => icecast.listenerLines('/live.mp3').length >= 2, 15_000)).toBe(true);

    const report = JSON.parse(await collectOnce(icecast, ingest.url));
    expect(report).toMatchObject({ stream: 2, sent: 2, failed: 0 });
    // Run again: the state file says the lines were sent; nothing more goes out.
    expect(JSON.parse(await collectOnce(icecast, ingest.url))).toMatchObject({ lines: 0, sent: 0 });
    await sleep(200);

    const ids = (await db.query<{ session: string }>('select distinct session from listen_events')).map(
      (r) => r.session,
    );
    await finalizeSessions(db, ids, SETTINGS, { force: true });
    // The stored session's `start` is its first event's time; where the listening began is that
    // event's interval start, `time - duration`: the second the connection opened.
    const sessions = await db.query<{
      stream: string;
      begin: number;
      end: number;
      duration_ms: number;
      bytes: number;
    }>(
      `select s.stream, (select min(extract(epoch from e.time) * 1000 - e.duration_ms)::float8 from listen_events e
          where e.session = s.session) as begin,
        (extract(epoch from s."end") * 1000)::float8 as "end", s.duration_ms::float8 as duration_ms,
        s.bytes::float8 as bytes from sessions s order by "end"`,
    );
    const lines = icecast.listenerLines('/live.mp3').sort((a, b) => a.endMs - b.endMs);
    expect(sessions).toEqual(
      lines.map((l) => ({
        stream: 'live-mp3',
        begin: l.endMs - l.connectedS * 1000,
        end: l.endMs,
        duration_ms: l.connectedS * 1000,
        bytes: l.bytes,
      })),
    );
    // Icecast stamps the line when the client leaves: within a second of the player's exit.
    for (const [i, l] of lines.entries()) {
      expect(Math.abs(l.endMs - (closed[i] ?? 0))).toBeLessThan(1500);
    }
  });
});
