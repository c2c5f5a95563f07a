// Ingest benchmark (run by `pnpm bench`): on loopback, against PostgreSQL, in one run:
//   1. batches of 500 events through ingest (autocannon) vs the raw PostgreSQL ceiling measured by a
//      bare script (COPY and unnest, same 500-row batches, same table, each batch committed);
//   2. single-event requests through ingest vs a bare Hono route on the same server setup
//      (bench/bare-server.ts: @hono/node-server's serve, the same node binary and flags, ingest's own
//      readBody and parseItems on the same JSON, the same response shape; no auth, validation,
//      database or metrics);
//   3. latency percentiles and the ingest process's peak RSS.
// Uses a fresh database (dropped after). Prints a table. Not a timed test: the machine is shared
// and noisy, so compare the ratios measured within one run.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDb, ensureEventPartitions, insertEvents, utcDayOf } from '@earshot/db';
import { createTestDatabase, TEST_ADMIN_URL } from '@earshot/db/testing';
import autocannon from 'autocannon';
import { peakRssMb, startChild, stopChild } from './child.js';
import {
  RAW_BATCH as BATCH,
  RAW_DAY0 as DAY0,
  nextBatch,
  nextEvent,
  rawClient,
  rawRun,
} from './raw-ceiling.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? TEST_ADMIN_URL;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const TOKEN = 'bench-token-0123456789';
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

async function cannon(port: number, connections: number, body: () => string) {
  // Warm up (JIT, connection pools, partitions) before measuring.
  await autocannon({
    url: `http://127.0.0.1:${port}/v1/events`,
    connections,
    duration: 2,
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/events`,
    connections,
    duration: DURATION_S,
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`bench run had ${result.non2xx} non-2xx responses and ${result.errors} errors`);
  }
  return result;
}

// --- main --------------------------------------------------------------------------------------
async function main() {
  const tdb = await createTestDatabase(ADMIN_URL, 'bench');
  const children: ChildProcess[] = [];
  const rows: [string, string, string][] = [];
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  try {
    const db = await createDb({ url: tdb.url });
    await ensureEventPartitions(db, [utcDayOf(DAY0)]);
    const truncate = () => db.query('truncate listen_events, session_state');

    // 1a. Raw PostgreSQL ceiling.
    const sql = rawClient(tdb.url, 4);
    const raw: Record<string, number> = {};
    for (const method of ['copy', 'unnest'] as const) {
      for (const c of [1, 4]) {
        await rawRun(sql, method, c, 20); // warm-up
        await truncate();
        raw[`${method} c=${c}`] = await rawRun(sql, method, c, 200);
      }
    }
    await sql.end();
    const [ceilingName, ceiling] = Object.entries(raw).sort((a, b) => b[1] - a[1])[0]!;

    // 1b. The library hot path alone (with session_state), for the breakdown.
    const lib: Record<string, number> = {};
    for (const method of ['unnest', 'copy'] as const) {
      await truncate();
      let left = 200;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (left-- > 0) await insertEvents(db, nextBatch(BATCH), { idleS: 300, method });
        }),
      );
      lib[method] = (200 * BATCH) / ((performance.now() - started) / 1000);
    }
    await truncate();
    await db.close();

    // 1c. Ingest, 500-event batches.
    const main = existsSync(`${APP_DIR}/dist/main.js`)
      ? ['dist/main.js']
      : ['--import', 'tsx', 'src/main.ts'];
    const ingest = await startChild(APP_DIR, main, {
      DATABASE_URL: tdb.url,
      EARSHOT_INGEST_TOKENS: TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info', // startup lines only; requests log at debug
      REDIS_URL: '',
      EARSHOT_MAX_EVENT_AGE_S: '0', // the generated events are at a fixed date
    });
    children.push(ingest.child);
    const batchRun = await cannon(ingest.port, 16, () => JSON.stringify(nextBatch(BATCH)));
    const batchEventsPerS = (batchRun['2xx'] * BATCH) / batchRun.duration;

    // 2. Single-event requests: ingest vs a bare Hono route.
    const singleRun = await cannon(ingest.port, 50, () => JSON.stringify([nextEvent()]));
    const rss = peakRssMb(ingest.child.pid!);
    const metrics = await (
      await fetch(`http://127.0.0.1:${ingest.port}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).text();
    const groups = Number(/earshot_ingest_groups_total\{outcome="committed"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const requests = Number(
      /earshot_ingest_requests_total\{route="\/v1\/events",status="200"\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    const accepted = Number(/earshot_ingest_events_accepted_total (\d+)/.exec(metrics)?.[1] ?? 0);
    await stopChild(ingest.child);

    const bare = await startChild(APP_DIR, ['--import', 'tsx', 'bench/bare-server.ts'], {});
    children.push(bare.child);
    const bareRun = await cannon(bare.port, 50, () => JSON.stringify([nextEvent()]));
    await stopChild(bare.child);

    // Cross-check: what the database holds is what was acknowledged.
    const check = await createDb({ url: tdb.url, migrate: false });
    const stored = Number(
      (await check.query<{ n: string }>('select count(*) as n from listen_events'))[0]!.n,
    );
    await check.close();

    for (const [name, v] of Object.entries(raw))
      rows.push([
        `raw PostgreSQL ${name}, 500-row batches`,
        `${fmt(v)} events/s`,
        name === ceilingName ? 'ceiling' : '',
      ]);
    for (const [name, v] of Object.entries(lib))
      rows.push([
        `insertEvents (${name}, + session_state) c=4`,
        `${fmt(v)} events/s`,
        `${((v / ceiling) * 100).toFixed(0)} % of ceiling`,
      ]);
    rows.push([
      'ingest HTTP, 500-event batches, c=16',
      `${fmt(batchEventsPerS)} events/s`,
      `${((batchEventsPerS / ceiling) * 100).toFixed(0)} % of ceiling (goal >= 70 %)`,
    ]);
    rows.push(['  latency p50 / p99', `${batchRun.latency.p50} / ${batchRun.latency.p99} ms`, '']);
    rows.push([
      'ingest HTTP, single-event requests, c=50',
      `${fmt(singleRun.requests.average)} req/s`,
      `${((singleRun.requests.average / bareRun.requests.average) * 100).toFixed(0)} % of bare (goal >= 60 %)`,
    ]);
    rows.push(['  latency p50 / p99', `${singleRun.latency.p50} / ${singleRun.latency.p99} ms`, '']);
    rows.push(['bare Hono route, single-event, c=50', `${fmt(bareRun.requests.average)} req/s`, '']);
    rows.push(['  latency p50 / p99', `${bareRun.latency.p50} / ${bareRun.latency.p99} ms`, '']);
    rows.push(['ingest peak RSS (VmHWM)', `${rss.toFixed(0)} MB`, 'goal < 200 MB']);
    rows.push([
      'ingest group commit',
      `${fmt(requests)} requests in ${fmt(groups)} transactions`,
      `${(requests / Math.max(groups, 1)).toFixed(1)} requests/transaction`,
    ]);
    rows.push([
      'rows in listen_events / acknowledged as new',
      `${fmt(stored)} / ${fmt(accepted)}`,
      stored === accepted ? 'equal' : 'MISMATCH',
    ]);

    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    console.log(
      `\nEarshot ingest benchmark (${DURATION_S} s per HTTP run, loopback, PostgreSQL, no Redis)\n`,
    );
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await tdb.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
