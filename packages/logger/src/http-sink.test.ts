import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { ListenEvent } from '@earshot/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSink, eventsUrl, retryDelayMs } from './http-sink.js';

interface Received {
  at: number;
  path: string;
  headers: IncomingMessage['headers'];
  events: ListenEvent[];
}

type Reply = (req: IncomingMessage, res: ServerResponse, index: number) => void;

/** A stub ingest on 127.0.0.1:0 that records each request and answers with `reply`. */
async function stubIngest(reply: Reply = ok): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      received.push({
        at: Date.now(),
        path: req.url ?? '',
        headers: req.headers,
        events: JSON.parse(body.toString('utf8')),
      });
      reply(req, res, received.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, server };
}

function ok(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1,"duplicates":0}');
}

function status(code: number, headers: Record<string, string> = {}): (res: ServerResponse) => void {
  return (res) =>
    res.writeHead(code, { 'content-type': 'application/json', ...headers }).end('{"error":"x"}');
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

let seq = 0;
function event(): ListenEvent {
  seq++;
  return {
    id: `e${seq}`,
    session: 's',
    stream: 'live',
    output: 'shoutcast',
    time: 1_790_000_000_000 + seq,
    duration: 1,
    bytes: 100,
  };
}

const quiet = { warn: () => {}, error: () => {} };

describe('eventsUrl', () => {
  it('accepts a base URL or the full events URL', () => {
    expect(eventsUrl('http://ingest:8080')).toBe('http://ingest:8080/v1/events');
    expect(eventsUrl('http://ingest:8080/')).toBe('http://ingest:8080/v1/events');
    expect(eventsUrl('https://x.example/earshot/')).toBe('https://x.example/earshot/v1/events');
    expect(eventsUrl('http://ingest:8080/v1/events')).toBe('http://ingest:8080/v1/events');
  });
});

describe('retryDelayMs', () => {
  const options = { baseMs: 250, maxMs: 30_000, maxRetryAfterMs: 60_000 };
  const at = (attempt: number, random: number, retryAfterMs?: number) =>
    retryDelayMs(attempt, { ...options, random: () => random, retryAfterMs });

  it('doubles its ceiling per attempt up to maxMs, and stays under the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => at(attempt, 0.999_999))).toEqual([
      249, 499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999,
    ]);
    // The cap holds however long an outage lasts (2^1024 is Infinity).
    for (const attempt of [10, 50, 1025, 100_000]) expect(at(attempt, 0.999_999)).toBeLessThan(30_000);
    expect(at(3, 1)).toBeLessThan(1000);
  });

  it('spreads the delay uniformly over [0, ceiling): full jitter', () => {
    expect([0, 0.25, 0.5, 0.75].map((random) => at(4, random))).toEqual([0, 500, 1000, 1500]);
    let seed = 1;
    const lcg = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const delays = Array.from({ length: 2000 }, () => retryDelayMs(20, { ...options, random: lcg }));
    const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
    expect(Math.min(...delays)).toBeLessThan(1000);
    expect(Math.max(...delays)).toBeGreaterThan(29_000);
    expect(Math.max(...delays)).toBeLessThan(30_000);
    expect(mean).toBeGreaterThan(13_500);
    expect(mean).toBeLessThan(16_500);
  });

  it("waits at least the server's Retry-After, capped at maxRetryAfterMs", () => {
    expect(at(1, 0, 5000)).toBe(5000);
    expect(at(9, 0.999_999, 5000)).toBe(5000 + 29_999);
    expect(at(1, 0, 3_600_000)).toBe(60_000);
    expect(at(1, 0.999_999, 3_600_000)).toBe(60_000 + 249);
    expect(at(1, 0, -1)).toBe(0);
  });

  it('adds the jitter above the Retry-After floor: loggers told the same Retry-After spread out', () => {
    // Attempt 3: a ceiling of 1000 ms above the 5 s floor.
    expect([0, 0.25, 0.5, 0.75, 0.999_999].map((random) => at(3, random, 5000))).toEqual([
      5000, 5250, 5500, 5750, 5999,
    ]);
    // A thousand loggers with their own random draws, all answered `Retry-After: 5`.
    let seed = 7;
    const lcg = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const delays = Array.from({ length: 1000 }, () =>
      retryDelayMs(3, { ...options, random: lcg, retryAfterMs: 5000 }),
    );
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(5000);
    expect(Math.max(...delays)).toBeLessThan(6000);
    expect(Math.min(...delays)).toBeLessThan(5050);
    expect(Math.max(...delays)).toBeGreaterThan(5950);
    // Not one instant: at most a handful share a millisecond, the mean sits mid-way.
    const perMs = new Map<number, number>();
    for (const d of delays) perMs.set(d, (perMs.get(d) ?? 0) + 1);
    expect(Math.max(...perMs.values())).toBeLessThanOrEqual(6);
    const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
    expect(mean).toBeGreaterThan(5450);
    expect(mean).toBeLessThan(5550);
  });
});

