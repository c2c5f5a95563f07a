/**
 * `pnpm soak`: ingest + one worker as child processes on a private PostgreSQL and a private Redis,
 * a steady load of Shoutcast-style listen events, faults on a schedule (worker kill -9, Redis
 * restart, PostgreSQL restart and SIGSTOP, poison sessions), then the invariants: every
 * acknowledged event stored, the stored rows equal what @earshot/core computes offline, the poison
 * set aside in finalize_failures. Exits 1 when one fails. See README.md, "Soak".
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListenEvent } from '@earshot/core';
import { createDb, type Db } from '@earshot/db';
import { emptyTables, expectedTables, readTables, sortTables, type Tables } from '@earshot/db/testing';
import {
  childrenOf,
  freePort,
  type PrivatePostgres,
  postgresBinDir,
  signal,
  startPrivatePostgres,
} from '../../ingest/test/private-postgres.js';

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv: string[]) {
  const opts = { minutes: 60, rate: 5000, batch: 500, tickS: 5, inflight: 16 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}`);
    const name = m[1]!;
    const value = m[2] ?? argv[++i];
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number, got ${value}`);
    if (name === 'minutes') opts.minutes = n;
    else if (name === 'rate') opts.rate = n;
    else if (name === 'batch') opts.batch = Math.round(n);
    else if (name === 'tick') opts.tickS = n;
    else if (name === 'inflight') opts.inflight = Math.round(n);
    else throw new Error(`unknown option --${name} (--minutes, --rate, --batch, --tick, --inflight)`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const SETTINGS = { idleS: 10, maxSessionS: 86_400, minSessionS: 60 };
const SWEEP_S = 3;
const TOKEN = `soak-${randomBytes(8).toString('hex')}`;
const TAG = randomBytes(4).toString('hex');
const QUEUE = `soak-${TAG}`;
const PREFIX = `soak-${TAG}`;
const MAX_BYTES_PER_S = 10_000_000_000_000; // 1e13: lets the poison through ingest (see poison())
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const INGEST_MAIN = join(REPO, 'apps/ingest/dist/main.js');
const WORKER_MAIN = join(REPO, 'apps/worker/dist/main.js');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const t0 = Date.now();
const log = (msg: string) => console.log(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  tail(): string;
  exited: Promise<void>;
}

/** Spawns a child, keeps the last 16 KB of its output, resolves once `ready` matches it. */
function spawnProc(
  name: string,
  file: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ proc: Proc; match: RegExpExecArray }> {
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let matched = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-16_384);
      if (matched) return;
      const m = ready.exec(out);
      if (m) {
        matched = true;
        clearTimeout(timer);
        resolve({ proc: { child, tail: () => out, exited }, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, sig) => {
      if (!matched) {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? sig}) before it was ready:\n${out}`));
      } else if (!stopping && !expectedExit.has(child)) {
        log(`${name} (pid ${child.pid}) exited unexpectedly (${code ?? sig}):\n${out.slice(-3000)}`);
        unexpected.push(`${name} exited unexpectedly (${code ?? sig})`);
      }
    });
  });
}

const children = new Set<ChildProcess>();
const expectedExit = new WeakSet<ChildProcess>();
const unexpected: string[] = [];
let stopping = false;

async function killProc(proc: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  expectedExit.add(proc.child);
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
  await proc.exited;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a private instance (startPrivatePostgres), restarted and frozen here.

let pg: PrivatePostgres | undefined;
let pgData = '';
const frozen = new Set<number>();

function pgCtl(args: string[]): void {
  const bin = join(postgresBinDir(), 'pg_ctl');
  const [file, argv] =
    process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(file, argv, { stdio: 'ignore', timeout: 120_000 });
}

function postmasterPid(): number {
  return Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function freezePg(): void {
  const pm = postmasterPid();
  signal(pm, 'SIGSTOP');
  frozen.add(pm);
  for (const pid of childrenOf(pm)) {
    signal(pid, 'SIGSTOP');
    frozen.add(pid);
  }
}

function thawPg(): void {
  for (const pid of [...frozen].reverse()) signal(pid, 'SIGCONT');
  frozen.clear();
}

function restartPg(): void {
  pgCtl(['restart', '-D', pgData, '-m', 'fast', '-w', '-l', join(dirname(pgData), 'postgres.log')]);
}

// ---------------------------------------------------------------------------------------------
// Redis: a private redis-server (no persistence), killed and restarted on the same port.

let redisPort = 0;
let redis: Proc | undefined;

async function startRedis(): Promise<void> {
  const { proc } = await spawnProc(
    'redis-server',
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    {},
    /Ready to accept connections/,
  );
  redis = proc;
}

// ---------------------------------------------------------------------------------------------
// Ingest and worker

let dbUrl = '';
let ingest: Proc | undefined;
let ingestPort = 0;
let worker: Proc | undefined;
let workerPort = 0;

const sharedEnv = () => ({
  DATABASE_URL: dbUrl,
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  EARSHOT_FINALIZE_QUEUE: QUEUE,
  EARSHOT_QUEUE_PREFIX: PREFIX,
  EARSHOT_IDLE_S: String(SETTINGS.idleS),
  EARSHOT_MIN_SESSION_S: String(SETTINGS.minSessionS),
  EARSHOT_MAX_SESSION_S: String(SETTINGS.maxSessionS),
  EARSHOT_SWEEP_S: String(SWEEP_S),
  LOG_LEVEL: 'info',
});

async function startIngest(): Promise<void> {
  const { proc, match } = await spawnProc(
    'ingest',
    process.execPath,
    [INGEST_MAIN],
    {
      ...sharedEnv(),
      EARSHOT_INGEST_TOKENS: TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      EARSHOT_MAX_BYTES_PER_S: String(MAX_BYTES_PER_S),
    },
    /"port":(\d+)/,
  );
  ingest = proc;
  ingestPort = Number(match[1]);
}

/** Finalize-lag histogram of each worker incarnation (the last scrape before it died). */
const lagSnapshots: Map<number, number>[] = [];
let lagCurrent = new Map<number, number>();

async function startWorker(): Promise<void> {
  const { proc, match } = await spawnProc(
    'worker',
    process.execPath,
    [WORKER_MAIN],
    { ...sharedEnv(), PORT: '0' },
    /worker listening on :(\d+)/,
  );
  worker = proc;
  workerPort = Number(match[1]);
  lagCurrent = new Map();
  lagSnapshots.push(lagCurrent);
}

// ---------------------------------------------------------------------------------------------
// Load: sessions on a time wheel, each ticking every ~tickS seconds with duration and bytes in
// proportion; sessions end and new ones start so that about rate * tickS are open at once.

const STREAMS = [
  { stream: 'rock-mp3-128', kbps: 128 },
  { stream: 'rock-aac-64', kbps: 64 },
  { stream: 'jazz-mp3-192', kbps: 192 },
  { stream: 'news-mp3-48', kbps: 48 },
  { stream: 'classic-flac', kbps: 1000 },
  { stream: 'dance-mp3-320', kbps: 320 },
];
const UAS = [
  'VLC/3.0.20 LibVLC/3.0.20',
  'iTunes/12.12',
  'Winamp/5.9',
  'Mozilla/5.0 (Linux; Android 14)',
  'foobar2000/2.1',
  'TuneIn Radio/30.1',
];

interface Live {
  session: string;
  stream: number;
  listener: string;
  ua: string;
  last: number; // ms of the last report (or connect)
  endAt: number;
  first: boolean;
  pauseAt: number; // a reconnect with the same id after more than idle (0: none)
}

const SLOT_MS = 100;
const wheel = new Map<number, Live[]>();
let sessionCounter = 0;
let eventCounter = 0;
const pendingEvents: ListenEvent[] = [];

/** Acknowledged event ids are `e<n>`: one bit per n. */
let acked = new Uint8Array(1 << 20);
function markAcked(n: number): void {
  if (n >> 3 >= acked.length) {
    const grown = new Uint8Array(Math.max(acked.length * 2, (n >> 3) + 1));
    grown.set(acked);
    acked = grown;
  }
  acked[n >> 3]! |= 1 << (n & 7);
}
let ackedCount = 0;

function lifetimeMs(): number {
  const r = Math.random();
  if (r < 0.2) return 5_000 + Math.random() * 50_000; // short: under the minimum session
  if (r < 0.8) return 60_000 + Math.random() * 240_000;
  return 300_000 + Math.random() * 900_000;
}

function schedule(live: Live, at: number): void {
  const slot = Math.floor(at / SLOT_MS);
  const list = wheel.get(slot);
  if (list) list.push(live);
  else wheel.set(slot, [live]);
}

function newSession(now: number, phase: boolean): void {
  const n = sessionCounter++;
  const listenerN = Math.floor(Math.random() * Math.max(1000, opts.rate * opts.tickS * 2));
  const live: Live = {
    session: `s${TAG}-${n}`,
    stream: Math.floor(Math.random() * STREAMS.length),
    listener: `l${listenerN.toString(16).padStart(10, '0')}`,
    ua: UAS[n % UAS.length]!,
    last: now,
    endAt: now + lifetimeMs(),
    first: true,
    pauseAt: Math.random() < 0.05 ? now + 20_000 + Math.random() * 60_000 : 0,
  };
  const tickMs = opts.tickS * 1000;
  schedule(live, now + (phase ? Math.random() * tickMs : tickMs * (0.9 + Math.random() * 0.2)));
}

function emit(live: Live, now: number): void {
  const durationMs = Math.max(0, now - live.last);
  const kbps = STREAMS[live.stream]!.kbps;
  const bytes =
    Math.round((((durationMs / 1000) * kbps * 1000) / 8) * (0.97 + Math.random() * 0.06)) +
    (live.first ? 65_536 : 0);
  pendingEvents.push({
    id: `e${eventCounter++}`,
    session: live.session,
    stream: STREAMS[live.stream]!.stream,
    output: 'shoutcast',
    time: now,
    duration: durationMs / 1000,
    bytes,
    listener: live.listener,
    ua: live.ua,
  });
  live.first = false;
  live.last = now;
}

let lastSlot = Math.floor(Date.now() / SLOT_MS);
function advanceLoad(): void {
  const now = Date.now();
  const slot = Math.floor(now / SLOT_MS);
  const tickMs = opts.tickS * 1000;
  for (let s = lastSlot + 1; s <= slot; s++) {
    const list = wheel.get(s);
    if (!list) continue;
    wheel.delete(s);
    for (const live of list) {
      if (now >= live.endAt) {
        // The connection closes: a last, partial report; a new listener takes its place.
        live.last = Math.max(live.last, now - Math.random() * tickMs);
        emit(live, now);
        newSession(now, false);
        continue;
      }
      emit(live, now);
      if (live.pauseAt && now >= live.pauseAt) {
        // Gone for longer than idle, back with the same session id (a new session of that id).
        live.pauseAt = 0;
        const back = now + (SETTINGS.idleS + 3 + Math.random() * 10) * 1000;
        live.last = back;
        live.first = true;
        schedule(live, back + tickMs);
        continue;
      }
      schedule(live, now + tickMs * (0.9 + Math.random() * 0.2));
    }
  }
  lastSlot = slot;
}

// ---------------------------------------------------------------------------------------------
// Sending: batches, at most `inflight` at once; 503 retried after Retry-After, as a logger would.

const stats = { requests: 0, ok: 0, refused503: 0, rejected4xx: 0, networkErrors: 0, retries: 0 };
let inflight = 0;
const rejections: string[] = [];

async function postBatch(batch: ListenEvent[], onAck: () => void): Promise<void> {
  const body = JSON.stringify(batch);
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) stats.retries++;
    stats.requests++;
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${ingestPort}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body,
        signal: AbortSignal.timeout(60_000),
      });
    } catch {
      stats.networkErrors++;
      await sleep(1000 + Math.random() * 1000);
      continue;
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) {
      stats.ok++;
      onAck();
      return;
    }
    if (res.status === 503 || res.status === 429) {
      stats.refused503++;
      const after = Number(res.headers.get('retry-after') ?? '2');
      await sleep((Number.isFinite(after) ? after : 2) * 1000 * (1 + Math.random() * 0.5));
      continue;
    }
    stats.rejected4xx++;
    if (rejections.length < 5) rejections.push(`${res.status}: ${text.slice(0, 500)}`);
    return;
  }
}

function sendBatch(batch: ListenEvent[]): Promise<void> {
  inflight++;
  return postBatch(batch, () => {
    for (const e of batch) {
      const id = e.id!;
      if (id.startsWith('e')) {
        markAcked(Number(id.slice(1)));
        ackedCount++;
      } else ackedPoison.add(id);
    }
  }).finally(() => {
    inflight--;
  });
}

const inFlightPromises = new Set<Promise<void>>();
function pump(): void {
  while (pendingEvents.length > 0 && inflight < opts.inflight) {
    const batch = pendingEvents.splice(0, opts.batch);
    const p = sendBatch(batch);
    inFlightPromises.add(p);
    void p.finally(() => inFlightPromises.delete(p));
  }
}

// ---------------------------------------------------------------------------------------------
// Poison: a session whose events each pass ingest (bytes <= duration * 1e13 + 1 MiB) but whose
// bytes add up past 2^53 - 1; one event per request (a batch summing past it would be refused).

const poisonIds: string[] = [];
const ackedPoison = new Set<string>();
async function poison(k: number): Promise<void> {
  const session = `poison-${TAG}-${k}`;
  poisonIds.push(session);
  const now = Date.now();
  const events: ListenEvent[] = Array.from({ length: 16 }, (_, i) => ({
    id: `p${k}-${i}`,
    session,
    stream: 'rock-mp3-128',
    output: 'shoutcast',
    time: now + i * 10,
    duration: 60,
    bytes: 600_000_000_000_000, // 6e14: 16 of them are 9.6e15 > 2^53
  }));
  for (const e of events) await sendBatch([e]);
}

// ---------------------------------------------------------------------------------------------
// Sampling: ingest RSS, the worker's finalize-lag histogram.

const rssSamples: number[] = [];
function sampleRss(): void {
  if (!ingest?.child.pid) return;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${ingest.child.pid}/status`, 'utf8'));
    if (m) rssSamples.push(Number(m[1]) / 1024);
  } catch {
    // exited
  }
}

