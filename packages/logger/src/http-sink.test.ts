import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { ListenEvent } from '@earshot/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSink, eventsUrl } from './http-sink.js';

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

describe('createHttpSink', () => {
  it('batches by size at once and by time for the rest, gzipped, with the Bearer token', async () => {
    const ingest = await stubIngest();
    const sink = createHttpSink({
      url: ingest.url,
      token: 'tok',
      batchSize: 3,
      flushIntervalMs: 600,
      logger: quiet,
    });
    const started = Date.now();
    for (let i = 0; i < 7; i++) sink.push(event());
    await waitUntil(() => ingest.received.length >= 2);
    expect(ingest.received.map((r) => r.events.length)).toEqual([3, 3]);
    // Full batches go at once (well before the timer), the partial one only when the timer fires.
    expect(ingest.received[1]?.at).toBeLessThan(started + 450);
    await waitUntil(() => ingest.received.length >= 3);
    expect(ingest.received[2]?.events).toHaveLength(1);
    expect((ingest.received[2]?.at ?? 0) - started).toBeGreaterThanOrEqual(590);
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
