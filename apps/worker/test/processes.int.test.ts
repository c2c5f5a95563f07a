import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { countUnfinalized, type Db, readComponentSettings } from '@earshot/db';
import { expectedTables, generateEvents, openTestDb, readTables } from '@earshot/db/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliver,
  type Ingest,
  queueSpace,
  realIngest,
  retrying,
  spawnWorker,
  type WorkerProcess,
  workerEnv,
} from './harness.js';
import { waitFor } from './support.js';

const settings = { idleS: 1, maxSessionS: 15, minSessionS: 3 };
// FLUSHDB needs a Redis database of its own: this suite's jobs live in db 7, away from everything else.
const REDIS_FAULTS_URL = process.env.EARSHOT_TEST_REDIS_FAULTS ?? 'redis://127.0.0.1:6379/7';

function restartPostgres(): boolean {
  if (process.env.EARSHOT_TEST_NO_PG_RESTART || !existsSync('/etc/postgresql')) return false;
  const version = readdirSync('/etc/postgresql')[0];
  if (!version) return false;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], {
    stdio: 'ignore',
  });
  return true;
}

describe('worker processes', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  async function setup(redisUrl: string) {
    const t = await openTestDb();
    cleanup.push(() => t.dispose());
    const space = queueSpace(redisUrl);
    const ingest: Ingest = realIngest(t.db, space, settings);
    cleanup.push(() => ingest.close());
    const start = (n: number) => {
      const workers: WorkerProcess[] = [];
      for (let i = 0; i < n; i++) {
        const w = spawnWorker(workerEnv(t.url, space, settings));
        workers.push(w);
        cleanup.push(() => w.kill());
      }
      return workers;
    };
    return { t, db: t.db, space, ingest, start };
  }

  const settle = async (db: Db) => {
    await sleep(settings.idleS * 1000);
    return waitFor(
      async () => (await retrying(async () => (await countUnfinalized(db)).pending)) === 0,
      40_000,
      200,
    );
  };

  it('three workers at once write the same rows as one, without duplicates', async () => {
    const { db, ingest, start } = await setup('redis://127.0.0.1:6379/0');
    const workers = start(3);
    await Promise.all(workers.map((w) => w.port));
    const events = generateEvents({ seed: 21, ids: 400, idleS: settings.idleS, asSent: true });
    await deliver(ingest, events, { seed: 21, idleS: settings.idleS });
    expect(await settle(db)).toBe(true);
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
    const codes = await Promise.all(workers.map((w) => w.stop()));
    expect(codes).toEqual([0, 0, 0]);
  });

  it('recovers from a worker killed with SIGKILL and from FLUSHDB of the queue (the sweep)', async () => {
    const { db, space, ingest, start } = await setup(REDIS_FAULTS_URL);
    const [victim, survivor] = start(2);
    await Promise.all([victim!.port, survivor!.port]);
    const redis = new Redis(space.redisUrl);
    cleanup.push(() => redis.quit());
    const events = generateEvents({ seed: 22, ids: 300, idleS: settings.idleS, asSent: true });
    await deliver(ingest, events, {
      seed: 22,
      idleS: settings.idleS,
      onBatch: async (i, total) => {
        if (i === Math.floor(total / 3)) await victim!.kill();
        // Every job in Redis is gone; sessions already scheduled are found by the sweep.
        if (i === Math.floor((2 * total) / 3)) await redis.flushdb();
      },
    });
    expect(await settle(db)).toBe(true);
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
    expect(await survivor!.stop()).toBe(0);
  });

  it('recovers from a PostgreSQL restart mid-run', async () => {
    const { db, ingest, start } = await setup(REDIS_FAULTS_URL);
    const workers = start(2);
    await Promise.all(workers.map((w) => w.port));
    const events = generateEvents({ seed: 23, ids: 300, idleS: settings.idleS, asSent: true });
    let restarted = false;
    // The producer retries a batch that failed, as the logger's sink does (ingest answered 5xx).
    const retryingIngest: Ingest = {
      send: (batch) => retrying(() => ingest.send(batch)),
      close: () => ingest.close(),
    };
    await deliver(retryingIngest, events, {
      seed: 23,
      idleS: settings.idleS,
      onBatch: (i, total) => {
        if (i === Math.floor(total / 2)) restarted = restartPostgres();
      },
    });
    expect(await settle(db)).toBe(true);
    expect(await retrying(() => readTables(db))).toEqual(expectedTables(events, settings));
    if (!restarted)
      console.warn('PostgreSQL was not restarted (no local cluster or EARSHOT_TEST_NO_PG_RESTART)');
    const codes = await Promise.all(workers.map((w) => w.stop()));
    // On failure, show what the workers logged at warn level and above.
    const complaints = workers
      .flatMap((w) => w.output().split('\n'))
      .filter((line) => /"level":(40|50|60)/.test(line))
      .slice(-20)
      .join('\n');
    expect(codes, complaints).toEqual([0, 0]);
  });

  it('refuses to start with session settings other than the stored rows were cut with, unless told to accept', async () => {
    const t = await openTestDb();
    cleanup.push(() => t.dispose());
    const first = spawnWorker(workerEnv(t.url, undefined, settings));
    cleanup.push(() => first.kill());
    await first.port;
    expect(await first.stop()).toBe(0);
    // Recorded with the station's user-agent rules (none given: empty lists).
    const noRules = { botAgents: [], relayAgents: [], monitorAgents: [] };
    expect((await readComponentSettings(t.db, 'finalize'))?.settings).toEqual({
      ...settings,
      agents: noRules,
    });

    const other = { ...settings, idleS: settings.idleS + 1 };
    const refused = spawnWorker(workerEnv(t.url, undefined, other));
    cleanup.push(() => refused.kill());
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toMatch(/finalized with other session settings/);
    expect((await readComponentSettings(t.db, 'finalize'))?.settings).toEqual({
      ...settings,
      agents: noRules,
    });
    // Other user-agent rules classify sessions otherwise: refused too.
    const otherRules = spawnWorker({
      ...workerEnv(t.url, undefined, settings),
      EARSHOT_BOT_AGENTS: 'StatusCake',
    });
    cleanup.push(() => otherRules.kill());
    expect(await otherRules.exited).toBe(2);
    expect(otherRules.output()).toMatch(/EARSHOT_BOT_AGENTS/);

    const accepted = spawnWorker({
      ...workerEnv(t.url, undefined, other),
      EARSHOT_SETTINGS_CHANGE: 'accept',
      EARSHOT_BOT_AGENTS: 'StatusCake',
    });
    cleanup.push(() => accepted.kill());
    await accepted.port;
    expect(await accepted.stop()).toBe(0);
    expect((await readComponentSettings(t.db, 'finalize'))?.settings).toEqual({
      ...other,
      agents: { ...noRules, botAgents: ['StatusCake'] },
    });
  });
});