async function scrapeLag(): Promise<void> {
  if (!workerPort) return;
  const target = lagCurrent;
  try {
    const res = await fetch(`http://127.0.0.1:${workerPort}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    const buckets = new Map<number, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('earshot_worker_finalize_lag_seconds_bucket')) continue;
      const m = /le="([^"]+)"\}\s+(\S+)/.exec(line);
      if (!m) continue;
      const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
    target.clear();
    for (const [k, v] of buckets) target.set(k, v);
  } catch {
    // the worker is down or busy; the last scrape stands
  }
}

function lagQuantile(q: number): { value: number; count: number } {
  const sum = new Map<number, number>();
  for (const snap of lagSnapshots) for (const [le, n] of snap) sum.set(le, (sum.get(le) ?? 0) + n);
  const les = [...sum.keys()].sort((a, b) => a - b);
  const count = sum.get(Number.POSITIVE_INFINITY) ?? 0;
  if (count === 0) return { value: Number.NaN, count };
  const rank = q * count;
  let prevLe = 0;
  let prevN = 0;
  for (const le of les) {
    const n = sum.get(le)!;
    if (n >= rank) {
      if (!Number.isFinite(le)) return { value: prevLe, count }; // beyond the last bucket
      return { value: prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN), count };
    }
    prevLe = le;
    prevN = n;
  }
  return { value: prevLe, count };
}

// ---------------------------------------------------------------------------------------------
// Checks

function firstDifference<T>(name: string, stored: T[], expected: T[]): string | undefined {
  const n = Math.max(stored.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = JSON.stringify(stored[i]);
    const b = JSON.stringify(expected[i]);
    if (a !== b)
      return `${name}: ${stored.length} stored, ${expected.length} expected; first difference at ${i}:\n    stored   ${a}\n    expected ${b}`;
  }
  return undefined;
}

/** expectedTables over session-id chunks, merged (every table is a per-session row or a sum/OR over them). */
function mergeTables(into: Tables, part: Tables): void {
  into.sessions.push(...part.sessions);
  into.quarterHours.push(...part.quarterHours);
  into.shorts.push(...part.shorts);
  const minutes = new Map(into.minutes.map((r) => [`${r.stream}\u0000${r.minute}`, r]));
  for (const r of part.minutes) {
    const m = minutes.get(`${r.stream}\u0000${r.minute}`);
    if (m) {
      m.ms += r.ms;
      m.sessions += r.sessions;
    } else {
      into.minutes.push(r);
      minutes.set(`${r.stream}\u0000${r.minute}`, r);
    }
  }
  const rollup = new Map(into.rollup.map((r) => [`${r.stream}\u0000${r.quarterHour}`, r]));
  for (const r of part.rollup) {
    const m = rollup.get(`${r.stream}\u0000${r.quarterHour}`);
    if (m) {
      m.ms += r.ms;
      m.sessions += r.sessions;
      m.continuing += r.continuing;
      m.starts += r.starts;
      m.qualified = m.qualified.map((v, i) => v + r.qualified[i]!);
    } else {
      into.rollup.push(r);
      rollup.set(`${r.stream}\u0000${r.quarterHour}`, r);
    }
  }
  const months = new Map(into.listenerMonths.map((r) => [`${r.stream}\u0000${r.key}\u0000${r.month}`, r]));
  for (const r of part.listenerMonths) {
    const m = months.get(`${r.stream}\u0000${r.key}\u0000${r.month}`);
    if (m) m.qhs = [...m.qhs].map((c, i) => (c === '1' || r.qhs[i] === '1' ? '1' : '0')).join('');
    else {
      into.listenerMonths.push(r);
      months.set(`${r.stream}\u0000${r.key}\u0000${r.month}`, r);
    }
  }
}

async function pendingCount(db: Db): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `select count(*)::float8 as n from session_state s where s.finalized_seq < s.change_seq
       and not exists (select 1 from finalize_failures f where f.session = s.session)`,
  );
  return rows[0]!.n;
}

async function check(db: Db): Promise<string[]> {
  const failures: string[] = [];
  const poisonSet = new Set(poisonIds);
  const total = (await db.query<{ n: number }>('select count(*)::float8 as n from listen_events'))[0]!.n;
  const chunks = Math.max(1, Math.ceil(total / 1_500_000));
  const stored = new Uint8Array(acked.length);
  const storedPoison = new Set<string>();
  const expected = emptyTables();
  let storedEvents = 0;
  for (let c = 0; c < chunks; c++) {
    const rows = await db.query<{
      id: string;
      session: string;
      stream: string;
      output: string;
      time: number;
      duration_ms: number;
      bytes: number;
      listener: string | null;
      ua: string | null;
    }>(
      `select id, session, stream, output, (extract(epoch from time) * 1000)::float8 as time, duration_ms,
         bytes::float8 as bytes, listener, ua from listen_events
         where ($1::int = 1 or mod(abs(hashtext(session)::bigint), $1::int) = $2::int)`,
      [chunks, c],
    );
    const events: ListenEvent[] = [];
    for (const r of rows) {
      storedEvents++;
      if (r.id.startsWith('e')) {
        const n = Number(r.id.slice(1));
        if (n >> 3 < stored.length) stored[n >> 3]! |= 1 << (n & 7);
      } else storedPoison.add(r.id);
      if (poisonSet.has(r.session)) continue;
      const e: ListenEvent = {
        id: r.id,
        session: r.session,
        stream: r.stream,
        output: r.output as ListenEvent['output'],
        time: r.time,
        duration: r.duration_ms / 1000,
        bytes: r.bytes,
      };
      if (r.listener !== null) e.listener = r.listener;
      if (r.ua !== null) e.ua = r.ua;
      events.push(e);
    }
    mergeTables(expected, expectedTables(events, SETTINGS));
  }
  sortTables(expected);

  // 1. acknowledged = stored
  let missing = 0;
  const examples: number[] = [];
  for (let i = 0; i < acked.length; i++) {
    const lost = acked[i]! & ~stored[i]!;
    if (lost === 0) continue;
    for (let b = 0; b < 8; b++)
      if (lost & (1 << b)) {
        missing++;
        if (examples.length < 5) examples.push(i * 8 + b);
      }
  }
  const poisonMissing = [...ackedPoison].filter((id) => !storedPoison.has(id));
  console.log(
    `  acknowledged events: ${ackedCount + ackedPoison.size} (${ackedPoison.size} poison); stored: ${storedEvents}; acknowledged but not stored: ${missing + poisonMissing.length}`,
  );
  if (missing + poisonMissing.length > 0)
    failures.push(
      `${missing + poisonMissing.length} acknowledged events not stored (e.g. ${[...examples.map((n) => `e${n}`), ...poisonMissing].slice(0, 5).join(', ')})`,
    );

  // 2. stored rows = core offline (poison sessions excluded from both sides)
  const actual = await readTables(db);
  actual.sessions = actual.sessions.filter((r) => !poisonSet.has(r.session));
  actual.quarterHours = actual.quarterHours.filter((r) => !poisonSet.has(r.session));
  actual.shorts = actual.shorts.filter((r) => !poisonSet.has(r.session));
  const tables = ['sessions', 'quarterHours', 'shorts', 'minutes', 'rollup', 'listenerMonths'] as const;
  for (const t of tables) {
    const diff = firstDifference(t, actual[t] as unknown[], expected[t] as unknown[]);
    console.log(
      `  ${t}: ${actual[t].length} stored, ${expected[t].length} expected${diff ? '  MISMATCH' : '  ok'}`,
    );
    if (diff) failures.push(diff);
  }

  // 3. the poison is set aside, and nothing else
  const failed = await db.query<{ session: string; error: string; attempts: number }>(
    'select session, error, attempts from finalize_failures order by session',
  );
  const failedSet = new Set(failed.map((f) => f.session));
  const poisonNotSetAside = poisonIds.filter((id) => !failedSet.has(id));
  const others = failed.filter((f) => !poisonSet.has(f.session));
  console.log(
    `  finalize_failures: ${failed.length} rows; poison sessions ${poisonIds.length}, set aside ${poisonIds.length - poisonNotSetAside.length}; others ${others.length}`,
  );
  if (failed[0])
    console.log(`    e.g. ${failed[0].session}: ${failed[0].error} (attempts ${failed[0].attempts})`);
  if (poisonNotSetAside.length > 0)
    failures.push(`poison sessions not in finalize_failures: ${poisonNotSetAside.join(', ')}`);
  if (others.length > 0)
    failures.push(
      `non-poison sessions set aside: ${others
        .slice(0, 5)
        .map((f) => `${f.session} (${f.error})`)
        .join(', ')}`,
    );
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Cleanup

let cleanedUp = false;
function cleanup(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  stopping = true;
  thawPg();
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  pg?.close(); // stops the instance and removes its directory (the soak database with it)
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup();
    process.exit(130);
  });

// ---------------------------------------------------------------------------------------------
// Main

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
};

async function main(): Promise<number> {
  for (const f of [INGEST_MAIN, WORKER_MAIN])
    if (!existsSync(f)) throw new Error(`${f} is missing: run pnpm build (pnpm soak does)`);
  const durationMs = opts.minutes * 60_000;
  log(`soak: ${opts.minutes} min at ${opts.rate} events/s, batches of ${opts.batch}, tick ${opts.tickS} s`);

  pg = await startPrivatePostgres();
  const adminUrl = pg.url;
  const admin = await createDb({ url: adminUrl, migrate: false, maxConnections: 1 });
  const dbName = `soak_${TAG}`;
  pgData = (await admin.query<{ d: string }>('select current_setting($1) as d', ['data_directory']))[0]!.d;
  await admin.query(`create database ${dbName}`);
  await admin.close();
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  dbUrl = u.toString();
  redisPort = await freePort();
  await startRedis();
  await startIngest();
  await startWorker();
  log(
    `postgres ${adminUrl.replace(/\/[^/]*$/, '')} (${pgData}), redis :${redisPort}, ingest :${ingestPort} (pid ${ingest!.child.pid}), worker :${workerPort}`,
  );

  // The fault schedule, within 10%..85% of the run: rounds of worker kill, Redis restart,
  // PostgreSQL SIGSTOP (30 s), PostgreSQL restart; one round per 15 minutes (at least one).
  // Poison sessions at 1/12, 3/12, ... (every 10 minutes of a 60-minute run).
  const rounds = Math.max(1, Math.round(opts.minutes / 15));
  const kinds = ['worker-kill', 'redis-restart', 'pg-sigstop', 'pg-restart'] as const;
  const faults: { at: number; kind: (typeof kinds)[number] | 'poison'; k: number }[] = [];
  const n = rounds * kinds.length;
  for (let i = 0; i < n; i++)
    faults.push({ at: durationMs * (0.1 + ((i + 0.5) * 0.75) / n), kind: kinds[i % 4]!, k: i });
  for (let i = 0; i < 6; i++) faults.push({ at: (durationMs * (2 * i + 1)) / 12, kind: 'poison', k: i });
  faults.sort((a, b) => a.at - b.at);
  const faultCounts: Record<string, number> = {};

  const runFault = async (f: (typeof faults)[number]) => {
    faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
    log(`fault: ${f.kind}`);
    if (f.kind === 'worker-kill') {
      await killProc(worker!, 'SIGKILL');
      workerPort = 0;
      await sleep(2000);
      await startWorker();
      log(`worker restarted on :${workerPort}`);
    } else if (f.kind === 'redis-restart') {
      await killProc(redis!, 'SIGKILL');
      await sleep(2000);
      await startRedis();
    } else if (f.kind === 'pg-sigstop') {
      freezePg();
      await sleep(30_000);
      thawPg();
      log('postgres thawed');
    } else if (f.kind === 'pg-restart') {
      restartPg();
      log('postgres restarted');
    } else {
      await poison(f.k);
    }
  };

  const start = Date.now();
  const tickMs = opts.tickS * 1000;
  const concurrent = Math.max(1, Math.round(opts.rate * opts.tickS));
  for (let i = 0; i < concurrent; i++) newSession(start, true);
  lastSlot = Math.floor(start / SLOT_MS);
  let faultIdx = 0;
  let faultRunning: Promise<void> | undefined;
  let nextSample = start;
  let nextReport = start + 30_000;
  const backlog: number[] = [];
  while (Date.now() - start < durationMs) {
    if (unexpected.length > 0) break;
    advanceLoad();
    pump();
    if (!faultRunning && faultIdx < faults.length && Date.now() - start >= faults[faultIdx]!.at) {
      const f = faults[faultIdx++]!;
      faultRunning = runFault(f)
        .catch((error: unknown) => {
          unexpected.push(
            `fault ${f.kind} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        })
        .finally(() => {
          faultRunning = undefined;
        });
    }
    if (Date.now() >= nextSample) {
      nextSample += 5000;
      sampleRss();
      void scrapeLag();
      backlog.push(pendingEvents.length);
    }
    if (Date.now() >= nextReport) {
      nextReport += 30_000;
      log(
        `events generated ${eventCounter}, acknowledged ${ackedCount}, client backlog ${pendingEvents.length}, in flight ${inflight}, 503s ${stats.refused503}, ingest RSS ${rssSamples.at(-1)?.toFixed(0)} MB`,
      );
    }
    await sleep(SLOT_MS - (Date.now() % SLOT_MS));
  }
  void tickMs;
  log(`load stopped: ${eventCounter} events generated`);
  await faultRunning;

  // Drain: send what the client still holds, wait for the answers.
  const drainUntil = Date.now() + 300_000;
  while ((pendingEvents.length > 0 || inflight > 0) && Date.now() < drainUntil) {
    pump();
    sampleRss();
    await sleep(200);
  }
  if (pendingEvents.length > 0 || inflight > 0)
    unexpected.push(
      `client could not deliver its backlog (${pendingEvents.length} events, ${inflight} requests)`,
    );
  log(`delivered: ${ackedCount} events acknowledged`);

  const db = await createDb({ url: dbUrl, migrate: false, maxConnections: 4 });
  try {
    const waitStart = Date.now();
    let pending = -1;
    while (Date.now() - waitStart < 600_000) {
      pending = await pendingCount(db).catch(() => -1);
      if (pending === 0) break;
      await scrapeLag();
      await sleep(1000);
    }
    log(`pending after ${((Date.now() - waitStart) / 1000).toFixed(0)} s: ${pending}`);
    await scrapeLag();
    if (pending !== 0)
      unexpected.push(`${pending} session ids still pending 10 minutes after the load stopped`);

    console.log('\n=== soak results ===');
    console.log(
      `  run: ${opts.minutes} min at ${opts.rate} events/s target (${(ackedCount / (durationMs / 1000)).toFixed(0)}/s acknowledged on average)`,
    );
    console.log(
      `  requests ${stats.requests}: 2xx ${stats.ok}, 503 ${stats.refused503} (retried), 4xx ${stats.rejected4xx}, network errors ${stats.networkErrors}; retries ${stats.retries}`,
    );
    console.log(`  client backlog (events waiting to be sent): max ${Math.max(0, ...backlog)}`);
    console.log(
      `  faults: ${Object.entries(faultCounts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    console.log(
      `  ingest RSS MB (${rssSamples.length} samples): min ${quantile(rssSamples, 0).toFixed(0)}, median ${quantile(rssSamples, 0.5).toFixed(0)}, max ${Math.max(...rssSamples).toFixed(0)}`,
    );
    const p50 = lagQuantile(0.5);
    const p99 = lagQuantile(0.99);
    console.log(
      `  finalize lag (worker histogram, ${p50.count} finalizations over ${lagSnapshots.length} worker processes): p50 ${p50.value.toFixed(2)} s, p99 ${p99.value.toFixed(2)} s`,
    );
    const failures = [...rejections.map((r) => `ingest refused a batch: ${r}`), ...(await check(db))];
    failures.unshift(...unexpected);
    if (failures.length > 0) {
      console.log('\nFAILED:');
      for (const f of failures) console.log(`  - ${f}`);
      return 1;
    }
    console.log('\nall invariants hold');
    return 0;
  } finally {
    await db.close().catch(() => {});
  }
}

main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    if (ingest) console.error(`--- ingest output ---\n${ingest.tail().slice(-3000)}`);
    if (worker) console.error(`--- worker output ---\n${worker.tail().slice(-3000)}`);
    cleanup();
    process.exit(1);
  },
);
