/**
 * Capacity benchmark (issue 14): how many concurrent listeners one ingest, one worker and one
 * PostgreSQL hold with finalization keeping up. Run by the worker's `pnpm bench` (after
 * finalize.bench.ts); needs `pnpm build` (it starts apps/ingest/dist/main.js and
 * apps/worker/dist/main.js), PostgreSQL and Redis (the test services).
 *
 *  1. A fresh database; the physical baseline: a bare COPY into its listen_events (500-row batches,
 *     c=1 and c=4, the ingest bench's raw ceiling), then emptied.
 *  2. Ingest and one worker as child processes (Redis database 9, a queue name and prefix of this
 *     run), idle and sweep shortened (EARSHOT_IDLE_S, EARSHOT_SWEEP_S; see README "Capacity").
 *  3. Listeners in real time (bench/listeners.ts: Shoutcast 30 s ticks, HLS 6 s segments, sessions
 *     ending and replaced) through @earshot/logger's HTTP sink, one per 5,000 listeners. The
 *     audience grows step by step; each step is measured over its second part, once the sessions it
 *     added have passed their first idle: events accepted by ingest, sessions finalized and re-armed,
 *     finalization lag (from the database: each session id's `finalized_at - due_at`, and
 *     `now - due_at` for one due but not finalized yet), CPU of each process and of the machine.
 *  4. It stops after the first step that does not keep up: the lag p99 over the sweep interval
 *     (a session's row later than idle + sweep after its last event), any error or retry of the
 *     sinks, or the load generator itself falling behind. Capacity = the last step that kept up.
 *
 * Env: BENCH_CAPACITY_QUICK=1 (or --quick: three short steps, to check the bench), BENCH_CAPACITY_STEPS
 * (listeners per step, comma-separated), BENCH_CAPACITY_STEP_S, BENCH_CAPACITY_HLS_SHARE (default 0.5),
 * BENCH_CAPACITY_IDLE_S (60), BENCH_CAPACITY_SWEEP_S (12), TEST_DATABASE_URL / EARSHOT_TEST_PG,
 * BENCH_CAPACITY_REDIS (default redis://127.0.0.1:6379/9).
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDb, ensureEventPartitions, utcDayOf } from '@earshot/db';
import { createTestDatabase, TEST_ADMIN_URL } from '@earshot/db/testing';
import { createHttpSink, type HttpSink } from '@earshot/logger';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Child, startChild, stopChild } from '../../ingest/bench/child.js';
import { RAW_DAY0, rawClient, rawRun } from '../../ingest/bench/raw-ceiling.js';
import { createCpuMeter, machineCpuS, processCpuS } from './cpu.js';
import { createAudience, MEAN_SESSION_S, type Output } from './listeners.js';

const env = process.env;
const QUICK = process.argv.includes('--quick') || env.BENCH_CAPACITY_QUICK === '1';
const STEPS = (
  env.BENCH_CAPACITY_STEPS ?? (QUICK ? '2000,8000,32000' : '2000,4000,8000,16000,32000,64000,128000')
)
  .split(',')
  .map(Number);
const STEP_S = Number(env.BENCH_CAPACITY_STEP_S ?? (QUICK ? 110 : 150));
const HLS_SHARE = Number(env.BENCH_CAPACITY_HLS_SHARE ?? 0.5);
const IDLE_S = Number(env.BENCH_CAPACITY_IDLE_S ?? 60);
const SWEEP_S = Number(env.BENCH_CAPACITY_SWEEP_S ?? 12);
const TICK_S = 30;
const SEGMENT_S = 6;
const PER_SERVER = 5000;
const REDIS_URL = env.BENCH_CAPACITY_REDIS ?? 'redis://127.0.0.1:6379/9';
const TAG = randomBytes(4).toString('hex');
const TOKEN = `capacity-${TAG}-0123456789`;
const QUEUE = `capacity-${TAG}`;
const PREFIX = `capacity-${TAG}`;
const INGEST_DIR = fileURLToPath(new URL('../../ingest/', import.meta.url));
const WORKER_DIR = fileURLToPath(new URL('../', import.meta.url));
// Measure a step once the sessions it added have fallen due once (idle after their first report).
const WARM_S = Math.min(STEP_S / 2, IDLE_S + TICK_S);

const log = (msg: string) =>
  process.stderr.write(`[capacity +${(performance.now() / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Sums the samples of a Prometheus counter whose label set matches `labels` (a regex). */
function counter(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm')))
    if (new RegExp(labels).test(m[1] ?? '')) sum += Number(m[2]);
  return sum;
}

