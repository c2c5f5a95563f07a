import { randomUUID } from 'node:crypto';
import { FINALIZE_JOB } from '@earshot/contract';
import { createDb, type Db } from '@earshot/db';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, makeEvents, openPostgres, post, REDIS_URL, T0, TOKEN } from '../test/helpers.js';
import { createApp, type IngestApp } from './app.js';
import { SHORT_EVENT_ALLOWANCE_BYTES } from './check-batch.js';
import { createScheduler, type Scheduler } from './schedule.js';

const logger = pino({ level: 'silent' });
const SALT = 'a-test-salt-that-is-long-enough';

let db: Db;
let url: string;
let dispose: () => Promise<void>;
let ingest: IngestApp;

beforeAll(async () => {
  ({ db, url, dispose } = await openPostgres());
  ingest = createApp({
    db,
    tokens: ['other-token', TOKEN],
    idleS: 300,
    listenerSalt: SALT,
    maxBodyBytes: 64 * 1024,
    maxBatch: 600,
    logger,
  });
});

afterAll(async () => {
  await ingest?.drain();
  await dispose?.();
});

const byPrefix = (prefix: string) => countRows(db, 'id like $1', [`${prefix}-%`]);

describe('POST /v1/events', () => {
  it('answers 200 with accepted and duplicates, and writes the batch', async () => {
    const events = makeEvents(50, 'ok');
    const res = await post(ingest.app, events);
    expect(res.status).toBe(200);
    expect(res.headers.get('earshot-schedule')).toBe('off');
    expect(await res.json()).toEqual({ accepted: 50, duplicates: 0 });
    expect(await byPrefix('ok')).toBe(50);
    const state = await db.query(`select count(*)::int as n from session_state where session like 'ok-%'`);
    expect(state).toEqual([{ n: 7 }]);
  });

  it('takes NDJSON, gzip, ISO times, and counts a retried batch as duplicates', async () => {
    const events = makeEvents(20, 'nd', (i) => ({ time: new Date(T0 + i * 1000).toISOString() }));
    const first = await post(ingest.app, events, { ndjson: true, gzip: true });
    expect(await first.json()).toEqual({ accepted: 20, duplicates: 0 });
    const again = await post(ingest.app, [...events.slice(0, 10), ...makeEvents(5, 'nd2')]);
    expect(await again.json()).toEqual({ accepted: 5, duplicates: 10 });
    const ndjsonWithBlankLines = `\n${JSON.stringify(events[0])}\r\n\n`;
    const third = await post(ingest.app, ndjsonWithBlankLines, {
      contentType: 'application/x-ndjson; charset=utf-8',
    });
    expect(await third.json()).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('refuses a batch with one bad event with 400 naming index, field and reason, and writes none of it', async () => {
    const events: unknown[] = makeEvents(30, 'bad');
    events[7] = { ...(events[7] as object), duration: -1 };
    events[12] = { ...(events[12] as object), output: 'icecast', extra: 1 };
    const res = await post(ingest.app, events);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: unknown[] };
    expect(body.error).toMatch(/2 of 30 events are bad; nothing was written/);
    expect(body.issues).toEqual([
      { index: 7, field: 'duration', reason: 'must be between 0 and 86400 seconds' },
      { index: 12, field: 'extra', reason: 'is not a listen-event field' },
      { index: 12, field: 'output', reason: 'must be "shoutcast" or "hls"' },
    ]);
    expect(await byPrefix('bad')).toBe(0);
  });

  it('answers 400 for bodies that are not a JSON array or not NDJSON', async () => {
    const notJson = await post(ingest.app, '[{"session":');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not valid JSON/);
    const notArray = await post(ingest.app, '{"session":"x"}');
    expect(await notArray.json()).toEqual({
      error: 'body must be a JSON array of listen events',
      issues: [],
    });
    const badLine = await post(ingest.app, `${JSON.stringify(makeEvents(1, 'line')[0])}\n{oops`, {
      ndjson: true,
    });
    expect(badLine.status).toBe(400);
    const issues = ((await badLine.json()) as { issues: { index: number; field: string }[] }).issues;
    expect(issues).toMatchObject([{ index: 1, field: '' }]);
    const notGzip = await post(ingest.app, 'plain text', { headers: { 'content-encoding': 'gzip' } });
    expect(await notGzip.json()).toEqual({ error: 'body is not valid gzip', issues: [] });
    expect(await byPrefix('line')).toBe(0);
  });

  it('refuses control characters such as U+0000 (which PostgreSQL cannot store) in text fields', async () => {
    const res = await post(
      ingest.app,
      makeEvents(2, 'nul', (i) => (i === 1 ? { ua: 'VLC\u0000' } : {})),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: unknown[] }).issues).toEqual([
      { index: 1, field: 'ua', reason: 'must not contain control characters' },
    ]);
  });

  it('answers 401 without a valid bearer token', async () => {
    for (const token of [null, '', 'wrong', `${TOKEN}x`]) {
      const res = await post(ingest.app, makeEvents(1, 'auth'), { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ error: 'missing or unknown bearer token' });
    }
    const basic = await post(ingest.app, makeEvents(1, 'auth'), {
      token: null,
      headers: { authorization: `Basic ${TOKEN}` },
    });
    expect(basic.status).toBe(401);
    expect(await byPrefix('auth')).toBe(0);
    expect((await post(ingest.app, makeEvents(1, 'auth'), { token: 'other-token' })).status).toBe(200);
  });

  it('refuses events outside the time window, batches over too many days, and invalid UTF-8', async () => {
    const now = T0 + 3 * 86_400_000;
    const windowed = createApp({
      db,
      tokens: [TOKEN],
      idleS: 300,
      logger,
      maxEventAgeS: 2 * 86_400,
      maxEventAheadS: 60,
      maxBatchDays: 2,
      now: () => now,
    });
    const res = await post(
      windowed.app,
      makeEvents(4, 'win', (i) => ({ time: [now - 3 * 86_400_000, now + 61_000, now, now - 86_400_000][i] })),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: unknown[] }).issues).toEqual([
      { index: 0, field: 'time', reason: 'is more than 172800 s in the past (EARSHOT_MAX_EVENT_AGE_S)' },
      { index: 1, field: 'time', reason: "is more than 60 s in the future (check the sender's clock)" },
    ]);
    // Each new UTC day is a partition: a batch may not touch more than maxBatchDays of them.
    const days = await post(
      windowed.app,
      makeEvents(3, 'win', (i) => ({ time: now - i * 80_000_000 })),
    );
    expect(((await days.json()) as { issues: unknown[] }).issues).toEqual([
      { index: 2, field: 'time', reason: 'the batch spans more than 2 UTC days' },
    ]);
    const latin1 = Buffer.from(JSON.stringify(makeEvents(1, 'win', () => ({ ua: 'caf\u00e9' }))), 'latin1');
    const bad = await post(windowed.app, latin1);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('body is not valid UTF-8');
    expect(await byPrefix('win')).toBe(0);
    await windowed.drain();
  });

  it('answers 413 for a body or a batch over the limits', async () => {
    const big = makeEvents(400, 'big', () => ({ ua: 'x'.repeat(200) })); // ~120 KB > 64 KiB
    const tooBig = await post(ingest.app, big);
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toEqual({ error: `body is larger than ${64 * 1024} bytes`, issues: [] });
    // Small on the wire, too big inflated.
    const bomb = await post(ingest.app, `[${' '.repeat(200_000)}]`, { gzip: true });
    expect(bomb.status).toBe(413);
    expect(((await bomb.json()) as { error: string }).error).toMatch(/once inflated/);
    const tooMany = await post(
      ingest.app,
      makeEvents(601, 'many', () => ({ id: undefined })),
      { gzip: true },
    );
    expect(tooMany.status).toBe(413);
    expect(((await tooMany.json()) as { error: string }).error).toBe(
      'batch has 601 events; at most 600 are accepted',
    );
    const tooManyLines = await post(ingest.app, makeEvents(601, 'many'), { ndjson: true, gzip: true });
    expect(tooManyLines.status).toBe(413);
    expect(await byPrefix('big')).toBe(0);
    expect(await byPrefix('many')).toBe(0);
  });

  it('answers 415 for other content types and encodings', async () => {
    const text = await post(ingest.app, makeEvents(1, 'ct'), { contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: string }).error).toMatch(/application\/json/);
    const none = await ingest.app.request('/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '[]',
    });
    expect(none.status).toBe(415);
    const br = await post(ingest.app, makeEvents(1, 'ct'), { headers: { 'content-encoding': 'br' } });
    expect(br.status).toBe(415);
    expect(await br.json()).toEqual({
      error: 'Content-Encoding br is not supported; send gzip or no encoding',
      issues: [],
    });
    expect(await byPrefix('ct')).toBe(0);
  });

  it('turns ip into a salted listener key and never stores the ip', async () => {
    const events = makeEvents(3, 'ip', (i) => ({
      ip: i === 2 ? '2001:db8:1:2::99' : '2001:db8:1:2::1',
      ua: 'VLC/3.0',
      listener: i === 1 ? 'given' : undefined,
    }));
    expect((await post(ingest.app, events)).status).toBe(200);
    const rows = await db.query<{ id: string; listener: string }>(
      `select id, listener from listen_events where id like 'ip-%' order by id`,
    );
    expect(rows[0]!.listener).toMatch(/^[0-9a-f]{32}$/);
    expect(rows[1]!.listener).toBe('given');
    expect(rows[2]!.listener).toBe(rows[0]!.listener); // same /64 and user agent
    const dump = JSON.stringify(await db.query(`select * from listen_events where id like 'ip-%'`));
    expect(dump).not.toContain('2001:db8');
    const badIp = await post(
      ingest.app,
      makeEvents(1, 'ip2', () => ({ ip: 'not-an-ip' })),
    );
    expect(((await badIp.json()) as { issues: unknown[] }).issues).toEqual([
      { index: 0, field: 'ip', reason: 'must be an IPv4 or IPv6 address' },
    ]);
  });

  it('refuses ip without listener when no salt is configured (400 naming ip)', async () => {
    const unsalted = createApp({ db, tokens: [TOKEN], idleS: 300, logger });
    const res = await post(
      unsalted.app,
      makeEvents(3, 'nosalt', (i) => (i === 1 ? { ip: '203.0.113.9' } : i === 2 ? { bytes: -1 } : {})),
    );
    expect(res.status).toBe(400);
    // Every problem of a mixed batch is listed, the ip too.
    expect(((await res.json()) as { issues: { index: number; field: string }[] }).issues).toMatchObject([
      { index: 1, field: 'ip' },
      { index: 2, field: 'bytes' },
    ]);
    expect(await byPrefix('nosalt')).toBe(0);
    // With a listener the ip is simply dropped.
    const withListener = await post(
      unsalted.app,
      makeEvents(1, 'nosalt', () => ({ ip: '203.0.113.9', listener: 'L' })),
    );
    expect(withListener.status).toBe(200);
    await unsalted.drain();
  });

  it('stores 20 concurrent retries of one 500-event batch exactly once and splits the counts right', async () => {
    const events = makeEvents(500, 'idem');
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(ingest.app, events)));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
      accepted: number;
      duplicates: number;
    }[];
    expect(responses.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(bodies.reduce((s, b) => s + b.accepted, 0)).toBe(500);
    expect(bodies.reduce((s, b) => s + b.duplicates, 0)).toBe(19 * 500);
    expect(await byPrefix('idem')).toBe(500);
  });

  it('attributes an event shared by concurrent requests to one of them only', async () => {
    const shared = makeEvents(10, 'shr');
    const a = [...shared, ...makeEvents(5, 'shra')];
    const b = [...makeEvents(3, 'shrb'), ...shared];
    const [ra, rb] = await Promise.all([post(ingest.app, a), post(ingest.app, b)]);
    const [ja, jb] = (await Promise.all([ra.json(), rb.json()])) as {
      accepted: number;
      duplicates: number;
    }[];
    expect(ja!.accepted + jb!.accepted).toBe(18);
    expect(ja!.duplicates + jb!.duplicates).toBe(10);
    expect(ja!.accepted).toBeGreaterThanOrEqual(5);
    expect(jb!.accepted).toBeGreaterThanOrEqual(3);
  });

  it('writes concurrent requests in fewer transactions than requests (group commit)', async () => {
    const grouped = createApp({ db, tokens: [TOKEN], idleS: 300, logger, group: { windowMs: 20 } });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(grouped.app, makeEvents(1, `grp${i}`))),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(grouped.committer.groupsStarted).toBeLessThan(40);
    expect(grouped.committer.groupsStarted).toBeGreaterThanOrEqual(1);
    const metrics = await metricsText(grouped.app);
    expect(metrics).toMatch(/earshot_ingest_groups_total\{outcome="committed"\} (\d+)/);
    expect(metrics).toContain('earshot_ingest_group_requests_count');
    await grouped.drain();
  });

  it('answers 503 with Retry-After when the database is down, and acknowledges nothing', async () => {
    const down = await createDb({
      url: 'postgres://postgres@127.0.0.1:1/nowhere',
      migrate: false,
      connectTimeoutS: 2,
    });
    const broken = createApp({ db: down, tokens: [TOKEN], idleS: 300, logger });
    const res = await post(broken.app, makeEvents(3, 'down'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({
      error: 'the event store is unavailable; nothing was written, retry later',
    });
    const ready = await broken.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ok: false, status: 'database down', db: 'down', redis: 'off' });
    await broken.drain();
    await down.close();
  });

  it('answers 503 when the database does not answer in time, and a retry later stores the batch once', async () => {
    const slow = createApp({ db, tokens: [TOKEN], idleS: 300, logger, group: { timeoutMs: 300 } });
    // Another connection holds session_state: the group's insert waits, like a database that hangs.
    const blocker = await createDb({ url, migrate: false, maxConnections: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const locked = new Promise<void>((ready) => {
      void blocker.transaction(async (tx) => {
        await tx.query('lock table session_state in exclusive mode');
        ready();
        await held;
      });
    });
    await locked;
    const events = makeEvents(5, 'hang');
    const res = await post(slow.app, events);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as { error: string }).error).toMatch(/did not commit in time/);
    // The database comes back: the held write commits, and the client's retry adds nothing.
    release();
    await slow.drain();
    expect(await byPrefix('hang')).toBe(5);
    expect(await (await post(ingest.app, events)).json()).toEqual({
      accepted: 0,
      duplicates: 5,
    });
    await blocker.close();
  });

  it('finishes in-flight batches on drain and refuses new ones with 503', async () => {
    const d = createApp({ db, tokens: [TOKEN], idleS: 300, logger, group: { windowMs: 50 } });
    const inFlight = post(d.app, makeEvents(5, 'drain'));
    await new Promise((r) => setTimeout(r, 10));
    const drained = d.drain();
    const late = await post(d.app, makeEvents(5, 'drain2'));
    expect(late.status).toBe(503);
    expect((await inFlight).status).toBe(200);
    await drained;
    expect(await byPrefix('drain')).toBe(5);
    expect(await byPrefix('drain2')).toBe(0);
    const ready = await d.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('draining');
  });

  it('refuses bytes out of proportion to the seconds (400), with an allowance for zero-duration events', async () => {
    const allowance = SHORT_EVENT_ALLOWANCE_BYTES;
    const events = makeEvents(5, 'bps', (i) => {
      const duration = [30, 30, 0, 0, 2][i]!;
      // At the bound, one over it, an HLS master playlist (duration 0, a few KB), 2 MiB in 0 s, and
      // a short close with its burst-on-connect.
      const bytes = [
        30 * 1_000_000 + allowance,
        30 * 1_000_000 + allowance + 1,
        2_400,
        2 * allowance,
        900_000,
      ][i]!;
      return { duration, bytes, output: i === 2 ? 'hls' : 'shoutcast' };
    });
    const res = await post(ingest.app, events);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: unknown[] };
    expect(body.error).toMatch(/2 of 5 events are bad; nothing was written/);
    expect(body.issues).toEqual([
      {
        index: 1,
        field: 'bytes',
        reason: `is more than 1000000 per second of duration plus ${allowance} (EARSHOT_MAX_BYTES_PER_S): ${30_000_000 + allowance + 1} bytes in 30 s`,
      },
      {
        index: 3,
        field: 'bytes',
        reason: `is more than 1000000 per second of duration plus ${allowance} (EARSHOT_MAX_BYTES_PER_S): ${2 * allowance} bytes in 0 s`,
      },
    ]);
    expect(await byPrefix('bps')).toBe(0);
    // The rate is configurable: at 20 kB/s, 30 s may carry 600 kB + the allowance.
    const strict = createApp({ db, tokens: [TOKEN], idleS: 300, logger, maxBytesPerS: 20_000 });
    const slow = await post(
      strict.app,
      makeEvents(2, 'bps2', (i) => ({ bytes: i === 0 ? 600_000 + allowance : 600_001 + allowance })),
    );
    expect(((await slow.json()) as { issues: { index: number; field: string }[] }).issues).toMatchObject([
      { index: 1, field: 'bytes' },
    ]);
    await strict.drain();
    // The good ones alone are stored.
    const good = await post(ingest.app, [events[0], events[2], events[4]]);
    expect(await good.json()).toEqual({ accepted: 3, duplicates: 0 });
    const rows = await db.query<{ bytes: string }>(
      `select bytes::text from listen_events where id like 'bps-%' order by id`,
    );
    expect(rows.map((r) => r.bytes)).toEqual([String(30_000_000 + allowance), '2400', '900000']);
  });

  it('refuses a batch whose events of one session add up past what a session can hold, naming the first that crosses', async () => {
    // Bytes: per event within a (raised) rate, but 2^52 + 2^52 passes Number.MAX_SAFE_INTEGER.
    const big = createApp({ db, tokens: [TOKEN], idleS: 300, logger, maxBytesPerS: 1e11 });
    const half = 2 ** 52;
    const events = makeEvents(5, 'sum', (i) => ({
      session: i === 2 ? 'sum-other' : 'sum-big',
      duration: 86_400,
      bytes: i === 4 ? 1 : half,
    }));
    const res = await post(big.app, events);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: unknown[] }).issues).toEqual([
      {
        index: 1,
        field: 'bytes',
        reason: `brings the bytes of session "sum-big" in this batch past ${Number.MAX_SAFE_INTEGER}, more than a session can hold`,
      },
    ]);
    // Each on its own is fine: sum-other's one event, and sum-big up to the bound.
    const alone = await post(big.app, [events[0], events[2]]);
    expect(await alone.json()).toEqual({ accepted: 2, duplicates: 0 });
    const stored = await db.query<{ bytes: string }>(
      `select bytes::text from listen_events where id = 'sum-0'`,
    );
    expect(stored).toEqual([{ bytes: String(half) }]);
    await big.drain();
    expect(await byPrefix('sum')).toBe(2);

    // Duration: 86 400 s per event cannot reach 2^53 ms in a batch of any accepted size, so the
    // same check runs here against a lowered bound (ms).
    const low = createApp({ db, tokens: [TOKEN], idleS: 300, logger, maxSessionTotal: 100_000 });
    const long = await post(
      low.app,
      makeEvents(4, 'dur', (i) => ({ session: 'dur-s', duration: [40, 40, 40, 40][i]!, bytes: 1 })),
    );
    expect(long.status).toBe(400);
    expect(((await long.json()) as { issues: unknown[] }).issues).toEqual([
      {
        index: 2,
        field: 'duration',
        reason:
          'brings the duration of session "dur-s" in this batch past 100000 ms, more than a session can hold',
      },
    ]);
    await low.drain();
    expect(await byPrefix('dur')).toBe(0);
  });

  it('answers 503 + Retry-After at once when the queue for the database is full, and stores what it held', async () => {
    const bounded = createApp({
      db,
      tokens: [TOKEN],
      idleS: 300,
      logger,
      group: { maxQueueEvents: 20, timeoutMs: 30_000 },
    });
    // Another connection holds session_state: every group waits, like a database that stalls.
    const blocker = await createDb({ url, migrate: false, maxConnections: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await new Promise<void>((ready) => {
      void blocker.transaction(async (tx) => {
        await tx.query('lock table session_state in exclusive mode');
        ready();
        await held;
      });
    });
    try {
      const first = post(bounded.app, makeEvents(12, 'qf-a'));
      await until(() => bounded.committer.load().events === 12);
      // 12 + 10 > 20: refused after parsing, its events counted.
      const over = await post(bounded.app, makeEvents(10, 'qf-b'));
      expect(over.status).toBe(503);
      expect(over.headers.get('retry-after')).toBe('2');
      expect(await over.json()).toEqual({
        error: 'ingest queue is full (the database is not keeping up); nothing was written, retry after 2 s',
      });
      // 12 + 8 = 20: taken, and the queue is now full.
      const second = post(bounded.app, makeEvents(8, 'qf-c'));
      await until(() => bounded.committer.load().events === 20);
      // Full: refused before the body is read.
      const full = await post(bounded.app, makeEvents(1, 'qf-d'));
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('2');
      const ready = await bounded.app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ ok: false, status: 'queue full', db: 'ok', redis: 'off' });
      const metrics = await metricsText(bounded.app);
      expect(metrics).toMatch(/^earshot_ingest_queue_full_total 2$/m);
      expect(metrics).toMatch(/^earshot_ingest_events_rejected_total\{reason="queue_full"\} 10$/m);
      expect(metrics).toMatch(/^earshot_ingest_queue_events 20$/m);
      expect(Number(/^earshot_ingest_queue_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

      release();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      expect(bounded.committer.load()).toEqual({ events: 0, bytes: 0 });
      expect(await byPrefix('qf-a')).toBe(12);
      expect(await byPrefix('qf-c')).toBe(8);
      expect(await byPrefix('qf-b')).toBe(0);
      expect(await byPrefix('qf-d')).toBe(0);
      // Room again: taken.
      expect((await post(bounded.app, makeEvents(10, 'qf-b'))).status).toBe(200);
    } finally {
      release();
      await bounded.drain();
      await blocker.close();
    }
  });
});

