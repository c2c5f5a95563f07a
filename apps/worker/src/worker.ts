// One unit over 400 lines: createWorker's closure holds the state its parts share (the BullMQ
// consumer, the sweep's timer and backlog, the metrics, the prune clock, close-once); split into
// modules, each would need that state handed to it.
import {
  FINALIZE_ATTEMPTS,
  FINALIZE_QUEUE,
  type FinalizeJobData,
  finalizeJobs,
  parseFinalizeJobData,
  QUEUE_PREFIX,
} from '@earshot/contract';
import {
  countUnfinalized,
  type Db,
  ensureEventPartitions,
  type FinalizeOutcome,
  type FinalizeSettings,
  finalizeSessions,
  type IngestSettings,
  nextDueInMs,
  pruneSessionState,
  readComponentSettings,
  type SweepResult,
  sweepOnce,
  utcDayOf,
} from '@earshot/db';
import { withTimeout } from '@earshot/service';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { FinalizeBatcher } from './batcher.js';
import { createMetrics, type WorkerMetrics } from './metrics.js';

// Re-armed jobs wake a little after due_at, so the re-check does not find them a hair early.
const REARM_SLACK_MS = 20;
// Sweep-only mode: at most five sweeps a second, however the due times are spread.
const SWEEP_ONLY_MIN_MS = 200;
// How often finished session ids' session_state rows are pruned.
const PRUNE_EVERY_MS = 3_600_000;
// Re-armed ids due within the same this many ms share a job (each waits at most this much more).
const REARM_GROUP_MS = 1000;
// How long re-arms wait for those of other jobs finishing at about the same time, ms.
const REARM_FLUSH_MS = 5;

export interface CreateWorkerOptions {
  db: Db;
  /** Idle, maximum and minimum session, seconds: the same values ingest and reports use. */
  settings: FinalizeSettings;
  /** `redis://...`; unset: no queue, the sweep alone schedules (embedded mode). */
  redisUrl?: string | undefined;
  /** BullMQ queue name. Default {@link FINALIZE_QUEUE}. */
  queueName?: string | undefined;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string | undefined;
  /** Jobs in progress at once (they share transactions: more jobs, bigger batches). Default 500. */
  concurrency?: number | undefined;
  /** Most session ids per finalization transaction. Default 1000. */
  batchSize?: number | undefined;
  /** Finalization transactions in flight at once (job batches; sweep lanes). Default 3. */
  transactions?: number | undefined;
  /** First retry of a set-aside session id, ms (doubling per failure, at most 6 h). Default 60 000. */
  setAsideRetryMs?: number | undefined;
  /** How often the sweep runs, ms. Default 60 000; 0 turns the sweep off (benchmarks of the job path). */
  sweepIntervalMs?: number | undefined;
  logger?: Logger | undefined;
  /** Close `db` in {@link FinalizeWorker.close}. Default true. */
  ownsDb?: boolean | undefined;
  /** Register Node's default process metrics. Default true. */
  defaultMetrics?: boolean | undefined;
}

export interface WorkerHealth {
  ok: boolean;
  mode: 'queue' | 'sweep-only';
  db: 'ok' | string;
  redis: 'ok' | 'disabled' | string;
  closing: boolean;
}

