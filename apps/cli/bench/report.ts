// Benchmark of `earshot report --events FILE --format json` on a generated file of 1M listen events
// (a 330-listener station's whole day), against the floor of reading, splitting and JSON.parse-ing
// the same file (bench/floor.mjs). Prints a table and the goals of issue 14 as ratios measured in
// this run: wall time within 1.5x of the floor's, peak RSS under half the file's size. It is a
// measurement, not a timed test.
//
// The floor is single-threaded on purpose: it is the physical cost of the work one reader does
// (read, split, JSON.parse every line), and the CLI reads with one thread by default on machines
// under 4 cores (like this one), so the ratio compares like with like. A multi-threaded floor would
// only measure the same per-line work divided by the cores the bench happened to get.
//
//   pnpm bench                             (root: builds, then runs every package's bench)
//   EARSHOT_BENCH_EVENTS=200000 EARSHOT_BENCH_RUNS=5 pnpm --filter @earshot/cli bench
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { streamStation } from '@earshot/simulate';
import { defaultThreads } from '../src/read-file.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../dist/cli.js');
const probe = join(here, 'rusage-probe.cjs');
const floor = join(here, 'floor.mjs');
const EVENTS = Number(process.env.EARSHOT_BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.EARSHOT_BENCH_RUNS ?? 3);
/** Goals (issue 14): wall time at most this many times the floor's; peak RSS under this share of the file. */
const GOAL_TIME_RATIO = 1.5;
const GOAL_RSS_SHARE = 0.5;

if (!existsSync(cli)) {
  console.error(`${cli} is missing: run pnpm build first (pnpm bench at the root does).`);
  process.exit(1);
}

async function generate(path: string): Promise<{ events: number; ms: number }> {
  const started = performance.now();
  const out = createWriteStream(path);
  let events = 0;
  let buffer: string[] = [];
  const flush = async () => {
    if (!out.write(buffer.join(''))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    buffer = [];
  };
  for (const event of streamStation({
    seed: 'earshot-bench',
    start: '2026-11-03T00:00:00-05:00',
    hours: 24,
    listeners: 330,
    tz: 'America/New_York',
  })) {
    buffer.push(`${JSON.stringify(event)}\n`);
    if (++events >= EVENTS) break;
    if (buffer.length === 10_000) await flush();
  }
  await flush();
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return { events, ms: performance.now() - started };
}

interface Measured {
  ms: number;
  maxRssKiB: number;
  cpuMs: number;
  stdoutBytes: number;
}

/** Runs `node --require probe ...args` once; wall time from spawn to exit, rusage from the child. */
function measure(args: string[], dir: string): Promise<Measured> {
  const usageFile = join(dir, 'rusage.json');
  rmSync(usageFile, { force: true });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', probe, ...args], {
      env: { ...process.env, EARSHOT_BENCH_RUSAGE: usageFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Output is drained and counted, like > /dev/null.
    let stdoutBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}`));
      const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as {
        maxRssKiB: number;
        userUs: number;
        systemUs: number;
      };
      resolve({ ms, maxRssKiB: usage.maxRssKiB, cpuMs: (usage.userUs + usage.systemUs) / 1000, stdoutBytes });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1e6, 1)} MB`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-'));
try {
  const file = join(dir, 'events.ndjson');
  const generated = await generate(file);
  const size = statSync(file).size;
  console.log(
    `events file: ${fmt(generated.events)} events, ${mb(size)}, generated in ${fmt(generated.ms / 1000, 1)} s (${file})`,
  );
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${RUNS} runs each, medians; wall time includes node start-up\n`,
  );

  const cases: { name: string; args: string[] }[] = [
    { name: 'floor: read + split lines + JSON.parse', args: [floor, file] },
    {
      name: `earshot report --format json (default: ${defaultThreads(file, size)} thread${defaultThreads(file, size) === 1 ? '' : 's'})`,
      args: [cli, 'report', '--events', file, '--format', 'json'],
    },
    {
      name: 'earshot report --format json --threads 2',
      args: [cli, 'report', '--events', file, '--format', 'json', '--threads', '2'],
    },
  ];
  const results: { name: string; runs: Measured[] }[] = cases.map((c) => ({ name: c.name, runs: [] }));
  // Interleaved, so that drift of the machine hits both alike.
  for (let run = 0; run < RUNS; run++) {
    for (let i = 0; i < cases.length; i++) results[i]!.runs.push(await measure(cases[i]!.args, dir));
  }
  const rows = results.map(({ name, runs }) => {
    const ms = median(runs.map((r) => r.ms));
    const rss = median(runs.map((r) => r.maxRssKiB * 1024));
    return {
      name,
      ms,
      rss,
      cpu: median(runs.map((r) => r.cpuMs)),
      all: runs.map((r) => fmt(r.ms / 1000, 2)).join(' '),
    };
  });
  console.log(
    table(
      ['run', 'wall s', 'events/s', 'CPU s', 'max RSS', 'RSS/file', 'runs (s)'],
      rows.map((r) => [
        r.name,
        fmt(r.ms / 1000, 2),
        fmt(generated.events / (r.ms / 1000)),
        fmt(r.cpu / 1000, 2),
        mb(r.rss),
        `${fmt((r.rss / size) * 100)} %`,
        r.all,
      ]),
    ),
  );
  const [base, report, two] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  console.log(
    `\nreport / floor: ${fmt(report.ms / base.ms, 2)}x wall time by default, ${fmt(two.ms / base.ms, 2)}x with 2 threads` +
      ` (CPU time ${fmt(report.cpu / base.cpu, 2)}x and ${fmt(two.cpu / base.cpu, 2)}x)`,
  );
  const timeRatio = report.ms / base.ms;
  const rssShare = report.rss / size;
  console.log(
    `goal: wall time <= ${GOAL_TIME_RATIO}x the floor: ${fmt(report.ms / 1000, 2)} s / ${fmt(base.ms / 1000, 2)} s = ` +
      `${fmt(timeRatio, 2)}x ${timeRatio <= GOAL_TIME_RATIO ? 'met' : 'MISSED'}`,
  );
  console.log(
    `goal: peak RSS < ${fmt(GOAL_RSS_SHARE * 100)} % of the file: ${mb(report.rss)} / ${mb(size)} = ` +
      `${fmt(rssShare * 100)} % ${rssShare < GOAL_RSS_SHARE ? 'met' : 'MISSED'} (the floor's own: ${fmt((base.rss / size) * 100)} %)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
