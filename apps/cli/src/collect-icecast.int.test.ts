// End to end on the real things: Debian's icecast2 with a config written here, ffmpeg as its source,
// ffmpeg and mpv as players, `earshot collect icecast` (the CLI, from source) as the collector, the
// real ingest on PostgreSQL and the worker's finalization. What the finalized sessions say is
// compared with what Icecast itself wrote in its access log.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createIcecastCollector } from '@earshot/collectors';
import { createDb, type Db, finalizeSessions, liveListeners } from '@earshot/db';
import { createTestDatabase, type TestDatabase } from '@earshot/db/testing';
import { createLogger, loadEnv, type RunningIngest, startIngest } from '@earshot/ingest';
import { createHttpSink } from '@earshot/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccessLine,
  ADMIN_PASSWORD,
  exited,
  ffmpegPlayer,
  mpvPlayer,
  type RunningIcecast,
  sleep,
  startFfmpegSource,
  startIcecast,
  startLiquidsoapSource,
  waitFor,
  waitForMount,
} from './icecast-testing.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = 'ingest-token-for-collector-tests';
const TICK_S = 2;
const SETTINGS = { idleS: 300, maxSessionS: 86_400, minSessionS: 0 };
const cliDir = join(import.meta.dirname, '..');

interface StoredSession {
  session: string;
  stream: string;
  start: number;
  end: number;
  duration_ms: number;
  bytes: number;
  listener: string | null;
}

