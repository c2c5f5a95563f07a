import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './client.js';
import { openTestDb, TEST_ADMIN_URL } from './testing/index.js';

// postgres.js 3.4.9 has two ways to take a process down when a backend dies under it (a PostgreSQL
// restart, pg_terminate_backend): the array-type fetch on connect rejects with no handler (an
// unhandled rejection), and a write deferred by setImmediate can run on the closed socket (an
// uncaught TypeError; porsager/postgres#1154, #1208). patches/postgres@3.4.9.patch guards both: the
// queries in flight reject, and the process (this test run: vitest fails on unhandled errors) lives on.
describe('a PostgreSQL backend that dies under a transaction', () => {
  let db: Db;
  let dispose: () => Promise<void>;
  let dbUrl: string;
  const admin = postgres(TEST_ADMIN_URL, { max: 1, onnotice: () => {} });

  beforeAll(async () => {
    ({ db, dispose, url: dbUrl } = await openTestDb('postgres'));
  });
  afterAll(async () => {
    await dispose?.();
    await admin.end({ timeout: 5 });
  });

  it('rejects the queries in flight instead of crashing the process, and the client recovers', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const name = new URL(db.client.kind === 'postgres' ? dbUrl : '').pathname.slice(1);
      let stop = false;
      let failed = 0;
      // Small statements back to back on every pooled connection, while their backends are killed.
      const load = Array.from({ length: 4 }, async () => {
        while (!stop) {
          await db.query('select 1').catch(() => failed++);
        }
      });
      for (let round = 0; round < 20; round++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await admin`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = ${name} and pid <> pg_backend_pid()`;
      }
      stop = true;
      await Promise.all(load);
      expect(failed).toBeGreaterThan(0);
      expect(uncaught).toEqual([]);
      // Recovered: a connection killed by the last round may still fail the next query on it once
      // (PostgreSQL's termination notice arrives when it is used), then the pool reconnects.
      let answer: unknown;
      for (let attempt = 0; attempt < 5 && answer === undefined; attempt++) {
        answer = await db.query<{ one: number }>('select 1 as one').catch(() => undefined);
        if (answer === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(answer).toEqual([{ one: 1 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
