// Memory of `earshot collect icecast` (the built CLI) counting a real Icecast 2 with many listeners:
// icecast2 with an ffmpeg source, N listeners (plain HTTP clients in this process that read and
// discard the stream), the real ingest on a throwaway PostgreSQL database. Samples the collector's
// resident memory (VmRSS) every second, with no listeners and then with N. A measurement, not a test.
//
//   pnpm --filter @earshot/cli build && pnpm --filter @earshot/cli bench:collect-icecast
//   EARSHOT_BENCH_LISTENERS=500 EARSHOT_BENCH_SECONDS=120 EARSHOT_BENCH_TICK_S=5 ...
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from '@earshot/db';
import { createTestDatabase } from '@earshot/db/testing';
import { createLogger, loadEnv, startIngest } from '@earshot/ingest';
import {
  ADMIN_PASSWORD,
  sleep,
  startFfmpegSource,
  startIcecast,
  waitFor,
  waitForMount,
} from '../src/icecast-testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../dist/cli.js');
const LISTENERS = Number(process.env.EARSHOT_BENCH_LISTENERS ?? 250);
const SECONDS = Number(process.env.EARSHOT_BENCH_SECONDS ?? 60);
const TICK_S = Number(process.env.EARSHOT_BENCH_TICK_S ?? 5);
const TOKEN = 'bench-ingest-token';

if (!existsSync(cli)) {
  console.error(`${cli} is missing: run pnpm --filter @earshot/cli build first.`);
  process.exit(1);
}

const rssKb = (pid: number): number => {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : Number.NaN;
};

const pg = await createTestDatabase(
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  'bench_collect',
);
const ingest = await startIngest(
  loadEnv({
    EARSHOT_INGEST_TOKENS: TOKEN,
    DATABASE_URL: pg.url,
    PORT: '0',
    EARSHOT_LISTENER_SALT: 'bench-listener-salt',
  }),
  createLogger('silent'),
);
const db = await createDb({ url: pg.url, maxConnections: 2 });
const icecast = await startIcecast();
const source = startFfmpegSource(icecast, '/bench.mp3');
await waitForMount(icecast, '/bench.mp3');
const collector = spawn(
  process.execPath,
  [
    cli,
    'collect',
    'icecast',
    '--icecast-url',
    icecast.url,
    '--ingest-url',
    ingest.url,
    '--mount',
    '/bench.mp3=bench-mp3',
    '--bitrate',
    '/bench.mp3=64',
    '--access-log',
    icecast.accessLog,
    '--state',
    join(icecast.dir, 'state.json'),
    '--tick',
    String(TICK_S),
  ],
  {
    env: { ...process.env, EARSHOT_ICECAST_ADMIN_PASSWORD: ADMIN_PASSWORD, EARSHOT_INGEST_TOKEN: TOKEN },
    stdio: 'ignore',
  },
);
const pid = collector.pid as number;

const idle: number[] = [];
for (let i = 0; i < 10; i++) {
  await sleep(1000);
  idle.push(rssKb(pid));
}

// Connected a few at a time: Icecast resets connections beyond its accept backlog.
const responses: IncomingMessage[] = [];
let answered = 0;
for (let i = 0; i < LISTENERS; i++) {
  get(`${icecast.url}/bench.mp3`, { agent: false }, (res) => {
    answered++;
    if (res.statusCode === 200) responses.push(res);
    res.on('data', () => {});
    res.on('error', () => {});
  }).on('error', () => {
    answered++;
  });
  if (i % 20 === 19) await sleep(100);
}
await waitFor(() => answered === LISTENERS, 30_000);
const busy: number[] = [];
for (let i = 0; i < SECONDS; i++) {
  await sleep(1000);
  busy.push(rssKb(pid));
}
const stored = await db.query<{ n: number; s: number }>(
  "select count(*)::float8 as n, count(distinct session)::float8 as s from listen_events where stream = 'bench-mp3'",
);
for (const res of responses) res.destroy();
collector.kill('SIGTERM');
await new Promise((resolve) => collector.once('exit', resolve));
source.kill('SIGKILL');
await icecast.dispose();
await db.close();
await ingest.close();
await pg.drop();

const mb = (kb: number) => (kb / 1024).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(
  `earshot collect icecast, tick ${TICK_S} s, ${SECONDS} s with listeners (node ${process.version})`,
);
console.log('| listeners connected | RSS median MB | RSS max MB | events stored | sessions |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| 0 | ${mb(median(idle))} | ${mb(Math.max(...idle))} | | |`);
console.log(
  `| ${responses.length} of ${LISTENERS} | ${mb(median(busy))} | ${mb(Math.max(...busy))} | ${stored[0]?.n ?? 0} | ${stored[0]?.s ?? 0} |`,
);