describe('earshot collect icecast against a real Icecast 2', () => {
  let pg: TestDatabase;
  let db: Db;
  let ingest: RunningIngest;
  let icecast: RunningIcecast;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    pg = await createTestDatabase(ADMIN_URL, 'test_collect_icecast');
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

  function collector(extra: string[]): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'collect',
        'icecast',
        '--icecast-url',
        icecast.url,
        '--ingest-url',
        ingest.url,
        '--tick',
        String(TICK_S),
        '--server',
        'test-icecast',
        '--access-log',
        icecast.accessLog,
        '--state',
        join(icecast.dir, 'collector-state.json'),
        ...extra,
      ],
      {
        cwd: cliDir,
        env: { ...process.env, EARSHOT_ICECAST_ADMIN_PASSWORD: ADMIN_PASSWORD, EARSHOT_INGEST_TOKEN: TOKEN },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (process.env.EARSHOT_TEST_VERBOSE) process.stderr.write(d);
    });
    children.push(child);
    return child;
  }

  /**
   * Finalizes every session id as the worker does and checks the sessions of `stream` against
   * Icecast's access-log lines: one session per connection, from the same second to the same
   * second, the same seconds and bytes; no event overlapping another of its session.
   */
  async function expectSessionsMatchLog(stream: string, lines: AccessLine[]): Promise<StoredSession[]> {
    const ids = (await db.query<{ session: string }>('select distinct session from listen_events')).map(
      (r) => r.session,
    );
    await finalizeSessions(db, ids, SETTINGS, { force: true });
    const sessions = (await sessionsOf()).filter((s) => s.stream === stream);
    // Where each session's listening begins: its first event's interval start, which is also the
    // session's `start` (DESIGN 3): the second Icecast says the connection opened.
    const begins = new Map(
      (
        await db.query<{ session: string; begin: number }>(
          `select session, min(extract(epoch from time) * 1000 - duration_ms)::float8 as begin
            from listen_events group by session`,
        )
      ).map((r) => [r.session, r.begin]),
    );
    const expected = lines
      .map((l) => ({
        begin: l.endMs - l.connectedS * 1000,
        end: l.endMs,
        durationMs: l.connectedS * 1000,
        bytes: l.bytes,
      }))
      .sort((a, b) => a.begin - b.begin || a.end - b.end);
    const got = sessions
      .map((s) => ({ begin: s.start, end: s.end, durationMs: s.duration_ms, bytes: s.bytes }))
      .sort((a, b) => (a.begin ?? 0) - (b.begin ?? 0) || a.end - b.end);
    if (process.env.EARSHOT_TEST_VERBOSE) {
      // The per-player comparison, for the notes: Icecast's log beside the finalized session.
      for (const [i, e] of expected.entries()) {
        const g = got[i];
        console.log(
          `${stream}: icecast ${e.durationMs / 1000} s ${e.bytes} B | earshot ${(g?.durationMs ?? 0) / 1000} s ${g?.bytes} B`,
        );
      }
    }
    expect(got).toEqual(expected);
    for (const s of sessions) {
      expect(s.start).toBe(begins.get(s.session));
      expect(s.listener).not.toBeNull();
    }
    const events = await db.query<{ session: string; t: number; d: number }>(
      `select session, (extract(epoch from time) * 1000)::float8 as t, duration_ms::float8 as d
        from listen_events where stream = $1 order by session, time - duration_ms * interval '1 millisecond', time`,
      [stream],
    );
    let previous: { session: string; t: number } | undefined;
    for (const e of events) {
      if (previous?.session === e.session) expect(e.t - e.d).toBeGreaterThanOrEqual(previous.t);
      previous = e;
    }
    return sessions;
  }

  const sessionsOf = () =>
    db.query<StoredSession>(
      `select session, stream, (extract(epoch from start) * 1000)::float8 as start,
        (extract(epoch from "end") * 1000)::float8 as "end", duration_ms::float8 as duration_ms,
        bytes::float8 as bytes, listener from sessions order by start, session`,
    );

  it('counts ffmpeg and mpv players live and at close exactly as Icecast logs them, through a kill -9 of the collector', async () => {
    const mount = '/live.mp3';
    children.push(startFfmpegSource(icecast, mount));
    await waitForMount(icecast, mount);
    let first = collector(['--mount', `${mount}=live-mp3`, '--bitrate', `${mount}=64`]);
    const url = `${icecast.url}${mount}`;
    const log = (name: string) => join(icecast.dir, `${name}.out`);

    // Three players of different lengths; the third reconnects (a new Icecast client, a new session).
    const long = mpvPlayer(url, 24, log('mpv'));
    children.push(long);
    await sleep(1500);
    const mid = ffmpegPlayer(url, 14, log('ffmpeg-mid'));
    children.push(mid);
    const short1 = ffmpegPlayer(url, 5, log('ffmpeg-short-1'));
    children.push(short1);

    // Live while they play: ingest has stored tick events of the players, and live counts them.
    const live = await waitFor(async () => {
      const rows = await db.query<{ n: number }>(
        "select count(distinct session)::float8 as n from listen_events where stream = 'live-mp3'",
      );
      return (rows[0]?.n ?? 0) >= 3;
    }, 15_000);
    expect(live).toBe(true);
    const now = await liveListeners(db, Date.now());
    expect(now.find((s) => s.stream === 'live-mp3')?.listeners ?? 0).toBeGreaterThan(0);

    await exited(short1);
    const short2 = ffmpegPlayer(url, 8, log('ffmpeg-short-2'));
    children.push(short2);

    // kill -9 the collector mid-way; the players go on (and one leaves) while it is down.
    await sleep(3000);
    first.kill('SIGKILL');
    await exited(first);
    await sleep(2 * TICK_S * 1000 + 1500);
    first = collector(['--mount', `${mount}=live-mp3`, '--bitrate', `${mount}=64`]);

    await Promise.all([exited(long), exited(mid), exited(short2)]);
    // Icecast logs each listener when it leaves; give the collector two ticks to read the last ones.
    expect(await waitFor(() => icecast.listenerLines(mount).length >= 4, 20_000)).toBe(true);
    await sleep(2 * TICK_S * 1000 + 1500);
    first.kill('SIGTERM');
    await exited(first);

    const lines = icecast.listenerLines(mount);
    expect(lines).toHaveLength(4);
    const sessions = await expectSessionsMatchLog('live-mp3', lines);
    expect(sessions.every((s) => /^icecast:test-icecast:\d+:\d+$/.test(s.session))).toBe(true);
  });

  it('as a library, with Liquidsoap as the source: exact through an Icecast restart (new client ids, new sessions)', async () => {
    const mount = '/lq.mp3';
    const source = startLiquidsoapSource(icecast, mount);
    children.push(source);
    await waitForMount(icecast, mount, 40_000);
    const sink = createHttpSink({ url: ingest.url, token: TOKEN, flushIntervalMs: 200 });
    // No bitrate given: Liquidsoap declares it (audio_info bitrate=64).
    const lib = createIcecastCollector({
      admin: { url: icecast.url, user: 'admin', password: ADMIN_PASSWORD },
      server: 'lib-icecast',
      mounts: [{ mount, stream: 'lq-mp3' }],
      accessLog: icecast.accessLog,
      stateFile: join(icecast.dir, 'lib-state.json'),
      tickS: TICK_S,
      sink,
    });
    await lib.start();
    const url = `${icecast.url}${mount}`;
    const log = (name: string) => join(icecast.dir, `${name}.out`);
    const before = icecast.listenerLines(mount).length;
    const a = ffmpegPlayer(url, 60, log('lq-ffmpeg-a'));
    const b = mpvPlayer(url, 60, log('lq-mpv-b'));
    children.push(a, b);
    expect(await waitFor(() => lib.connections().length === 2, 15_000)).toBe(true);
    await sleep(5000);
    // A graceful restart: Icecast logs every listener as it stops, and numbers clients from 1 again.
    await icecast.stop('SIGTERM');
    await Promise.all([exited(a), exited(b)]);
    await icecast.restart();
    await waitForMount(icecast, mount, 40_000);
    const c = ffmpegPlayer(url, 6, log('lq-ffmpeg-c'));
    children.push(c);
    await exited(c);
    expect(await waitFor(() => icecast.listenerLines(mount).length >= before + 3, 20_000)).toBe(true);
    expect(await waitFor(() => lib.connections().length === 0, 20_000)).toBe(true);
    await lib.stop();
    await sink.close();

    const lines = icecast.listenerLines(mount).slice(before);
    expect(lines).toHaveLength(3);
    const sessions = await expectSessionsMatchLog('lq-mp3', lines);
    // Two runs of Icecast: two server starts in the session ids.
    expect(new Set(sessions.map((s) => s.session.split(':')[2])).size).toBe(2);
    source.kill('SIGTERM');
  });

  it('closes the listeners of an Icecast killed -9 (no log lines) at their last sighting, within one tick', async () => {
    const mount = '/crash.mp3';
    children.push(startFfmpegSource(icecast, mount));
    await waitForMount(icecast, mount);
    const sink = createHttpSink({ url: ingest.url, token: TOKEN, flushIntervalMs: 200 });
    const lib = createIcecastCollector({
      admin: { url: icecast.url, user: 'admin', password: ADMIN_PASSWORD },
      server: 'crash-icecast',
      mounts: [{ mount, stream: 'crash-mp3', bitrateKbps: 64 }],
      accessLog: icecast.accessLog,
      stateFile: join(icecast.dir, 'crash-state.json'),
      tickS: TICK_S,
      graceS: 3,
      sink,
    });
    await lib.start();
    const url = `${icecast.url}${mount}`;
    const players = [
      ffmpegPlayer(url, 120, join(icecast.dir, 'crash-ffmpeg.out')),
      mpvPlayer(url, 120, join(icecast.dir, 'crash-mpv.out')),
    ];
    children.push(...players);
    expect(await waitFor(() => lib.connections().length === 2, 15_000)).toBe(true);
    await sleep(6000);
    await icecast.stop('SIGKILL');
    const killedMs = Date.now();
    await Promise.all(players.map(exited));
    expect(icecast.listenerLines(mount)).toHaveLength(0);
    await icecast.restart();
    // Another run of Icecast: the old connections are gone; closed once the grace is over.
    expect(await waitFor(() => lib.connections().length === 0, 20_000)).toBe(true);
    await lib.stop();
    await sink.close();

    const ids = (
      await db.query<{ session: string }>(
        "select distinct session from listen_events where stream = 'crash-mp3'",
      )
    ).map((r) => r.session);
    expect(ids).toHaveLength(2);
    await finalizeSessions(db, ids, SETTINGS, { force: true });
    const begins = await db.query<{ session: string; begin: number }>(
      `select session, min(extract(epoch from time) * 1000 - duration_ms)::float8 as begin
        from listen_events where stream = 'crash-mp3' group by session`,
    );
    const sessions = (await sessionsOf()).filter((s) => s.stream === 'crash-mp3');
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      const begin = begins.find((b) => b.session === s.session)?.begin ?? 0;
      // Connected from `begin` until the kill; counted until the last poll that listed it.
      const connectedMs = killedMs - begin;
      expect(s.duration_ms).toBeLessThanOrEqual(connectedMs + 1000);
      expect(s.duration_ms).toBeGreaterThanOrEqual(connectedMs - TICK_S * 1000 - 1000);
      expect(s.end - s.duration_ms).toBe(begin);
    }
  });

  it('loses nothing while ingest is down for a while, on two mounts under their own keys', async () => {
    children.push(startFfmpegSource(icecast, '/a.mp3'), startFfmpegSource(icecast, '/b.mp3'));
    await Promise.all([waitForMount(icecast, '/a.mp3'), waitForMount(icecast, '/b.mp3')]);
    const port = ingest.port;
    const sink = createHttpSink({ url: ingest.url, token: TOKEN, flushIntervalMs: 200, retryMaxMs: 1000 });
    const lib = createIcecastCollector({
      admin: { url: icecast.url, user: 'admin', password: ADMIN_PASSWORD },
      server: 'outage-icecast',
      mounts: [
        { mount: '/a.mp3', stream: 'outage-a', bitrateKbps: 64 },
        { mount: '/b.mp3', stream: 'outage-b', bitrateKbps: 64 },
      ],
      accessLog: icecast.accessLog,
      stateFile: join(icecast.dir, 'outage-state.json'),
      tickS: TICK_S,
      sink,
    });
    await lib.start();
    const players = [
      ffmpegPlayer(`${icecast.url}/a.mp3`, 14, join(icecast.dir, 'outage-a.out')),
      mpvPlayer(`${icecast.url}/b.mp3`, 12, join(icecast.dir, 'outage-b.out')),
    ];
    children.push(...players);
    await sleep(3000);
    // Ingest goes away while both play (and while one of them leaves), then comes back.
    await ingest.close();
    await sleep(9000);
    ingest = await startIngest(
      loadEnv({
        EARSHOT_INGEST_TOKENS: TOKEN,
        DATABASE_URL: pg.url,
        PORT: String(port),
        EARSHOT_LISTENER_SALT: 'a-listener-salt-for-the-tests',
        EARSHOT_IDLE_S: String(SETTINGS.idleS),
      }),
      createLogger('silent'),
    );
    await Promise.all(players.map(exited));
    const lineCount = () => icecast.listenerLines('/a.mp3').length + icecast.listenerLines('/b.mp3').length;
    expect(await waitFor(() => lineCount() === 2, 20_000)).toBe(true);
    expect(await waitFor(() => lib.connections().length === 0, 20_000)).toBe(true);
    await lib.stop();
    const stats = await sink.close();
    expect(stats).toMatchObject({ dropped: 0, failed: 0 });
    expect(stats.retried).toBeGreaterThan(0);
    await expectSessionsMatchLog('outage-a', icecast.listenerLines('/a.mp3'));
    await expectSessionsMatchLog('outage-b', icecast.listenerLines('/b.mp3'));
  });
});
