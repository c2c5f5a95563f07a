import { setTimeout as sleep } from 'node:timers/promises';
import { FINALIZE_JOB } from '@earshot/contract';
import {
  countUnfinalized,
  createDb,
  type Db,
  eventPartitionName,
  listEventPartitions,
  utcDayOf,
} from '@earshot/db';
import { expectedTables, generateEvents, openTestDb, readTables } from '@earshot/db/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer } from '../src/http.js';
import { type CreateWorkerOptions, createWorker, type FinalizeWorker } from '../src/worker.js';
import { deliver, queueSpace, realIngest } from './harness.js';
import { REDIS_TEST_URL, waitFor } from './support.js';

const settings = { idleS: 1, maxSessionS: 8, minSessionS: 3 };

const metricValue = async (worker: FinalizeWorker, name: string, labels: Record<string, string> = {}) => {
  const metric = (await worker.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
};

describe('the finalization worker', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  async function setup(workerOptions: Partial<CreateWorkerOptions> = {}) {
    const t = await openTestDb();
    cleanup.push(() => t.dispose());
    const space = queueSpace(REDIS_TEST_URL);
    const ingest = realIngest(t.db, space, settings);
    cleanup.push(() => ingest.close());
    const worker = createWorker({
      db: t.db,
      settings,
      redisUrl: space.redisUrl,
      queueName: space.queueName,
      prefix: space.prefix,
      // The jobs alone must do it: the first sweep runs at start (nothing to do), the next in a minute.
      sweepIntervalMs: 60_000,
      ownsDb: false,
      defaultMetrics: false,
      ...workerOptions,
    });
    cleanup.push(() => worker.close());
    return { db: t.db, space, ingest, worker };
  }

  const settle = async (db: Db) => {
    await sleep(settings.idleS * 1000);
    return waitFor(async () => (await countUnfinalized(db)).pending === 0, 30_000, 100);
  };

  it('finalizes a generated stream (repeats, late batches, resumes) to what core computes offline', async () => {
    const { db, ingest, worker } = await setup();
    await worker.start();
    const events = generateEvents({ seed: 11, ids: 300, idleS: settings.idleS, asSent: true });
    await deliver(ingest, events, { seed: 11, idleS: settings.idleS });
    expect(await settle(db)).toBe(true);
    const expected = expectedTables(events, settings);
    // The stream exercises every rule: several sessions per id, short ones, sessions over quarter-hours.
    const perId = new Map<string, number>();
    for (const s of expected.sessions) perId.set(s.session, (perId.get(s.session) ?? 0) + 1);
    expect([...perId.values()].some((n) => n > 1)).toBe(true);
    expect(expected.shorts.length).toBeGreaterThan(20);
    expect(new Set(expected.quarterHours.map((q) => q.quarterHour)).size).toBeGreaterThan(1);
    expect(await readTables(db)).toEqual(expected);

    // Never earlier than idle after the last event arrived, and (jobs alone: the sweep is off) no
    // later than idle + 30 s; late batches made ids finalize again.
    const timing = await db.query<{ early: number; late: number }>(
      `select count(*) filter (where finalized_at < due_at)::float8 as early,
        count(*) filter (where finalized_at > due_at + interval '30 seconds')::float8 as late from session_state`,
    );
    expect(timing[0]).toEqual({ early: 0, late: 0 });
    const ids = new Set(events.map((e) => e.session)).size;
    expect(
      await metricValue(worker, 'earshot_worker_sessions_finalized_total', { path: 'job' }),
    ).toBeGreaterThan(ids);
    // A job carries the ids of one ingest commit (or of one re-arm).
    expect(await metricValue(worker, 'earshot_worker_jobs_total', { result: 'completed' })).toBeGreaterThan(
      0,
    );
    expect(await metricValue(worker, 'earshot_worker_sweep_sessions_found_total')).toBe(0);
  });

  it('finalizes a stream sent in random order to what core computes offline', async () => {
    const { db, ingest, worker } = await setup();
    await worker.start();
    const events = generateEvents({ seed: 12, ids: 150, idleS: settings.idleS, asSent: true });
    await deliver(ingest, events, { seed: 12, idleS: settings.idleS, order: 'shuffled', lateShare: 0.2 });
    expect(await settle(db)).toBe(true);
    expect(await readTables(db)).toEqual(expectedTables(events, settings));
    expect(await metricValue(worker, 'earshot_worker_sweep_sessions_found_total')).toBe(0);
  });

  it('fails a job with a bad payload once, without retries', async () => {
    const { space, worker } = await setup();
    await worker.start();
    const connection = new Redis(space.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(space.queueName, { connection, prefix: space.prefix });
    cleanup.push(async () => {
      await queue.close();
      await connection.quit();
    });
    await queue.add(FINALIZE_JOB, { sessio: 'typo' }, { attempts: 5, backoff: { type: 'fixed', delay: 50 } });
    expect(
      await waitFor(
        async () => (await metricValue(worker, 'earshot_worker_jobs_total', { result: 'failed' })) === 1,
        5000,
      ),
    ).toBe(true);
    await sleep(500);
    expect(await metricValue(worker, 'earshot_worker_jobs_total', { result: 'failed' })).toBe(1);
  });

  it.each([
    ['ingest (attempts and backoff in the job options: BullMQ retries)', 'ingest'],
    ['a producer that sets no attempts (the worker backs off itself)', 'bare'],
  ] as const)(
    'retries a job whose finalization failed (a database hiccup), added by %s',
    async (_, producer) => {
      const t = await openTestDb();
      cleanup.push(() => t.dispose());
      const space = queueSpace(REDIS_TEST_URL);
      let failures = 2;
      // The first two finalization transactions fail as a lost connection would.
      const flaky: Db = Object.create(t.db, {
        transaction: {
          value: <T>(fn: Parameters<Db['transaction']>[0]) => {
            if (failures-- > 0)
              return Promise.reject(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }));
            return t.db.transaction(fn as never) as Promise<T>;
          },
        },
      });
      const worker = createWorker({
        db: flaky,
        settings,
        redisUrl: space.redisUrl,
        queueName: space.queueName,
        sweepIntervalMs: 0,
        ownsDb: false,
        defaultMetrics: false,
      });
      cleanup.push(() => worker.close());
      const events = generateEvents({ seed: 13, ids: 1, idleS: settings.idleS, asSent: true, maxVisits: 1 });
      if (producer === 'ingest') {
        const ingest = realIngest(t.db, space, settings);
        cleanup.push(() => ingest.close());
        await ingest.send(events);
      } else {
        const stored = realIngest(t.db, undefined, settings);
        cleanup.push(() => stored.close());
        await stored.send(events);
        const connection = new Redis(space.redisUrl, { maxRetriesPerRequest: null });
        const queue = new Queue(space.queueName, { connection });
        cleanup.push(async () => {
          await queue.close();
          await connection.quit();
        });
        await queue.add(FINALIZE_JOB, { session: events[0]!.session }, { delay: settings.idleS * 1000 });
      }
      await worker.start();
      expect(await waitFor(async () => (await countUnfinalized(t.db)).pending === 0, 15_000)).toBe(true);
      // Two failed attempts, then the finalization: by BullMQ's retries, or by the worker's own.
      const failed = await metricValue(worker, 'earshot_worker_jobs_total', { result: 'failed' });
      const retried = await metricValue(worker, 'earshot_worker_jobs_total', { result: 'retried' });
      expect(producer === 'ingest' ? [failed, retried] : [retried, failed]).toEqual([2, 0]);
      expect(await readTables(t.db)).toEqual(expectedTables(events, settings));
    },
  );

  it('keeps finalizing through the sweep while Redis is unreachable, and still shuts down', async () => {
    const t = await openTestDb();
    cleanup.push(() => t.dispose());
    const worker = createWorker({
      db: t.db,
      settings,
      redisUrl: 'redis://127.0.0.1:1/0',
      queueName: queueSpace(REDIS_TEST_URL).queueName,
      sweepIntervalMs: 500,
      ownsDb: false,
      defaultMetrics: false,
    });
    const tomorrow = eventPartitionName(utcDayOf(Date.now()) + 1);
    await worker.start();
    const ingest = realIngest(t.db, undefined, settings);
    cleanup.push(() => ingest.close());
    const events = generateEvents({ seed: 14, ids: 20, idleS: settings.idleS, asSent: true });
    await ingest.send(events);
    expect(await waitFor(async () => (await countUnfinalized(t.db)).pending === 0, 15_000)).toBe(true);
    expect(await readTables(t.db)).toEqual(expectedTables(events, settings));
    // The sweep also makes the coming day's listen_events partition before ingest needs it.
    expect((await listEventPartitions(t.db)).map((p) => p.name)).toContain(tomorrow);
    expect((await worker.health()).ok).toBe(false);
    const started = Date.now();
    await worker.close();
    expect(Date.now() - started).toBeLessThan(35_000);
  });

  it('re-arms the ids of a job that got events since, in a shared job, and finalizes the rest at once', async () => {
    const { db, ingest, worker } = await setup();
    await worker.start();
    const t0 = Date.now() - 60_000;
    const tick = (session: string, i: number) => ({
      id: `rearm-${session}-${i}`,
      session,
      stream: 'rock',
      output: 'shoutcast' as const,
      time: t0 + i * 1000,
      duration: 1,
      bytes: 16_000,
    });
    const first = ['a', 'b', 'c'].flatMap((s) => [0, 1, 2, 3].map((i) => tick(s, i)));
    await ingest.send(first);
    // Before the commit's job fires (idle after it), a and b get more events: c is due, they are not.
    await sleep(settings.idleS * 500);
    const more = ['a', 'b'].flatMap((s) => [4, 5].map((i) => tick(s, i)));
    await ingest.send(more);
    expect(await settle(db)).toBe(true);
    expect(await readTables(db)).toEqual(expectedTables([...first, ...more], settings));
    expect(await metricValue(worker, 'earshot_worker_sessions_rearmed_total')).toBe(2);
    expect(await metricValue(worker, 'earshot_worker_sweep_sessions_found_total')).toBe(0);
  });

  it('serves /healthz and /metrics, and closes idempotently', async () => {
    const { worker } = await setup();
    await worker.start();
    const http = await startHttpServer(worker, 0, '127.0.0.1');
    cleanup.push(() => http.close());
    const health = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, mode: 'queue', db: 'ok', redis: 'ok' });
    const metrics = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    for (const name of [
      'earshot_worker_jobs_total',
      'earshot_worker_sessions_finalized_total',
      'earshot_worker_sweep_runs_total',
      'earshot_worker_sweep_sessions_found_total',
      'earshot_worker_finalize_lag_seconds_bucket',
    ]) {
      expect(metrics).toContain(name);
    }
    expect((await fetch(`http://127.0.0.1:${http.port}/nope`)).status).toBe(404);
    await Promise.all([worker.close(), worker.close()]);
    await worker.close();
    const after = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    expect(after.status).toBe(503);
  });
});

describe('embedded mode (PGlite, no Redis)', () => {
  it('finalizes the same generated stream with the sweep alone', async () => {
    const db = await createDb({ url: 'memory:' });
    const ingest = realIngest(db, undefined, settings);
    const worker = createWorker({ db, settings, sweepIntervalMs: 1000, defaultMetrics: false });
    try {
      expect(worker.mode).toBe('sweep-only');
      await worker.start();
      const events = generateEvents({ seed: 12, ids: 120, idleS: settings.idleS, asSent: true });
      await deliver(ingest, events, { seed: 12, idleS: settings.idleS });
      await sleep(settings.idleS * 1000);
      expect(await waitFor(async () => (await countUnfinalized(db)).pending === 0, 30_000, 100)).toBe(true);
      expect(await readTables(db)).toEqual(expectedTables(events, settings));
      const early = await db.query<{ n: number }>(
        'select count(*)::float8 as n from session_state where finalized_at < due_at',
      );
      expect(early[0]!.n).toBe(0);
    } finally {
      await ingest.close();
      await worker.close();
    }
  });
});