describe('finalize scheduling', () => {
  it("adds one delayed job per commit carrying the commit's new session ids", async () => {
    const queueName = `test-${randomUUID()}`;
    const scheduler = createScheduler({
      redisUrl: REDIS_URL,
      idleS: 300,
      timeoutMs: 2000,
      logger,
      queueName,
    });
    const s = createApp({ db, tokens: [TOKEN], idleS: 300, logger, scheduler });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection: redis });
    try {
      await waitReady(scheduler);
      const res = await post(s.app, makeEvents(14, 'sch'));
      expect(res.status).toBe(200);
      expect(res.headers.get('earshot-schedule')).toBe('queued');
      const jobs = await queue.getDelayed();
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.data.sessions).toEqual(Array.from({ length: 7 }, (_, i) => `sch-s${i}`));
      expect(jobs[0]!.name).toBe(FINALIZE_JOB);
      expect(jobs[0]!.opts.delay).toBe(300_000);
      // A retried batch touches nothing new: no scheduling.
      const retry = await post(s.app, makeEvents(14, 'sch'));
      expect(retry.headers.get('earshot-schedule')).toBe('none');
      // New events for sessions whose job is pending: no second add (the worker re-arms the job).
      const more = await post(
        s.app,
        makeEvents(7, 'sch', (i) => ({ id: `sch-more-${i}`, time: T0 + 100_000 + i })),
      );
      expect(await more.json()).toEqual({ accepted: 7, duplicates: 0 });
      expect(more.headers.get('earshot-schedule')).toBe('none');
      // Once the worker finalized a session, its next events schedule it again.
      await db.query(`update session_state set finalized_seq = change_seq where session = 'sch-s3'`);
      const resumed = await post(
        s.app,
        makeEvents(1, 'sch', () => ({ id: 'sch-resume', session: 'sch-s3', time: T0 + 200_000 })),
      );
      expect(resumed.headers.get('earshot-schedule')).toBe('queued');
      const after = await queue.getDelayed();
      expect(after).toHaveLength(2);
      expect(after.map((j) => j.data.sessions).sort()).toEqual([
        Array.from({ length: 7 }, (_, i) => `sch-s${i}`),
        ['sch-s3'],
      ]);
      const ready = await s.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ok: true, status: 'ready', db: 'ok', redis: 'ok' });
      expect(await metricsText(s.app)).toMatch(/^earshot_ingest_redis_up 1$/m);
    } finally {
      await s.drain();
      await scheduler.close();
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
  });

  it('still answers 200 when Redis is down (a closed port), with Earshot-Schedule: deferred, and stays ready', async () => {
    const scheduler = createScheduler({
      redisUrl: 'redis://127.0.0.1:1',
      idleS: 300,
      timeoutMs: 500,
      logger,
    });
    const s = createApp({ db, tokens: [TOKEN], idleS: 300, logger, scheduler });
    try {
      const started = Date.now();
      const res = await post(s.app, makeEvents(3, 'nored'));
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(res.headers.get('earshot-schedule')).toBe('deferred');
      expect(await res.json()).toEqual({ accepted: 3, duplicates: 0 });
      expect(await byPrefix('nored')).toBe(3);
      const metrics = await metricsText(s.app);
      expect(metrics).toContain('earshot_ingest_schedule_failures_total 1');
      // Readiness means "can take events": a Redis outage degrades scheduling, not ingest.
      const ready = await s.app.request('/readyz');
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { ok: boolean; status: string; db: string; redis: string };
      expect(body).toMatchObject({ ok: true, status: 'ready', db: 'ok' });
      expect(body.redis).toMatch(/^degraded: not connected \(\w+\); the worker's sweep finalizes sessions$/);
      expect(await metricsText(s.app)).toMatch(/^earshot_ingest_redis_up 0$/m);
    } finally {
      await s.drain();
      await scheduler.close();
    }
  });
});

