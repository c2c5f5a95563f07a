import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Writable } from 'node:stream';
import { type Db, type IngestSettings, readComponentSettings } from '@earshot/db';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvents, openPostgres, TOKEN } from '../test/helpers.js';
import { loadEnv } from './env.js';
import { type RunningIngest, startIngest } from './service.js';

let db: Db;
let url: string;
let dispose: () => Promise<void>;
const running: RunningIngest[] = [];

beforeAll(async () => {
  ({ db, url, dispose } = await openPostgres());
});

afterAll(async () => {
  for (const r of running) await r.close();
  await dispose?.();
});

/** A logger whose JSON lines the test reads. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function start(env: Record<string, string> = {}) {
  const { logger, lines } = capturingLogger();
  const r = await startIngest(
    // No HOST: the default is under test.
    loadEnv({ EARSHOT_INGEST_TOKENS: TOKEN, DATABASE_URL: url, PORT: '0', ...env }),
    logger,
  );
  running.push(r);
  return { r, lines };
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('startIngest', () => {
  it('listens on 127.0.0.1 by default, not on the other interfaces', async () => {
    const { r } = await start();
    expect(r.host).toBe('127.0.0.1');
    expect(r.url).toBe(`http://127.0.0.1:${r.port}`);
    expect(await (await fetch(`${r.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const address of external) expect(await accepts(address, r.port), address).toBe(false);
    // HOST exposes it on purpose.
    const { r: exposed } = await start({ HOST: '0.0.0.0' });
    expect(exposed.host).toBe('0.0.0.0');
    for (const address of external) expect(await accepts(address, exposed.port), address).toBe(true);
    await exposed.close();
  });

  it('records the event window it accepts in earshot_settings at start', async () => {
    const before = Date.now();
    await start({ EARSHOT_MAX_EVENT_AGE_S: '3600', EARSHOT_MAX_EVENT_AHEAD_S: '120' });
    const recorded = await readComponentSettings<IngestSettings>(db, 'ingest');
    expect(recorded?.settings).toEqual({ maxEventAgeS: 3600, maxEventAheadS: 120 });
    expect(recorded!.updatedAt.getTime()).toBeGreaterThanOrEqual(before - 5000);
    // The next start replaces them.
    await start({ EARSHOT_MAX_EVENT_AGE_S: '0' });
    expect((await readComponentSettings<IngestSettings>(db, 'ingest'))?.settings).toEqual({
      maxEventAgeS: 0,
      maxEventAheadS: 300,
    });
  });

  it('requires a token for /metrics over HTTP; EARSHOT_METRICS_TOKENS may read metrics, not post', async () => {
    const { r } = await start({ EARSHOT_METRICS_TOKENS: 'prometheus-token' });
    const without = await fetch(`${r.url}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const scrape = await fetch(`${r.url}/metrics`, { headers: { authorization: 'Bearer prometheus-token' } });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('earshot_ingest_process_resident_memory_bytes');
    const asIngest = await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(asIngest.status).toBe(200);
    const postAsScraper = await fetch(`${r.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer prometheus-token', 'content-type': 'application/json' },
      body: JSON.stringify(makeEvents(1, 'srv')),
    });
    expect(postAsScraper.status).toBe(401);
  });

  it('logs a warning and serves all the same when the settings cannot be written', async () => {
    await db.query('drop table earshot_settings');
    const { r, lines } = await start({ EARSHOT_MAX_EVENT_AGE_S: '0' });
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toContain(
      'could not record ingest settings in earshot_settings; ingest goes on',
    );
    const res = await fetch(`${r.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(makeEvents(3, 'srv-nosettings')),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 3, duplicates: 0 });
  });
});
