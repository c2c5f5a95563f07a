/**
 * Finalization benchmark (issue 4). Needs PostgreSQL and Redis (the test services); makes and drops
 * its own database and queues.
 *
 *  1. Inserts EVENTS listen events in SESSIONS session ids into PostgreSQL through the bulk path
 *     (insertEvents: COPY), due at once.
 *  2. Physical baseline: reads every session id's events, in the chunks and lanes the sweep uses.
 *  3. Finalizes all of them through the sweep (one process, 2 transactions in flight).
 *  4. Resets, and finalizes all of them again through BullMQ (one worker process, jobs pre-added as
 *     ingest adds them: one job per commit, JOB_SESSIONS ids each); beside it, the physical baseline
 *     of BullMQ: one no-op job per session id.
 *  5. Redis cost: INFO commandstats around an ingest of REDIS_EVENTS events through the real ingest
 *     (createApp + its BullMQ scheduler), beside a per-event `add` producer on a sample.
 *
 * Env: BENCH_EVENTS (default 1000000), BENCH_SESSIONS (50000), BENCH_REDIS_EVENTS (100000),
 * TEST_DATABASE_URL or EARSHOT_TEST_PG (admin URL, default postgres://postgres@127.0.0.1:5432/test), EARSHOT_TEST_REDIS.
 */
import { randomUUID } from 'node:crypto';
import { FINALIZE_JOB, finalizeJobs } from '@earshot/contract';
import type { ListenEvent } from '@earshot/core';
import { countUnfinalized, createDb, insertEvents, sweepOnce } from '@earshot/db';
import { createTestDatabase, TEST_ADMIN_URL } from '@earshot/db/testing';
import { createApp, createScheduler } from '@earshot/ingest';
import { createRandom } from '@earshot/simulate';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createWorker } from '../src/worker.js';

const REDIS_URL = process.env.EARSHOT_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50_000);
const REDIS_EVENTS = Number(process.env.BENCH_REDIS_EVENTS ?? 100_000);
const CHUNK = 1000;
// Session ids per job in the job pass: what one 500-event ingest commit of this station schedules.
const JOB_SESSIONS = 500;
const LANES = 3;
const settings = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };
const BASE = Date.parse('2026-11-27T00:00:00.000Z');

// The baselines' jobs: one per session id, with a fixed job id per id (as ingest added them once).
const perIdJobId = (session: string) => `fin-${encodeURIComponent(session)}`;

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/**
 * `sessions` ids x `perId` events in the shape of a station's Shoutcast loggers: 30 s ticks; one id
 * in ten pauses longer than idle and resumes (two sessions), one in twenty leaves early (short).
 */
function stationEvents(seed: number, sessions: number, total: number, spreadHours = 20): ListenEvent[] {
  const rand = createRandom(seed).next;
  const perId = Math.max(1, Math.round(total / sessions));
  const events: ListenEvent[] = [];
  const streams = ['rock', 'jazz', 'news', 'talk'];
  for (let s = 0; s < sessions; s++) {
    const session = `${seed}-${s}-${Math.floor(rand() * 1e9).toString(36)}`;
    const stream = streams[s % streams.length]!;
    const listener = rand() < 0.7 ? `L${Math.floor(rand() * sessions)}` : undefined;
    let t = BASE + Math.floor(rand() * spreadHours * 3_600_000);
    const short = rand() < 0.05;
    const pauseAt = rand() < 0.1 ? Math.floor(perId / 2) : -1;
    for (let i = 0; i < perId; i++) {
      if (i === pauseAt) t += 600_000;
      t += 30_000;
      const duration = short ? 2 : 30;
      const e: ListenEvent = {
        id: randomUUID(),
        session,
        stream,
        output: 'shoutcast',
        time: t,
        duration,
        bytes: duration * 16_000,
      };
      if (listener) e.listener = listener;
      e.ua = 'VLC/3.0.20';
      events.push(e);
    }
  }
  // Arrival order: by time, as the loggers send them.
  return events.sort((a, b) => a.time - b.time);
}

async function commandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