describe('createHttpSink', () => {
  it('batches by size at once and by time for the rest, gzipped, with the Bearer token', async () => {
    const ingest = await stubIngest();
    const sink = createHttpSink({
      url: ingest.url,
      token: 'tok',
      batchSize: 3,
      // Long enough that "at once" and "when the timer fires" stay apart on a loaded machine.
      flushIntervalMs: 3000,
      logger: quiet,
    });
    const started = Date.now();
    for (let i = 0; i < 7; i++) sink.push(event());
    await waitUntil(() => ingest.received.length >= 2);
    expect(ingest.received.map((r) => r.events.length)).toEqual([3, 3]);
    // Full batches go at once (well before the timer), the partial one only when the timer fires.
    expect(ingest.received[1]?.at).toBeLessThan(started + 2000);
    await waitUntil(() => ingest.received.length >= 3);
    expect(ingest.received[2]?.events).toHaveLength(1);
    expect((ingest.received[2]?.at ?? 0) - started).toBeGreaterThanOrEqual(2990);
    const first = ingest.received[0] as Received;
    expect(first.path).toBe('/v1/events');
    expect(first.headers.authorization).toBe('Bearer tok');
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(first.headers['content-type']).toBe('application/json');
    expect(ingest.received.flatMap((r) => r.events.map((e) => e.id))).toHaveLength(7);
    expect(await sink.close()).toEqual({ sent: 7, dropped: 0, retried: 0, failed: 0, buffered: 0 });
  });

  it('retries 5xx, 429 and network errors with growing, jittered backoff, then delivers', async () => {
    const failures = [status(503), status(500), status(429)];
    const ingest = await stubIngest((req, res, i) => {
      const fail = failures[i];
      if (fail) fail(res);
      else ok(req, res);
    });
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 2,
      retryBaseMs: 40,
      random: () => 0.999,
      logger: quiet,
    });
    sink.push(event());
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received).toHaveLength(4);
    const gaps = ingest.received.slice(1).map((r, i) => r.at - (ingest.received[i] as Received).at);
    // Ceilings 40, 80, 160 ms (random() ~ 1 picks the ceiling).
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    expect(new Set(ingest.received.map((r) => JSON.stringify(r.events))).size).toBe(1);
    expect(sink.stats()).toEqual({ sent: 2, dropped: 0, retried: 3, failed: 0, buffered: 0 });
    await sink.close();
  });

  it('caps the backoff at retryMaxMs', async () => {
    const ingest = await stubIngest((req, res, i) => (i < 5 ? status(503)(res) : ok(req, res)));
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 1,
      retryBaseMs: 40,
      retryMaxMs: 100,
      random: () => 0.999,
      logger: quiet,
    });
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received).toHaveLength(6);
    const gaps = ingest.received.slice(1).map((r, i) => r.at - (ingest.received[i] as Received).at);
    // Uncapped, the ceilings would be 40, 80, 160, 320, 640 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    for (const gap of gaps.slice(2)) expect(gap).toBeGreaterThanOrEqual(95);
    expect(gaps[3]).toBeLessThan(300);
    expect(gaps[4]).toBeLessThan(400);
    await sink.close();
  });

  it('spreads retries with jitter: random() near 0 retries almost at once', async () => {
    const ingest = await stubIngest((req, res, i) => (i < 3 ? status(503)(res) : ok(req, res)));
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 1,
      retryBaseMs: 400,
      random: () => 0,
      logger: quiet,
    });
    sink.push(event());
    const started = Date.now();
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received).toHaveLength(4);
    // With random() ~ 1 these three waits would take 400 + 800 + 1600 ms.
    expect(Date.now() - started).toBeLessThan(1000);
    await sink.close();
  });

  it('keeps retrying by default through an outage longer than ten attempts, losing nothing', async () => {
    const ingest = await stubIngest((req, res, i) => (i < 12 ? status(503)(res) : ok(req, res)));
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 2,
      retryBaseMs: 1,
      retryMaxMs: 5,
      logger: quiet,
    });
    sink.push(event());
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received).toHaveLength(13);
    expect(sink.stats()).toEqual({ sent: 2, dropped: 0, retried: 12, failed: 0, buffered: 0 });
    await sink.close();
  });

  it("caps a server's Retry-After at maxRetryAfterMs", async () => {
    const ingest = await stubIngest((_req, res, i) =>
      i === 0 ? status(503, { 'retry-after': '3600' })(res) : ok(_req, res),
    );
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 1,
      retryBaseMs: 1,
      maxRetryAfterMs: 200,
      logger: quiet,
    });
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received).toHaveLength(2);
    const gap = (ingest.received[1]?.at ?? 0) - (ingest.received[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(190);
    expect(gap).toBeLessThan(1500);
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 0 });
    await sink.close();
  });

  it('keeps an event ingest would refuse out of the batch, so the others are delivered', async () => {
    const ingest = await stubIngest();
    const logged: unknown[] = [];
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 3,
      logger: { warn: () => {}, error: (object) => logged.push(object) },
    });
    sink.push(event());
    sink.push({ ...event(), ua: 'bad\tagent' });
    sink.push({ ...event(), session: '' });
    sink.push(event());
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received.map((r) => r.events.length)).toEqual([3]);
    expect(sink.stats()).toEqual({ sent: 3, dropped: 0, retried: 0, failed: 2, buffered: 0 });
    expect(logged).toEqual([
      expect.objectContaining({ issues: [{ field: 'ua', reason: 'must not contain control characters' }] }),
      expect.objectContaining({ issues: [{ field: 'session', reason: 'must be 1..128 characters' }] }),
    ]);
    await sink.close();
  });

  it('honours Retry-After on 503', async () => {
    const ingest = await stubIngest((_req, res, i) =>
      i === 0 ? status(503, { 'retry-after': '1' })(res) : ok(_req, res),
    );
    const sink = createHttpSink({ url: ingest.url, batchSize: 1, retryBaseMs: 1, logger: quiet });
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received).toHaveLength(2);
    expect((ingest.received[1]?.at ?? 0) - (ingest.received[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    await sink.close();
  });

  it("retries above the server's Retry-After by its own random share of the backoff", async () => {
    const ingest = await stubIngest((_req, res, i) =>
      i < 2 ? status(503, { 'retry-after': '1' })(res) : ok(_req, res),
    );
    // Two loggers told the same Retry-After: one draws 0, the other nearly 1 (a 400 ms ceiling).
    const runSink = async (random: number) => {
      const waits: number[] = [];
      const sink = createHttpSink({
        url: ingest.url,
        batchSize: 1,
        retryBaseMs: 400,
        random: () => random,
        logger: { warn: (object) => waits.push((object as { delayMs: number }).delayMs), error: () => {} },
      });
      sink.push(event());
      await sink.flush({ timeoutMs: 5000 });
      await sink.close();
      return waits;
    };
    const [low, high] = await Promise.all([runSink(0), runSink(0.999)]);
    expect(low).toEqual([1000]);
    expect(high).toEqual([1399]);
    expect(ingest.received).toHaveLength(4);
    const [first, second, third, fourth] = ingest.received.map((r) => r.at) as [
      number,
      number,
      number,
      number,
    ];
    // Both were refused at about the same time; their retries came about 400 ms apart.
    expect(Math.abs(second - first)).toBeLessThan(100);
    expect(third - first).toBeGreaterThanOrEqual(950);
    expect(fourth - third).toBeGreaterThanOrEqual(300);
  });

  it('retries a refused connection', async () => {
    const ingest = await stubIngest();
    const url = ingest.url;
    await new Promise((resolve) => ingest.server.close(resolve));
    servers.splice(servers.indexOf(ingest.server), 1);
    const sink = createHttpSink({ url, batchSize: 1, retryBaseMs: 5, maxAttempts: 3, logger: quiet });
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(sink.stats()).toEqual({ sent: 0, dropped: 0, retried: 2, failed: 1, buffered: 0 });
    await sink.close();
  });

  it('never retries other 4xx: the batch is dropped, counted as failed and logged', async () => {
    const ingest = await stubIngest((_req, res, i) => (i === 0 ? status(400)(res) : ok(_req, res)));
    const logged: unknown[] = [];
    const sink = createHttpSink({
      url: ingest.url,
      batchSize: 2,
      logger: { warn: () => {}, error: (object) => logged.push(object) },
    });
    sink.push(event());
    sink.push(event());
    sink.push(event());
    await sink.flush({ timeoutMs: 5000 });
    expect(ingest.received.map((r) => r.events.length)).toEqual([2, 1]);
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 2, retried: 0 });
    expect(logged).toEqual([expect.objectContaining({ status: 400, events: 2 })]);
    await sink.close();
  });

  it('holds at most maxBuffer events and counts what it drops, without blocking push', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ingest = await stubIngest((req, res) => void gate.then(() => ok(req, res)));
    const sink = createHttpSink({ url: ingest.url, batchSize: 4, maxBuffer: 10, logger: quiet });
    const started = performance.now();
    for (let i = 0; i < 25; i++) sink.push(event());
    expect(performance.now() - started).toBeLessThan(50);
    // 4 in flight + 6 buffered = 10 held; 15 dropped.
    expect(sink.stats()).toMatchObject({ dropped: 15, buffered: 10 });
    release();
    await sink.flush({ timeoutMs: 5000 });
    expect(sink.stats()).toEqual({ sent: 10, dropped: 15, retried: 0, failed: 0, buffered: 0 });
    expect(ingest.received.map((r) => r.events.length)).toEqual([4, 4, 2]);
    await sink.close();
  });

  it('flushes on close, and at the deadline aborts and counts the rest as dropped', async () => {
    const ingest = await stubIngest(() => {
      // never answers
    });
    const sink = createHttpSink({ url: ingest.url, batchSize: 2, flushIntervalMs: 60_000, logger: quiet });
    for (let i = 0; i < 5; i++) sink.push(event());
    const started = Date.now();
    const stats = await sink.close({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stats).toEqual({ sent: 0, dropped: 5, retried: 0, failed: 0, buffered: 0 });
    sink.push(event());
    expect(sink.stats().dropped).toBe(6);
    expect(await sink.close()).toBe(stats);
  });

  it('close sends the partial batch at once instead of waiting for the timer', async () => {
    const ingest = await stubIngest();
    const sink = createHttpSink({ url: ingest.url, flushIntervalMs: 60_000, gzip: false, logger: quiet });
    sink.push(event());
    expect(await sink.close()).toMatchObject({ sent: 1, dropped: 0 });
    expect(ingest.received[0]?.headers['content-encoding']).toBeUndefined();
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