async function metricsOf(port: number, token?: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
  return res.text();
}

interface Row {
  listeners: number;
  shoutcast: number;
  hls: number;
  windowS: number;
  generatedPerS: number;
  acceptedPerS: number;
  finalizedPerS: number;
  rearmedPerS: number;
  lagP50: number;
  lagP99: number;
  lagCount: number;
  pendingDue: number;
  errors: number;
  retried: number;
  lost: number;
  refused: number;
  commitMs: number;
  postP99: number;
  postMax: number;
  generatorLateMs: number;
  cpu: { ingest: number; worker: number; postgres: number; bench: number; machine: number };
  keptUp: boolean;
  why: string;
}

async function main(): Promise<void> {
  const database = await createTestDatabase(TEST_ADMIN_URL, 'bench_capacity');
  const db = await createDb({ url: database.url, maxConnections: 2 });
  const dbName = new URL(database.url).pathname.slice(1);
  const children: Child[] = [];
  const sinks = new Map<string, HttpSink>();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const rows: Row[] = [];
  let ceiling = 0;
  try {
    // 1. The physical baseline, on this database's listen_events.
    log('baseline: bare COPY into listen_events...');
    await ensureEventPartitions(db, [utcDayOf(RAW_DAY0)]);
    const raw = rawClient(database.url, 4);
    for (const c of [1, 4]) {
      await rawRun(raw, 'copy', c, 20); // warm-up
      ceiling = Math.max(ceiling, await rawRun(raw, 'copy', c, 200));
    }
    await raw.end();
    await db.query('truncate listen_events, session_state');

    // 2. The services.
    const shared = {
      DATABASE_URL: database.url,
      REDIS_URL,
      EARSHOT_FINALIZE_QUEUE: QUEUE,
      EARSHOT_QUEUE_PREFIX: PREFIX,
      EARSHOT_IDLE_S: String(IDLE_S),
      EARSHOT_SWEEP_S: String(SWEEP_S),
      LOG_LEVEL: 'info', // start lines; requests and jobs log at debug
      PORT: '0',
    };
    const ingest = await startChild(INGEST_DIR, ['dist/main.js'], {
      ...shared,
      EARSHOT_INGEST_TOKENS: TOKEN,
      EARSHOT_LISTENER_SALT: `capacity-salt-${TAG}`,
      HOST: '127.0.0.1',
    });
    children.push(ingest);
    const worker = await startChild(WORKER_DIR, ['dist/main.js'], shared);
    children.push(worker);
    log(`ingest :${ingest.port} (pid ${ingest.child.pid}), worker :${worker.port} (pid ${worker.child.pid})`);

    // 3. The audience, step by step. Each POST's time as the sinks see it (ingest's answer after commit).
    let postMs: number[] = [];
    const timedFetch: typeof fetch = async (input, init) => {
      const t0 = performance.now();
      try {
        return await fetch(input, init);
      } finally {
        postMs.push(performance.now() - t0);
      }
    };
    const audience = createAudience({
      tag: `c${TAG}`,
      idleS: IDLE_S,
      tickS: TICK_S,
      segmentS: SEGMENT_S,
      listenersPerServer: PER_SERVER,
      sinkFor(output: Output, server: number) {
        const key = `${output}-${server}`;
        let sink = sinks.get(key);
        if (!sink) {
          sink = createHttpSink({ url: `http://127.0.0.1:${ingest.port}`, token: TOKEN, fetch: timedFetch });
          sinks.set(key, sink);
        }
        return sink;
      },
    });
    const sinkTrouble = () => {
      const n = { retried: 0, lost: 0 };
      for (const s of sinks.values()) {
        const st = s.stats();
        n.retried += st.retried;
        n.lost += st.dropped + st.failed;
      }
      return n;
    };
    const pgPids = async () =>
      (
        await db.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [dbName],
        )
      ).map((r) => r.pid);

    for (const listeners of STEPS) {
      const hls = Math.round(listeners * HLS_SHARE);
      const shoutcast = listeners - hls;
      log(`step: ${fmt(shoutcast)} Shoutcast + ${fmt(hls)} HLS listeners for ${STEP_S} s`);
      const stepStart = Date.now();
      audience.grow(stepStart, shoutcast, hls);
      let lateMs = 0;
      let snap: Awaited<ReturnType<typeof snapshot>> | undefined;
      const pgMeter = createCpuMeter();
      async function snapshot() {
        const [im, wm, pids] = await Promise.all([
          metricsOf(ingest.port, TOKEN),
          metricsOf(worker.port),
          pgPids(),
        ]);
        return {
          at: Date.now(),
          generated: audience.stats().events,
          accepted: counter(im, 'earshot_ingest_events_accepted_total'),
          refused: counter(im, 'earshot_ingest_requests_total', 'status="(?!2)'),
          finalized: counter(wm, 'earshot_worker_sessions_finalized_total'),
          rearmed: counter(wm, 'earshot_worker_jobs_total', 'result="rearmed"'),
          trouble: sinkTrouble(),
          commitS: counter(im, 'earshot_ingest_commit_seconds_sum'),
          commits: counter(im, 'earshot_ingest_commit_seconds_count'),
          ingestCpu: processCpuS(ingest.child.pid!) ?? 0,
          workerCpu: processCpuS(worker.child.pid!) ?? 0,
          pgCpu: pgMeter(pids),
          benchCpu: process.cpuUsage(),
          machine: machineCpuS(),
        };
      }
      while (Date.now() - stepStart < STEP_S * 1000) {
        const now = Date.now();
        const late = audience.advance(now);
        if (snap) lateMs = Math.max(lateMs, late);
        if (!snap && now - stepStart >= WARM_S * 1000) {
          snap = await snapshot();
          postMs = [];
        }
        await sleep(100 - (Date.now() % 100));
      }
      const end = await snapshot();
      const start = snap!;
      const windowS = (end.at - start.at) / 1000;
      // Lag of the session ids that fell due in the window: finalized_at - due_at, or (still due,
      // not finalized) now - due_at. finalized_at is the finalizing transaction's start.
      const [lag] = await db.query<{ p50: number | null; p99: number | null; n: number; pending: number }>(
        `with w as (
           select case when finalized_seq >= change_seq then greatest(0, extract(epoch from finalized_at - due_at))
                       else extract(epoch from now() - due_at) end::float8 as lag_s,
                  finalized_seq < change_seq as pending
           from session_state
           where due_at >= to_timestamp($1::float8 / 1000) and due_at < to_timestamp($2::float8 / 1000)
             and (finalized_seq >= change_seq or due_at <= now()))
         select percentile_disc(0.5) within group (order by lag_s) as p50,
                percentile_disc(0.99) within group (order by lag_s) as p99,
                count(*)::float8 as n, count(*) filter (where pending)::float8 as pending from w`,
        [start.at, end.at],
      );
      postMs.sort((a, b) => a - b);
      const postP99 = postMs[Math.min(postMs.length - 1, Math.floor(postMs.length * 0.99))] ?? 0;
      const postMax = postMs.at(-1) ?? 0;
      const share = (a: number, b: number) => (a - b) / windowS;
      const benchS =
        (end.benchCpu.user + end.benchCpu.system - start.benchCpu.user - start.benchCpu.system) / 1e6;
      const retried = end.trouble.retried - start.trouble.retried;
      const lost = end.trouble.lost - start.trouble.lost;
      const refused = end.refused - start.refused;
      const errors = retried + lost + refused;
      const lagP99 = lag?.p99 ?? 0;
      const row: Row = {
        listeners,
        shoutcast,
        hls,
        windowS,
        generatedPerS: share(end.generated, start.generated),
        acceptedPerS: share(end.accepted, start.accepted),
        finalizedPerS: share(end.finalized, start.finalized),
        rearmedPerS: share(end.rearmed, start.rearmed),
        lagP50: lag?.p50 ?? 0,
        lagP99,
        lagCount: lag?.n ?? 0,
        pendingDue: lag?.pending ?? 0,
        errors,
        retried,
        lost,
        refused,
        postP99,
        postMax,
        commitMs: (1000 * (end.commitS - start.commitS)) / Math.max(1, end.commits - start.commits),
        generatorLateMs: lateMs,
        cpu: {
          ingest: (end.ingestCpu - start.ingestCpu) / windowS,
          worker: (end.workerCpu - start.workerCpu) / windowS,
          postgres: end.pgCpu / windowS,
          bench: benchS / windowS,
          machine: (end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total),
        },
        keptUp: true,
        why: '',
      };
      const reasons: string[] = [];
      if (lagP99 > SWEEP_S) reasons.push(`lag p99 ${fmt(lagP99, 1)} s > sweep ${SWEEP_S} s`);
      if (errors > 0)
        reasons.push(
          `sinks: ${fmt(retried)} retries, ${fmt(lost)} events dropped; ingest: ${fmt(refused)} non-2xx`,
        );
      if (lateMs > 2000) reasons.push(`load generator ${fmt(lateMs / 1000, 1)} s behind`);
      if (row.lagCount === 0) reasons.push('no session fell due in the window');
      row.keptUp = reasons.length === 0;
      row.why = reasons.join('; ');
      rows.push(row);
      log(
        `  ${fmt(row.acceptedPerS)} events/s accepted, ${fmt(row.finalizedPerS)} finalized/s, ${fmt(row.rearmedPerS)} re-armed/s, ` +
          `lag p50 ${fmt(row.lagP50, 2)} s p99 ${fmt(row.lagP99, 2)} s over ${fmt(row.lagCount)} ids, ${row.keptUp ? 'kept up' : `did not keep up: ${row.why}`}`,
      );
      if (!row.keptUp) break;
    }
  } finally {
    for (const s of sinks.values()) await s.close({ timeoutMs: 2000 }).catch(() => {});
    for (const c of children) await stopChild(c.child).catch(() => {});
    const queue = new Queue(QUEUE, { connection: redis, prefix: PREFIX });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await redis.quit().catch(() => {});
    await db.close().catch(() => {});
    await database.drop().catch(() => {});
  }
  printTable(rows, ceiling);
}