async function pool<T>(items: readonly T[], lanes: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Row {
  what: string;
  count: number;
  seconds: number;
  perSecond: number;
  note: string;
}

async function main(): Promise<void> {
  const database = await createTestDatabase(TEST_ADMIN_URL, 'bench');
  const db = await createDb({ url: database.url, maxConnections: 8 });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const rows: Row[] = [];
  const row = (what: string, count: number, seconds: number, note = '') =>
    rows.push({ what, count, seconds, perSecond: count / seconds, note });
  try {
    log(`generating ${EVENTS} events in ${SESSIONS} session ids...`);
    const events = stationEvents(1, SESSIONS, EVENTS);
    log('inserting (insertEvents, COPY, 5000-event batches)...');
    let t0 = performance.now();
    for (let i = 0; i < events.length; i += 5000)
      // Due at once: received (by the stored received_at) longer than idle ago.
      await insertEvents(db, events.slice(i, i + 5000), {
        idleS: 0.001,
        receivedAt: Date.now() - (settings.idleS + 60) * 1000,
      });
    row(
      'insert events (bulk path)',
      events.length,
      (performance.now() - t0) / 1000,
      'COPY + session_state upsert',
    );
    // By the time sessions fall due (idle after their last event) autovacuum has usually visited the
    // new rows; without this the first pass over them pays for setting hint bits, whoever reads first.
    await db.query('vacuum analyze');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ids = (
      await db.query<{ session: string }>('select session from session_state order by due_at')
    ).map((r) => r.session);

    log('baseline: reading every id events...');
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
    t0 = performance.now();
    let read = 0;
    await pool(chunks, LANES, async (chunk) => {
      const r = await db.query(
        `select e.session, e.id, e.stream, e.output, (extract(epoch from e.time) * 1000)::float8 as time_ms, e.duration_ms,
          e.bytes::float8 as bytes, e.listener, e.ua
          from listen_events e where e.session = any($1::text[]) and e.time >= $2::timestamptz and e.time <= $3::timestamptz`,
        [chunk, new Date(BASE - 86_400_000).toISOString(), new Date(BASE + 3 * 86_400_000).toISOString()],
      );
      read += r.length;
    });
    row(
      'baseline: SELECT each id events',
      ids.length,
      (performance.now() - t0) / 1000,
      `${read} events read, ${LANES} lanes`,
    );

    log('sweep path...');
    t0 = performance.now();
    const swept = await sweepOnce(db, settings, { chunk: CHUNK, concurrency: LANES });
    row(
      'finalize via sweep',
      swept.finalized,
      (performance.now() - t0) / 1000,
      `${swept.batches} transactions`,
    );
    if ((await countUnfinalized(db)).pending !== 0) throw new Error('sweep left sessions unfinalized');
    const counts = await db.query<{ sessions: number; shorts: number; qhs: number; minutes: number }>(
      `select (select count(*) from sessions)::float8 as sessions, (select count(*) from short_sessions)::float8 as shorts,
        (select count(*) from session_quarter_hours)::float8 as qhs, (select count(*) from stream_minutes)::float8 as minutes`,
    );

    log('BullMQ path...');
    // Everything the sweep wrote, so the job pass writes the same rows from scratch (not upserts).
    await db.query(
      'truncate sessions, session_quarter_hours, stream_minutes, short_sessions, stream_quarter_hours, stream_listener_months, listener_keys',
    );
    await db.query('update session_state set finalized_seq = 0, finalized_at = null');
    const queueName = `bench-${randomUUID()}`;
    const queue = new Queue(queueName, { connection: redis });
    t0 = performance.now();
    let jobCount = 0;
    for (let i = 0; i < ids.length; i += 20 * JOB_SESSIONS) {
      const jobs = [];
      for (let j = i; j < Math.min(ids.length, i + 20 * JOB_SESSIONS); j += JOB_SESSIONS)
        jobs.push(...finalizeJobs(ids.slice(j, j + JOB_SESSIONS), 0));
      jobCount += jobs.length;
      await queue.addBulk(jobs);
    }
    row(
      `  (add the jobs: addBulk, ${jobCount} jobs)`,
      ids.length,
      (performance.now() - t0) / 1000,
      'not counted in the next line',
    );
    const worker = createWorker({
      db,
      settings,
      redisUrl: REDIS_URL,
      queueName,
      concurrency: 500,
      batchSize: CHUNK,
      transactions: LANES,
      sweepIntervalMs: 0,
      ownsDb: false,
      defaultMetrics: false,
    });
    const workerCallsBefore = await commandCalls(redis);
    t0 = performance.now();
    await worker.start();
    while ((await countUnfinalized(db)).pending > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    row(
      'finalize via BullMQ jobs',
      ids.length,
      (performance.now() - t0) / 1000,
      `${JOB_SESSIONS} ids per job, batched`,
    );
    await worker.close();
    const workerCalls = (await commandCalls(redis)) - workerCallsBefore - 1;
    await queue.obliterate({ force: true });
    await queue.close();

    log('BullMQ ceiling: the same number of jobs with a processor that does nothing...');
    {
      const nopName = `bench-nop-${randomUUID()}`;
      const nopQueue = new Queue(nopName, { connection: redis });
      for (let i = 0; i < ids.length; i += 1000) {
        await nopQueue.addBulk(
          ids.slice(i, i + 1000).map((session) => ({
            name: FINALIZE_JOB,
            data: { sessions: [session] },
            opts: { jobId: perIdJobId(session), removeOnComplete: true, removeOnFail: true },
          })),
        );
      }
      let done = 0;
      const nopConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      t0 = performance.now();
      const nop = new Worker(nopName, async () => 'ok', { connection: nopConnection, concurrency: 500 });
      nop.on('completed', () => {
        done++;
      });
      while (done < ids.length) await new Promise((resolve) => setTimeout(resolve, 20));
      row(
        'baseline: BullMQ jobs doing nothing',
        ids.length,
        (performance.now() - t0) / 1000,
        'one job per id, concurrency 500',
      );
      await nop.close();
      await nopConnection.quit();
      await nopQueue.obliterate({ force: true });
      await nopQueue.close();
    }

    log('Redis commands per ingested event...');
    // Every listener at once (all sessions within 30 s): each 500-event batch holds ~500 session ids,
    // the worst case for anything that touches Redis per session and batch.
    const redisEvents = stationEvents(2, Math.max(1, Math.round(REDIS_EVENTS / 20)), REDIS_EVENTS, 30 / 3600);
    const ingestQueue = `bench-ingest-${randomUUID()}`;
    const scheduler = createScheduler({
      redisUrl: REDIS_URL,
      idleS: settings.idleS,
      timeoutMs: 5000,
      logger: pino({ level: 'silent' }),
      queueName: ingestQueue,
    });
    const { app, drain } = createApp({
      db,
      tokens: ['bench-token-0123456789'],
      idleS: settings.idleS,
      scheduler,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const batches: ListenEvent[][] = [];
    for (let i = 0; i < redisEvents.length; i += 500) batches.push(redisEvents.slice(i, i + 500));
    const before = await commandCalls(redis);
    t0 = performance.now();
    await pool(batches, 4, async (batch) => {
      const res = await app.request('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer bench-token-0123456789' },
        body: JSON.stringify(batch),
      });
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    const seconds = (performance.now() - t0) / 1000;
    const calls = (await commandCalls(redis)) - before - 1;
    const iq = new Queue(ingestQueue, { connection: redis });
    const scheduled = await iq.getJobs(['delayed', 'waiting']);
    const jobs = { count: scheduled.length, sessions: 0 };
    for (const job of scheduled) jobs.sessions += (job.data as { sessions: string[] }).sessions.length;
    row('ingest through the real ingest', redisEvents.length, seconds, '500-event POSTs, 4 at once');
    await drain();
    await scheduler.close();
    await iq.obliterate({ force: true });
    await iq.close();

    // Physical baseline for Redis: a producer that schedules every event (one add each).
    const sample = redisEvents.slice(0, Math.min(10_000, redisEvents.length));
    const naiveQueue = new Queue(`bench-naive-${randomUUID()}`, { connection: redis });
    const naiveBefore = await commandCalls(redis);
    for (let i = 0; i < sample.length; i += 500) {
      await naiveQueue.addBulk(
        sample.slice(i, i + 500).map((e) => ({
          name: FINALIZE_JOB,
          data: { sessions: [e.session] },
          opts: { jobId: perIdJobId(e.session), delay: settings.idleS * 1000 },
        })),
      );
    }
    const naiveCalls = (await commandCalls(redis)) - naiveBefore - 1;
    await naiveQueue.obliterate({ force: true });
    await naiveQueue.close();

    const table = rows.map((r) => ({
      step: r.what,
      count: r.count,
      seconds: Number(r.seconds.toFixed(2)),
      'per second': Math.round(r.perSecond),
      note: r.note,
    }));
    const sweepRow = rows.find((r) => r.what === 'finalize via sweep')!;
    const jobRow = rows.find((r) => r.what === 'finalize via BullMQ jobs')!;
    const baseRow = rows.find((r) => r.what.startsWith('baseline: SELECT'))!;
    const nopRow = rows.find((r) => r.what.startsWith('baseline: BullMQ'))!;
    console.log(
      `\nFinalization benchmark: ${events.length} events, ${ids.length} session ids, one process, PostgreSQL 15 + Redis 7`,
    );
    console.table(table);
    console.log(
      `stored: ${counts[0]!.sessions} sessions, ${counts[0]!.shorts} short sessions, ${counts[0]!.qhs} session quarter-hours, ${counts[0]!.minutes} stream minutes`,
    );
    const sweepRatio = sweepRow.perSecond / baseRow.perSecond;
    const jobRatio = jobRow.perSecond / nopRow.perSecond;
    console.log(
      `sessions finalized per second per worker: sweep ${Math.round(sweepRow.perSecond)} against the bare SELECT of the same events ` +
        `${Math.round(baseRow.perSecond)} ids/s: ${(sweepRatio * 100).toFixed(0)} % (goal >= 60 %: ${sweepRatio >= 0.6 ? 'met' : 'NOT met'}); ` +
        `BullMQ jobs ${Math.round(jobRow.perSecond)} against no-op jobs (one per id) ${Math.round(nopRow.perSecond)}/s: ` +
        `${(jobRatio * 100).toFixed(0)} % (goal >= 40 %: ${jobRatio >= 0.4 ? 'met' : 'NOT met'})`,
    );
    console.log('\nRedis cost (INFO commandstats; commands run inside Lua scripts count one by one):');
    console.table([
      {
        what: 'real ingest: events in, finalize jobs scheduled',
        unit: 'event',
        count: redisEvents.length,
        'redis commands': calls,
        'per unit': Number((calls / redisEvents.length).toFixed(4)),
        note: `${jobs.count} jobs carrying ${jobs.sessions} ids, for ${new Set(redisEvents.map((e) => e.session)).size} session ids`,
      },
      {
        what: 'baseline: a producer adding a job per event',
        unit: 'event',
        count: sample.length,
        'redis commands': naiveCalls,
        'per unit': Number((naiveCalls / sample.length).toFixed(3)),
        note: 'same events, addBulk of 500',
      },
      {
        what: 'worker: the BullMQ finalization above',
        unit: 'session id',
        count: ids.length,
        'redis commands': workerCalls,
        'per unit': Number((workerCalls / ids.length).toFixed(4)),
        note: `${jobCount} jobs: fetch, lock, complete`,
      },
    ]);
    // Each id a job carries costs the worker what an id of the job pass cost (jobs of similar size).
    const idsPerEvent = jobs.sessions / redisEvents.length;
    const workerPerId = workerCalls / ids.length;
    const perEvent = calls / redisEvents.length + idsPerEvent * workerPerId;
    console.log(
      `Redis commands per ingested event, ingest and worker together: ${perEvent.toFixed(4)} (goal <= 1: ${perEvent <= 1 ? 'met' : 'NOT met'}) ` +
        `(${(calls / redisEvents.length).toFixed(4)} to schedule + ${idsPerEvent.toFixed(3)} scheduled ids per event x ${workerPerId.toFixed(3)} to run each; ` +
        `a job per event would cost ${(naiveCalls / sample.length).toFixed(1)} to schedule alone, ${(naiveCalls / sample.length / (perEvent || 1)).toFixed(1)}x as much)`,
    );
    console.log(
      '(INFO commandstats is server-wide: anything else using this Redis during the run is counted too. A session\n' +
        ' that keeps listening past idle is re-armed once per idle: with 30 s ticks and idle 300 s, one more job run per 10 events.)',
    );
  } finally {
    await redis.quit().catch(() => {});
    await db.close().catch(() => {});
    await database.drop().catch(() => {});
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