/** The finalization worker: BullMQ consumer (when Redis is configured) plus the periodic sweep. */
export interface FinalizeWorker {
  readonly mode: 'queue' | 'sweep-only';
  readonly metrics: WorkerMetrics;
  /** Starts consuming jobs and sweeping (a first sweep runs at once). */
  start(): Promise<void>;
  /** Runs a sweep now (or joins the one in progress) and returns what it did. */
  sweep(): Promise<SweepResult>;
  /** Asks for a sweep within `delayMs` (embedded mode: ingest can call this after a commit). */
  poke(delayMs?: number): void;
  health(): Promise<WorkerHealth>;
  /** Finishes the jobs in hand, stops the sweep, closes Redis and the database. Idempotent. */
  close(): Promise<void>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the finalization worker (DESIGN sections 3 and 5). Jobs are finalized in shared batches
 * (`FinalizeBatcher`); a job whose session got events since it was scheduled is re-armed to the new
 * `due_at` instead of finalizing early; the sweep finalizes whatever is due and was not (lost jobs,
 * no Redis at all).
 */
export function createWorker(options: CreateWorkerOptions): FinalizeWorker {
  const { db, settings } = options;
  const logger = options.logger ?? pino({ level: 'silent' });
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });
  const batchSize = options.batchSize ?? 1000;
  const transactions = options.transactions ?? 3;
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const mode = options.redisUrl ? 'queue' : 'sweep-only';

  const record = (outcomes: FinalizeOutcome[], path: 'job' | 'sweep') => {
    let finalized = 0;
    for (const o of outcomes) {
      if (o.status === 'set-aside') metrics.setAside.inc();
      if (o.status !== 'finalized') continue;
      finalized++;
      metrics.rowsWritten.inc(o.written);
      metrics.lag.observe(Math.max(0, o.lagMs) / 1000);
    }
    if (finalized > 0) metrics.finalized.inc({ path }, finalized);
  };

  const finalizeOptions = { setAsideBaseMs: options.setAsideRetryMs ?? 60_000 };
  const batcher = new FinalizeBatcher((ids) => finalizeSessions(db, ids, settings, finalizeOptions), {
    maxBatch: batchSize,
    maxInFlight: transactions,
    onBatch: (outcomes, seconds) => {
      metrics.batchSize.observe(outcomes.length);
      metrics.batchSeconds.observe(seconds);
      record(outcomes, 'job');
    },
  });

  // --- BullMQ -------------------------------------------------------------------------------
  let queue: Queue<FinalizeJobData> | undefined;
  let worker: Worker<FinalizeJobData> | undefined;
  const connections: Redis[] = [];
  const redisError = (role: string) => {
    let last = 0;
    return (error: Error) => {
      // ioredis repeats connection errors on every reconnect attempt; one line a few seconds is enough.
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      logger.warn({ err: errorText(error), role }, 'redis error');
    };
  };
  if (options.redisUrl) {
    const connect = (role: string) => {
      const redis = new Redis(options.redisUrl!, { maxRetriesPerRequest: null, lazyConnect: true });
      redis.on('error', redisError(`${role} connection`));
      connections.push(redis);
      return redis;
    };
    const queueName = options.queueName ?? FINALIZE_QUEUE;
    const prefix = options.prefix ?? QUEUE_PREFIX;
    queue = new Queue<FinalizeJobData>(queueName, { connection: connect('queue'), prefix });
    queue.on('error', redisError('queue'));
    worker = new Worker<FinalizeJobData>(queueName, (job, token) => processJob(job, token), {
      connection: connect('worker'),
      prefix,
      concurrency: options.concurrency ?? 500,
      autorun: false,
      // Fallbacks for jobs added without these options: a kept job would turn the next add of the
      // same job id into a no-op.
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    });
    worker.on('completed', () => {
      metrics.jobs.inc({ result: 'completed' });
    });
    worker.on('failed', (job, error) => {
      metrics.jobs.inc({ result: 'failed' });
      const final =
        !job || error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
      const log = { jobId: job?.id, attempts: job?.attemptsMade, err: errorText(error) };
      if (final) {
        logger.error(log, 'finalize job failed for good; the sweep will pick the session up');
        // A failed job kept in Redis would turn every later add of this job id into a no-op.
        job?.remove().catch(() => {});
      } else logger.warn(log, 'finalize job failed; BullMQ retries it');
    });
    worker.on('error', redisError('worker'));
  }

  async function processJob(job: Job<FinalizeJobData>, token: string | undefined): Promise<string> {
    const data = parseFinalizeJobData(job.data);
    if (!data)
      throw new UnrecoverableError(
        'invalid finalize job payload: want { sessions: 1..1000 strings of 1..128 characters }',
      );
    let outcomes: FinalizeOutcome[];
    try {
      outcomes = await Promise.all(data.sessions.map((session) => batcher.finalize(session)));
    } catch (error) {
      // A transient failure (database restarting, connection lost). BullMQ retries jobs whose
      // producer asked for attempts; for a job added without them the worker backs off itself, so a
      // database hiccup never leaves a session to the sweep alone. (Ids of the job that did finalize
      // find nothing to do the next time.)
      const retry = data.retries ?? 0;
      if ((job.opts.attempts ?? 1) > 1 || !token || retry + 1 >= FINALIZE_ATTEMPTS) throw error;
      const backoffMs = Math.min(60_000, 1000 * 2 ** retry);
      logger.warn(
        { sessions: data.sessions.length, retry: retry + 1, backoffMs, err: errorText(error) },
        'finalization failed; retrying',
      );
      await job.updateData({ ...(job.data as object), retries: retry + 1 } as FinalizeJobData);
      await job.moveToDelayed(Date.now() + backoffMs, token);
      metrics.jobs.inc({ result: 'retried' });
      throw new DelayedError();
    }
    // Events arrived since these ids were scheduled: run them again when they are due, not before.
    // Ids due in the same REARM_GROUP_MS (by the clock, so ids of other jobs too) share a job.
    const rearm = new Map<number, string[]>();
    let missing = 0;
    const now = Date.now();
    for (const o of outcomes) {
      if (o.status === 'missing') missing++;
      if (o.status !== 'not-due') continue;
      const due = Math.ceil((now + o.waitMs + REARM_SLACK_MS) / REARM_GROUP_MS) * REARM_GROUP_MS;
      const group = rearm.get(due);
      if (group) group.push(o.session);
      else rearm.set(due, [o.session]);
    }
    if (missing > 0)
      logger.warn({ missing, sessions: data.sessions.length }, 'finalize job for session ids with no state');
    if (rearm.size === 0) return 'finalized';
    const [only] = rearm.values();
    if (rearm.size === 1 && only!.length === data.sessions.length && token) {
      // Every id waits for the same time: the job itself waits (no new job).
      const [due] = rearm.keys();
      await job.moveToDelayed(due!, token);
      metrics.jobs.inc({ result: 'rearmed' });
      metrics.rearmed.inc(only!.length);
      throw new DelayedError();
    }
    // Added before this job completes: a crash in between runs this job again, which re-arms again.
    await rearmLater(rearm);
    return 'finalized, some re-armed';
  }

  // Re-arms of the jobs that finish together (a batch's jobs resolve at once) go out in one addBulk,
  // the ids due in one REARM_GROUP_MS in one job: otherwise, re-armed to the second its last tick
  // came, a station's ids would spread over ever smaller jobs, towards a job per id.
  let rearms = new Map<number, string[]>();
  let rearmWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  let rearmScheduled = false;
  function rearmLater(groups: Map<number, string[]>): Promise<void> {
    for (const [due, ids] of groups) {
      const group = rearms.get(due);
      if (group) group.push(...ids);
      else rearms.set(due, [...ids]);
    }
    return new Promise((resolve, reject) => {
      rearmWaiters.push({ resolve, reject });
      if (rearmScheduled) return;
      rearmScheduled = true;
      setTimeout(() => void flushRearms(), REARM_FLUSH_MS);
    });
  }
  async function flushRearms(): Promise<void> {
    rearmScheduled = false;
    const groups = rearms;
    const waiters = rearmWaiters;
    rearms = new Map();
    rearmWaiters = [];
    try {
      if (!queue) throw new Error('cannot re-arm session ids without the queue');
      const now = Date.now();
      await queue.addBulk([...groups].flatMap(([due, ids]) => finalizeJobs(ids, due - now)));
      let rearmed = 0;
      for (const ids of groups.values()) rearmed += ids.length;
      metrics.rearmed.inc(rearmed);
      logger.debug({ rearmed, jobs: groups.size }, 're-armed session ids still receiving events');
      for (const w of waiters) w.resolve();
    } catch (error) {
      for (const w of waiters) w.reject(error);
    }
  }

  // --- the sweep ----------------------------------------------------------------------------
  let closing = false;
  const sweepAbort = new AbortController();
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweepAt = Number.POSITIVE_INFINITY;
  let sweeping: Promise<SweepResult> | undefined;

  function sweep(): Promise<SweepResult> {
    sweeping ??= (async () => {
      try {
        const result = await sweepOnce(db, settings, {
          chunk: batchSize,
          concurrency: transactions,
          signal: sweepAbort.signal,
          finalize: finalizeOptions,
          onBatch: (outcomes) => {
            metrics.batchSize.observe(outcomes.length);
            record(outcomes, 'sweep');
          },
        });
        metrics.sweepRuns.inc({ result: 'ok' });
        metrics.sweepFound.inc(result.found);
        // found - finalized: ids still receiving events, moved on to idle after their last one.
        if (result.finalized > 0) logger.info(result, 'sweep finalized due sessions');
        else
          logger.debug(
            result,
            result.found > 0 ? 'sweep re-armed still-active sessions' : 'sweep found nothing due',
          );
        return result;
      } catch (error) {
        metrics.sweepRuns.inc({ result: 'failed' });
        throw error;
      }
    })().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  }

  // Today's and tomorrow's listen_events partitions (UTC), made before ingest needs them, so the
  // first batch after midnight does not wait for the DDL (ingest still makes any day it lacks).
  // Costs a query only when the day changes (days known to this Db are cached).
  async function partitionsAhead(): Promise<void> {
    const today = utcDayOf(Date.now());
    try {
      await ensureEventPartitions(db, [today, today + 1]);
    } catch (error) {
      logger.warn(
        { err: errorText(error) },
        "could not make the coming days' partitions; ingest makes them when needed",
      );
    }
  }

  function scheduleSweep(delayMs: number): void {
    if (closing || sweepIntervalMs <= 0) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (sweepTimer && at >= sweepAt) return;
    clearTimeout(sweepTimer);
    sweepAt = at;
    sweepTimer = setTimeout(() => void sweepTick(), Math.max(0, delayMs));
  }

  // session_state rows of ids finalized longer ago than any event ingest still accepts could
  // reach them (its max event age, from the database) are deleted, once an hour.
  let prunedAt = 0;
  async function pruneState(): Promise<void> {
    if (Date.now() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = Date.now();
    try {
      const ingest = await readComponentSettings<IngestSettings>(db, 'ingest');
      if (!ingest || !(ingest.settings.maxEventAgeS > 0)) return; // unknown, or any age accepted
      const olderThanS =
        ingest.settings.maxEventAgeS +
        (ingest.settings.maxEventAheadS ?? 0) +
        settings.idleS +
        settings.maxSessionS;
      let pruned = 0;
      for (let n = -1; n !== 0 && !closing; pruned += n) n = await pruneSessionState(db, olderThanS);
      if (pruned > 0) logger.info({ pruned, olderThanS }, 'pruned session_state rows of long-finished ids');
    } catch (error) {
      logger.warn({ err: errorText(error) }, 'could not prune session_state; trying again later');
    }
  }

  async function sweepTick(): Promise<void> {
    sweepTimer = undefined;
    sweepAt = Number.POSITIVE_INFINITY;
    let next = sweepIntervalMs;
    try {
      await sweep();
      await partitionsAhead();
      await pruneState();
      const backlog = await countUnfinalized(db);
      metrics.backlog.set({ kind: 'pending' }, backlog.pending);
      metrics.backlog.set({ kind: 'due' }, backlog.due);
      metrics.backlog.set({ kind: 'set_aside' }, backlog.setAside);
      if (mode === 'sweep-only') {
        // The sweep is the only scheduler: wake when the next session falls due, not a whole interval
        // later (a little after, so that sessions due together go in one sweep). With nothing
        // pending, nothing can fall due sooner than idle from now.
        const wait = await nextDueInMs(db);
        const until =
          wait === undefined ? settings.idleS * 1000 : Math.max(SWEEP_ONLY_MIN_MS, wait + REARM_SLACK_MS);
        next = Math.min(sweepIntervalMs, until);
      }
    } catch (error) {
      logger.error({ err: errorText(error) }, 'sweep failed; trying again at the next interval');
    }
    scheduleSweep(next);
  }

  // --- lifecycle ------------------------------------------------------------------------------
  let started = false;
  let closed: Promise<void> | undefined;

  return {
    mode,
    metrics,
    async start() {
      if (started) return;
      started = true;
      if (worker) {
        const w = worker;
        // Redis being down must not stop the sweep: wait for it a little, then carry on (BullMQ
        // keeps reconnecting, and jobs start flowing when it is back).
        const ready = Promise.all(connections.map((c) => c.connect().catch(() => {}))).then(() => {
          w.run().catch((error) => logger.error({ err: errorText(error) }, 'worker stopped'));
          return w.waitUntilReady();
        });
        await withTimeout(ready, 5000, 'connecting to Redis').catch((error) =>
          logger.warn({ err: errorText(error) }, 'Redis not ready; the sweep runs meanwhile'),
        );
      }
      logger.info(
        {
          mode,
          queue: options.queueName ?? (worker ? FINALIZE_QUEUE : undefined),
          sweepIntervalMs,
          ...settings,
        },
        'finalization worker started',
      );
      scheduleSweep(0);
    },
    sweep,
    poke(delayMs = 0) {
      scheduleSweep(delayMs);
    },
    async health() {
      let dbState = 'ok';
      let redisState = mode === 'queue' ? 'ok' : 'disabled';
      try {
        await withTimeout(db.ping(), 2000, 'database ping');
      } catch (error) {
        dbState = errorText(error);
      }
      if (connections[0]) {
        try {
          await withTimeout(connections[0].ping(), 2000, 'redis ping');
        } catch (error) {
          redisState = errorText(error);
        }
      }
      return {
        ok: !closing && dbState === 'ok' && (redisState === 'ok' || redisState === 'disabled'),
        mode,
        db: dbState,
        redis: redisState,
        closing,
      };
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const errors: unknown[] = [];
        const step = async (what: string, fn: () => Promise<unknown> | unknown) => {
          try {
            await fn();
          } catch (error) {
            errors.push(error);
            logger.warn({ err: errorText(error), step: what }, 'shutdown step failed');
          }
        };
        // The jobs in hand finish (their batch commits) before anything closes under them.
        // A Redis outage must not hang the shutdown: the other steps run after at most 30 s.
        await step('worker', () =>
          worker ? withTimeout(worker.close(), 30_000, 'closing the BullMQ worker') : undefined,
        );
        await step('sweep', async () => {
          clearTimeout(sweepTimer);
          sweepAbort.abort();
          await sweeping?.catch(() => {});
        });
        await step('queue', () =>
          queue ? withTimeout(queue.close(), 5000, 'closing the queue') : undefined,
        );
        for (const redis of connections) {
          await step('redis', async () => {
            // QUIT would wait for a connection that may never come back (commands queue while reconnecting).
            if (redis.status === 'ready')
              await withTimeout(redis.quit(), 2000, 'redis quit').catch(() => redis.disconnect());
            else redis.disconnect();
          });
        }
        if (options.ownsDb !== false) await step('db', () => db.close());
        logger.info({ errors: errors.length }, 'finalization worker closed');
      })();
      return closed;
    },
  };
}
