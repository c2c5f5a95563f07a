import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDb, type Db } from '@earshot/db';
import { createTestDatabase, type TestDatabase } from '@earshot/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, makeEvents, TOKEN } from './helpers.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const BATCH = 200;

/** Starts the real ingest (from source, through tsx) and resolves with its port once it listens. */
function startIngest(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      EARSHOT_INGEST_TOKENS: TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: '',
      // The test's events are at a fixed date: no age limit.
      EARSHOT_MAX_EVENT_AGE_S: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`ingest did not start:\n${out}\n${err}`)), 30_000);
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`ingest exited with ${code}:\n${out}\n${err}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function batchEvents(batch: number) {
  return makeEvents(BATCH, `b${batch}`, (i) => ({ session: `fault-s${(batch * 7 + i) % 50}` }));
}

async function send(port: number, batch: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(batchEvents(batch)),
  });
  await res.arrayBuffer();
  return res.status;
}

async function batchCounts(db: Db): Promise<Map<number, number>> {
  const rows = await db.query<{ batch: string; n: number }>(
    `select split_part(id, '-', 1) as batch, count(*)::int as n from listen_events group by 1`,
  );
  return new Map(rows.map((r) => [Number(r.batch.slice(1)), r.n]));
}

describe('ingest killed with SIGKILL mid-stream', () => {
  let tdb: TestDatabase;
  let db: Db;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase(ADMIN_URL, 'test_fault');
    db = await createDb({ url: tdb.url, maxConnections: 2 });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await db?.close();
    await tdb?.drop();
  });

  it('keeps every acknowledged batch exactly once, writes no batch in part, and a retry completes the rest', async () => {
    const first = await startIngest(tdb.url);
    children.push(first.child);
    const acked = new Set<number>();
    const attempted = new Set<number>();
    let next = 0;
    let dead = false;
    const sender = async () => {
      while (!dead) {
        const batch = next++;
        attempted.add(batch);
        try {
          if ((await send(first.port, batch)) === 200) acked.add(batch);
        } catch {
          return; // connection refused or reset: the process is gone
        }
      }
    };
    const senders = Array.from({ length: 6 }, sender);
    // Kill once a good number of batches went through, while requests are in flight.
    while (acked.size < 25) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    dead = true;
    await Promise.all(senders);
    await exited(first.child);

    const counts = await batchCounts(db);
    for (const batch of acked) expect(counts.get(batch), `acknowledged batch ${batch}`).toBe(BATCH);
    for (const [batch, n] of counts) expect(n, `batch ${batch} is all or nothing`).toBe(BATCH);
    expect(attempted.size).toBeGreaterThan(acked.size); // some were in flight when it died

    // The loggers retry what was not acknowledged: afterwards every batch is there exactly once.
    const second = await startIngest(tdb.url);
    children.push(second.child);
    for (const batch of attempted) if (!acked.has(batch)) expect(await send(second.port, batch)).toBe(200);
    const after = await batchCounts(db);
    expect([...after.keys()].sort((a, b) => a - b)).toEqual([...attempted].sort((a, b) => a - b));
    for (const n of after.values()) expect(n).toBe(BATCH);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  });
});
