import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { finalizeJobs } from '@earshot/contract';
import type { ListenEvent } from '@earshot/core';
import { type Db, type FinalizeSettings, insertEvents } from '@earshot/db';
import { batches, shuffle, withRepeats } from '@earshot/db/testing';
import { createApp, createScheduler } from '@earshot/ingest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';

/** Where one test's jobs live: its own queue name on a Redis database of its choice. */
export interface QueueSpace {
  redisUrl: string;
  queueName: string;
  prefix: string;
}

export function queueSpace(redisUrl: string): QueueSpace {
  return { redisUrl, queueName: `test-${randomUUID()}`, prefix: 'bull' };
}

/** The producer side: events in, finalize jobs scheduled after commit. */
export interface Ingest {
  send(batch: readonly ListenEvent[]): Promise<void>;
  close(): Promise<void>;
}

export const INGEST_TOKEN = 'worker-test-token-0123456789';

/**
 * The real ingest (apps/ingest's `createApp` with its BullMQ scheduler), in process: every batch is
 * POSTed to /v1/events and must be acknowledged (200) after commit, as a logger would see it. A 503
 * (store unavailable, e.g. PostgreSQL restarting) throws, so callers can retry like the logger's sink.
 * Without `space`, ingest runs without Redis (the sweep alone schedules).
 */
export function realIngest(db: Db, space: QueueSpace | undefined, settings: FinalizeSettings): Ingest {
  const scheduler = space
    ? createScheduler({
        redisUrl: space.redisUrl,
        idleS: settings.idleS,
        timeoutMs: 2000,
        logger: pino({ level: 'silent' }),
        queueName: space.queueName,
      })
    : undefined;
  const { app, drain } = createApp({
    db,
    tokens: [INGEST_TOKEN],
    idleS: settings.idleS,
    scheduler,
    group: { windowMs: 2 },
  });
  return {
    async send(batch) {
      const res = await app.request('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
        body: JSON.stringify(batch),
      });
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    },
    async close() {
      await drain();
      await scheduler?.close();
    },
  };
}

/** Stores a batch and schedules its sessions the way apps/ingest does (insertEvents, then addBulk). */
export function directIngest(db: Db, space: QueueSpace, settings: FinalizeSettings): Ingest {
  const connection = new Redis(space.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(space.queueName, { connection, prefix: space.prefix });
  return {
    async send(batch) {
      const result = await insertEvents(db, batch, { idleS: settings.idleS });
      if (result.sessions.length === 0) return;
      await queue.addBulk(finalizeJobs(result.sessions, settings.idleS * 1000));
    },
    async close() {
      await queue.close();
      await connection.quit();
    },
  };
}

/** A worker running as its own process (`src/main.ts` through tsx), as in production. */
export interface WorkerProcess {
  child: ChildProcess;
  /** The port of its /healthz and /metrics, once it printed it. */
  port: Promise<number>;
  output: () => string;
  /** The exit code, once the process has exited by itself or been stopped. */
  exited: Promise<number | null>;
  /** SIGTERM, and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9), and wait for it to be gone. */
  kill(): Promise<void>;
}

const WORKER_DIR = fileURLToPath(new URL('..', import.meta.url));

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: WORKER_DIR,
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolvePort: (port: number) => void = () => {};
  let rejectPort: (error: Error) => void = () => {};
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  port.catch(() => {});
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    const m = /worker listening on :(\d+)/.exec(out);
    if (m) resolvePort(Number(m[1]));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      rejectPort(new Error(`worker exited (${code}) before listening:\n${out}`));
      resolve(code);
    });
  });
  return {
    child,
    port,
    exited,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The environment of a worker process for a test. */
export function workerEnv(
  databaseUrl: string,
  space: QueueSpace | undefined,
  settings: FinalizeSettings,
  sweepS = 1,
): Record<string, string> {
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    EARSHOT_IDLE_S: String(settings.idleS),
    EARSHOT_MIN_SESSION_S: String(settings.minSessionS),
    EARSHOT_MAX_SESSION_S: String(settings.maxSessionS),
    EARSHOT_SWEEP_S: String(sweepS),
    EARSHOT_DB_POOL: '4',
  };
  if (space) {
    env.REDIS_URL = space.redisUrl;
    env.EARSHOT_FINALIZE_QUEUE = space.queueName;
    env.EARSHOT_QUEUE_PREFIX = space.prefix;
  }
  return env;
}

export interface DeliverOptions {
  seed: number;
  idleS: number;
  /** Share of batches held back and sent after their sessions were finalized. Default 0.1. */
  lateShare?: number;
  /** Share of events sent twice. Default 0.05. */
  repeatShare?: number;
  /** Called after each batch with its index (fault injection). */
  onBatch?: (index: number, total: number) => Promise<void> | void;
  /** Pause every 4 batches, ms. Default 100. */
  pauseMs?: number;
  /** `time`: batches in time order (a logger's); `shuffled`: every event in random order. Default `time`. */
  order?: 'time' | 'shuffled';
}

/**
 * Sends events as a station's loggers would: in time order, in batches of 1..150, some events
 * twice, a few batches every tick; a share of the batches is held back and sent, shuffled, after
 * more than idle (their sessions were finalized by then, so this is re-finalization).
 */
export async function deliver(
  ingest: Ingest,
  events: readonly ListenEvent[],
  options: DeliverOptions,
): Promise<void> {
  const { seed } = options;
  const lateShare = options.lateShare ?? 0.1;
  const ordered =
    options.order === 'shuffled' ? shuffle(events, seed + 1) : [...events].sort((a, b) => a.time - b.time);
  const all = batches(withRepeats(ordered, options.repeatShare ?? 0.05, seed), 150, seed);
  const late: ListenEvent[][] = [];
  for (let i = 0; i < all.length; i++) {
    const batch = all[i]!;
    if ((i * 7919 + seed) % 100 < lateShare * 100) late.push(batch);
    else await ingest.send(batch);
    await options.onBatch?.(i, all.length);
    if (i % 4 === 3) await sleep(options.pauseMs ?? 100);
  }
  await sleep(options.idleS * 1000 + 600);
  for (const batch of shuffle(late, seed)) await ingest.send(batch);
}

/** Retries `fn` while it throws (a database restarting), up to `timeoutMs`. */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(200);
    }
  }
}