function printTable(rows: Row[], ceiling: number): void {
  const pct = (n: number) => `${fmt(n * 100)} %`;
  const thresholdS = IDLE_S + SWEEP_S;
  console.log(
    `\nEarshot capacity: one ingest, one worker, one PostgreSQL (${cpus().length} cores, ${cpus()[0]?.model ?? 'cpu'}), ` +
      `idle ${IDLE_S} s, sweep ${SWEEP_S} s, Shoutcast ticks ${TICK_S} s, HLS segments ${SEGMENT_S} s, ` +
      `mean session ${fmt(MEAN_SESSION_S)} s, ${STEP_S} s steps measured over their last ${fmt(STEP_S - WARM_S)} s`,
  );
  console.log(`baseline: bare COPY into listen_events, 500-row batches: ${fmt(ceiling)} events/s\n`);
  console.table(
    rows.map((r, i) => ({
      step: i + 1,
      'listeners (SC / HLS)': `${fmt(r.shoutcast)} / ${fmt(r.hls)}`,
      'events/s sent / accepted': `${fmt(r.generatedPerS)} / ${fmt(r.acceptedPerS)}`,
      'commit ms': fmt(r.commitMs, 1),
      'POST p99 / max ms': `${fmt(r.postP99)} / ${fmt(r.postMax)}`,
      'of COPY': `${fmt((100 * r.acceptedPerS) / ceiling, 1)} %`,
      'finalized/s': fmt(r.finalizedPerS),
      're-armed/s': fmt(r.rearmedPerS),
      'lag p50 / p99 s': `${fmt(r.lagP50, 2)} / ${fmt(r.lagP99, 2)}`,
      'row after last event p99 / (idle+sweep)': `${fmt(IDLE_S + r.lagP99, 1)} s = ${pct((IDLE_S + r.lagP99) / thresholdS)}`,
      'CPU ingest/worker/pg/load': `${pct(r.cpu.ingest)} / ${pct(r.cpu.worker)} / ${pct(r.cpu.postgres)} / ${pct(r.cpu.bench)}`,
      'machine busy': pct(r.cpu.machine),
      'load late ms': fmt(r.generatorLateMs),
      'retries / dropped': `${fmt(r.retried)} / ${fmt(r.lost)}`,
      'kept up': r.keptUp ? 'yes' : `no: ${r.why}`,
    })),
  );
  const last = [...rows].reverse().find((r) => r.keptUp);
  const failed = rows.find((r) => !r.keptUp);
  console.log(
    last
      ? `capacity: ${fmt(last.listeners)} concurrent listeners (${fmt(last.shoutcast)} Shoutcast + ${fmt(last.hls)} HLS), ` +
          `${fmt(last.acceptedPerS)} events/s = ${fmt((100 * last.acceptedPerS) / ceiling, 1)} % of the COPY ceiling, lag p99 ${fmt(last.lagP99, 2)} s ` +
          `(${pct((IDLE_S + last.lagP99) / thresholdS)} of idle + sweep)` +
          (failed
            ? `; the next step did not keep up (${failed.why})`
            : '; every step kept up: the ramp ended before the limit')
      : `capacity: below the first step (${failed?.why ?? 'no step ran'})`,
  );
  console.log(
    '(machine busy counts every process on the machine: with other benchmarks running it is not the capacity figure.)',
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
