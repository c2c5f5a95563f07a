import type { ChildProcess } from 'node:child_process';
import { createDb, type Db } from '@earshot/db';
import { createTestDatabase, TEST_ADMIN_URL, type TestDatabase } from '@earshot/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, makeEvents, spawnIngest, TOKEN } from './helpers.js';

const BATCH = 200;

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
    tdb = await createTestDatabase(TEST_ADMIN_URL, 'test_fault');
    db = await createDb({ url: tdb.url, maxConnections: 2 });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await db?.close();
    await tdb?.drop();
  });

  it('keeps every acknowledged batch exactly once, writes no batch in part, and a retry completes the rest', async () => {
    const first = await spawnIngest(tdb.url);
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
    const second = await spawnIngest(tdb.url);
    children.push(second.child);
    for (const batch of attempted) if (!acked.has(batch)) expect(await send(second.port, batch)).toBe(200);
    const after = await batchCounts(db);
    expect([...after.keys()].sort((a, b) => a - b)).toEqual([...attempted].sort((a, b) => a - b));
    for (const n of after.values()) expect(n).toBe(BATCH);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  });
});
