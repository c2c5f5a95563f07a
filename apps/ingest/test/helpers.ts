import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Db } from '@earshot/db';
import { openTestDb, type TestDb } from '@earshot/db/testing';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TOKEN = 'test-token-0123456789';

/** A migrated database on the test PostgreSQL server (see @earshot/db/testing), with ingest's pool size. */
export function openPostgres(): Promise<TestDb> {
  return openTestDb('postgres', { prefix: 'test_ingest', maxConnections: 8 });
}

export const T0 = Date.UTC(2026, 10, 1, 9, 15);

export interface EventJson {
  id?: string;
  session: string;
  stream: string;
  output: 'shoutcast' | 'hls';
  time: number | string;
  duration: number;
  bytes: number;
  listener?: string;
  ua?: string;
  ip?: string;
}

/** `n` valid events with ids `${prefix}-${i}`. */
export function makeEvents(
  n: number,
  prefix = 'e',
  over: (i: number) => Partial<EventJson> = () => ({}),
): EventJson[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    session: `${prefix}-s${i % 7}`,
    stream: 'rock',
    output: 'shoutcast' as const,
    time: T0 + i * 1000,
    duration: 30,
    bytes: 16_000,
    ...over(i),
  }));
}

export interface PostOptions {
  token?: string | null;
  contentType?: string;
  gzip?: boolean;
  ndjson?: boolean;
  headers?: Record<string, string>;
  /** Default `/v1/events`. */
  path?: string;
}

/** `n` valid track events with ids `${prefix}-${i}`, one a minute on stream `rock` from T0. */
export function makeTracks(
  n: number,
  prefix = 't',
  over: (i: number) => Record<string, unknown> = () => ({}),
): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    stream: 'rock',
    time: T0 + i * 60_000,
    artist: 'Earshot Demo',
    title: `Tone ${i}`,
    kind: 'music',
    duration: 60,
    ...over(i),
  }));
}

/** POSTs a batch to an in-process app. */
export async function post(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  body: unknown,
  options: PostOptions = {},
): Promise<Response> {
  let payload: string | Uint8Array<ArrayBuffer> =
    typeof body === 'string'
      ? body
      : body instanceof Uint8Array
        ? (new Uint8Array(body) as Uint8Array<ArrayBuffer>)
        : options.ndjson
          ? (body as unknown[]).map((e) => JSON.stringify(e)).join('\n')
          : JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? (options.ndjson ? 'application/x-ndjson' : 'application/json'),
    ...options.headers,
  };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
  if (options.gzip) {
    payload = new Uint8Array(gzipSync(payload)) as Uint8Array<ArrayBuffer>;
    headers['content-encoding'] = 'gzip';
  }
  return app.request(options.path ?? '/v1/events', { method: 'POST', headers, body: payload });
}

export async function countRows(db: Db, where = 'true', params: unknown[] = []): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `select count(*) as n from listen_events where ${where}`,
    params,
  );
  return Number(rows[0]!.n);
}

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts the real ingest (src/main.ts through tsx, as `pnpm dev` does) as a child process against
 * `databaseUrl`, and resolves with its port once it listens. `env` adds to or overrides the test
 * defaults (no Redis, no event age limit: the test events are at a fixed date).
 */
export function spawnIngest(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number; output(): string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      EARSHOT_INGEST_TOKENS: TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: '',
      EARSHOT_MAX_EVENT_AGE_S: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const output = () => `${out}\n${err}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ingest did not start:\n${output()}`)), 30_000);
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output });
      }
    });
    child.once('exit', (code) => reject(new Error(`ingest exited with ${code}:\n${output()}`)));
  });
}

/** Resolves with the child's exit code once it exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