describe('service routes', () => {
  it('serves /healthz, /readyz and /openapi.json without a token, and they name no internals', async () => {
    expect(await (await ingest.app.request('/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await ingest.app.request('/readyz')).json()).toEqual({
      ok: true,
      status: 'ready',
      db: 'ok',
      redis: 'off',
    });
    const doc = (await (await ingest.app.request('/openapi.json')).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/v1/events');
    const missing = await ingest.app.request('/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route for GET /nope' });
  });

  it('answers /metrics only with an ingest or metrics token (401 otherwise)', async () => {
    const scraped = createApp({ db, tokens: [TOKEN], metricsTokens: ['scrape-only'], idleS: 300, logger });
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`]) {
      const res = await scraped.app.request('/metrics', authorization ? { headers: { authorization } } : {});
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ error: 'missing or unknown bearer token' });
    }
    expect((await scraped.app.request('/metrics', bearer(TOKEN))).status).toBe(200);
    expect((await scraped.app.request('/metrics', bearer('scrape-only'))).status).toBe(200);
    // A metrics token reads metrics only.
    expect((await post(scraped.app, makeEvents(1, 'scrape'), { token: 'scrape-only' })).status).toBe(401);
    await scraped.drain();

    const metrics = await ingest.app.request('/metrics', bearer(TOKEN));
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    for (const name of [
      'earshot_ingest_requests_total{route="/v1/events",status="200"}',
      'earshot_ingest_requests_total{route="/v1/events",status="400"}',
      'earshot_ingest_events_accepted_total',
      'earshot_ingest_events_duplicate_total',
      'earshot_ingest_events_rejected_total{reason="invalid"}',
      'earshot_ingest_batch_events_bucket',
      'earshot_ingest_commit_seconds_bucket',
      'earshot_ingest_group_requests_bucket',
      'earshot_ingest_schedule_failures_total',
      'earshot_ingest_queue_events 0',
      'earshot_ingest_queue_bytes 0',
      'earshot_ingest_queue_full_total',
    ]) {
      expect(text).toContain(name);
    }
    // No Redis configured: no Redis gauge to read as "down".
    expect(text).not.toContain('earshot_ingest_redis_up');
  });
});

function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

async function metricsText(app: IngestApp['app']): Promise<string> {
  const res = await app.request('/metrics', bearer(TOKEN));
  expect(res.status).toBe(200);
  return res.text();
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

async function waitReady(scheduler: Scheduler): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await scheduler.ping()).ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis not ready');
}
