// The whole path with real players: ffmpeg plays HLS and the MP3 stream for about 70 s at the same
// time; the station's HTTP sink posts to the real ingest (PostgreSQL, Redis); the real worker
// finalizes each session idle (10 s) after its last event. The stored report must show one counted session
// per player with the time played, and minutes with both listeners.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { countUnfinalized, createDb, type Db, reportFromDb } from '@earshot/db';
import { createTestDatabase, TEST_ADMIN_URL, type TestDatabase } from '@earshot/db/testing';
import { createApp, createScheduler } from '@earshot/ingest';
import { createHttpSink } from '@earshot/logger';
import { createStation } from '@earshot/station';
import { play } from '@earshot/station/testing';
import { createWorker } from '@earshot/worker';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REDIS_URL = process.env.EARSHOT_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const TOKEN = 'station-e2e-token-0123456789';
const PLAY_S = 70;
// Idle must be longer than the gaps inside a session: `tickS` between MP3 events, and between HLS
// segments 6 s, but up to two segments (12 s) when ffmpeg fetches one ahead and then waits (seen
// in CI: two segments at 54.6 s, the next at 66.1 s, which an idle of 10 s cut into a short
// session). 20 s keeps the sessions whole and the wait for finalization short.
const SETTINGS = { idleS: 20, maxSessionS: 86_400, minSessionS: 60 };
const TICK_S = 5;
const silent = pino({ level: 'silent' });

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('this test plays the station with ffmpeg: apt-get install -y ffmpeg');
  }
  database = await createTestDatabase(TEST_ADMIN_URL, 'station_e2e');
  db = await createDb({ url: database.url, maxConnections: 5 });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe('station -> ingest -> worker', () => {
  it('counts one session per player, HLS under the group key and MP3 under its stream key', {
    timeout: 180_000,
  }, async () => {
    const queueName = `test-${randomUUID()}`;
    const scheduler = createScheduler({
      redisUrl: REDIS_URL,
      idleS: SETTINGS.idleS,
      timeoutMs: 2000,
      logger: silent,
      queueName,
    });
    const ingest = createApp({
      db,
      tokens: [TOKEN],
      idleS: SETTINGS.idleS,
      listenerSalt: 'e2e-salt',
      scheduler,
      logger: silent,
    });
    const server = serve({ fetch: ingest.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const ingestUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const worker = createWorker({
      db,
      settings: SETTINGS,
      redisUrl: REDIS_URL,
      queueName,
      sweepIntervalMs: 5000,
      logger: silent,
      ownsDb: false,
      defaultMetrics: false,
    });
    await worker.start();
    const sink = createHttpSink({ url: ingestUrl, token: TOKEN, logger: silent });
    const station = await createStation({ port: 0, sink, tickS: TICK_S });
    try {
      const [, mp3Play] = await Promise.all([
        // `-re`: real-time playback; `-live_start_index -1`: start at the live edge (see players.int.test.ts).
        play(`${station.url}/hls/live.m3u8`, ['-re', '-live_start_index', '-1'], PLAY_S),
        play(`${station.url}/stream.mp3`, [], PLAY_S),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await station.close();
      const stats = await sink.close({ timeoutMs: 10_000 });
      expect(stats).toMatchObject({ dropped: 0, failed: 0, buffered: 0 });
      expect(stats.sent).toBeGreaterThan(0);

      // Finalized idle after each session's last event arrived. Wait until every session id is
      // finalized at its latest change: a session can be finalized once and corrected later, when
      // one of its events arrives more than idle after the one before (a slow flush under load).
      for (let i = 0; i < 80 && (await countUnfinalized(db)).pending > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect((await countUnfinalized(db)).pending).toBe(0);
      // The database is this test's own: the report's default period is the data's quarter-hours.
      const report = await reportFromDb(db, SETTINGS);
      const stored = await db.query<{ events: number }>('select count(*)::int as events from listen_events');
      expect(stored[0]?.events).toBe(stats.sent);
      // On a failure below, the HLS events say whether a segment was missing or cut short.
      const hlsEvents = await db.query<{
        stream: string;
        duration: number;
        at_s: number;
        received_s: number;
      }>(
        `select stream, duration_ms::float8 / 1000 as duration,
           round(extract(epoch from time - min(time) over ())::numeric, 1)::float8 as at_s,
           round(extract(epoch from received_at - min(time) over ())::numeric, 1)::float8 as received_s
         from listen_events where session = (select session from listen_events where stream = 'live' limit 1)
         order by time`,
      );
      expect(report.sessions.map((s) => s.stream).sort()).toEqual(['live', 'live-mp3']);
      // Nothing of either player fell into a session too short to count (a tune-out): a session id
      // changing on a playlist reload, or events idle apart, would leave rows here.
      const shorts = await db.query<{ session: string; stream: string; duration_ms: number }>(
        'select session, stream, duration_ms::float8 as duration_ms from short_sessions order by start',
      );
      expect(shorts, JSON.stringify(hlsEvents)).toEqual([]);
      const ids = await db.query<{ sessions: number }>(
        'select count(distinct session)::int as sessions from listen_events',
      );
      expect(ids[0]?.sessions).toBe(2);
      const hls = report.sessions.find((s) => s.stream === 'live');
      const mp3 = report.sessions.find((s) => s.stream === 'live-mp3');
      // HLS runs ahead of playback by the segments the player holds: one, or two when ffmpeg fetches
      // one ahead (as in the idle note above; seen in CI with two suites running at once: two
      // segments at 66.8 s of a 70 s play, 78.0 s delivered). MP3 by the socket's last bytes.
      expect(hls?.duration, JSON.stringify(hlsEvents)).toBeGreaterThanOrEqual(PLAY_S - 0.5);
      expect(hls?.duration, JSON.stringify(hlsEvents)).toBeLessThanOrEqual(PLAY_S + 12.5);
      expect(mp3?.duration).toBeGreaterThanOrEqual(PLAY_S - 0.5);
      expect(mp3?.duration).toBeLessThanOrEqual(PLAY_S + 2);
      // The stored session starts where its first tick's audio did (DESIGN 3): elapsed is the time
      // the player was connected, within one tick (see players.int.test.ts), not a tick short.
      expect(mp3?.elapsed).toBeGreaterThan(mp3Play.wallS - 1);
      expect(mp3?.elapsed).toBeLessThan(mp3Play.wallS + TICK_S);
      // Ingest turned each event's ip and ua into a listener key.
      expect(hls?.listener).toEqual(expect.any(String));
      expect(mp3?.listener).toEqual(expect.any(String));

      // Minutes: each stream's listening adds up to its session, and some minute has both listeners.
      for (const session of [hls, mp3]) {
        const minutes = report.minutes.filter((m) => m.stream === session?.stream);
        const seconds = minutes.reduce((sum, m) => sum + m.listeners * 60, 0);
        expect(seconds).toBeCloseTo(session?.duration ?? 0, 0);
      }
      const both = new Map<string, number>();
      for (const m of report.minutes) both.set(m.minute, (both.get(m.minute) ?? 0) + m.sessions);
      expect(Math.max(...both.values())).toBe(2);
      const listeners = new Map<string, number>();
      for (const m of report.minutes) listeners.set(m.minute, (listeners.get(m.minute) ?? 0) + m.listeners);
      // Two 70 s listens overlap by at least 35 s in one minute, whatever second they start at.
      expect(Math.max(...listeners.values())).toBeGreaterThan(1);
    } finally {
      await station.close();
      await sink.close();
      await worker.close();
      await ingest.drain();
      await scheduler.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
