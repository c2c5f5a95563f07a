import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from './client.js';
import { insertEvents } from './events.js';
import { finalizeSessions } from './finalize/index.js';
import { MIGRATIONS_FOLDER, migrate } from './migrate.js';
import { createTestDatabase, TEST_ADMIN_URL, type TestDatabase } from './testing/index.js';

const SETTINGS = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };
const T0 = Date.UTC(2026, 10, 2, 7, 5);

// Sessions that exercise the rollup: one across three quarter-hours, one with a gap (it left for
// 40 minutes under the same id: two sessions), one short, and two listeners on two streams.
function events(): ListenEvent[] {
  const out: ListenEvent[] = [];
  let n = 0;
  const tick = (
    session: string,
    stream: string,
    listener: string | undefined,
    from: number,
    count: number,
  ) => {
    for (let i = 1; i <= count; i++) {
      out.push({
        id: `e${n++}`,
        session,
        stream,
        output: 'shoutcast',
        time: from + i * 30_000,
        duration: 30,
        bytes: 16_000,
        ...(listener ? { listener } : {}),
      });
    }
  };
  tick('a', 'rock', 'L1', T0, 70);
  tick('b', 'rock', 'L2', T0 + 120_000, 10);
  tick('b', 'rock', 'L2', T0 + 3_000_000, 50);
  tick('c', 'jazz', undefined, T0 + 60_000, 1);
  tick('d', 'jazz', 'L1', T0 + 600_000, 33);
  return out;
}

const ROLLUP_SQL = `select stream, (extract(epoch from quarter_hour) * 1000)::float8 as qh, ms::float8 as ms, sessions,
  continuing, starts, qualified from stream_quarter_hours order by stream, quarter_hour`;
const LINKS_SQL = `select session, (extract(epoch from quarter_hour) * 1000)::float8 as qh,
  (extract(epoch from prev_quarter_hour) * 1000)::float8 as prev, continues
  from session_quarter_hours order by session, quarter_hour`;

const MONTHS_SQL = `select t.stream, (extract(epoch from t.month) * 1000)::float8 as month, k.key, t.qhs::text as qhs
  from stream_listener_months t join listener_keys k on k.id = t.key_id order by 1, 2, 3`;

describe('migrations 0001 (quarter-hour rollup) and 0002 (listener months) on a database finalized before them', () => {
  let before: TestDatabase;
  let folder: string;
  let worker: Db;

  beforeAll(async () => {
    // The rows as today's worker writes them: the reference for the backfill.
    worker = await createDb({ url: 'memory:' });
    await insertEvents(worker, events(), { idleS: SETTINGS.idleS });
    await finalizeSessions(worker, ['a', 'b', 'c', 'd'], SETTINGS, { force: true });
    // A migrations folder that stops at 0000.
    folder = await mkdtemp(join(tmpdir(), 'earshot-migrations-'));
    await cp(MIGRATIONS_FOLDER, folder, { recursive: true });
    const journalPath = join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
    journal.entries = journal.entries.filter((e) => e.tag.startsWith('0000_'));
    await writeFile(journalPath, JSON.stringify(journal));
    before = await createTestDatabase(TEST_ADMIN_URL, 'migration');
  });

  afterAll(async () => {
    await worker?.close();
    await before?.drop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  for (const driver of ['postgres', 'pglite'] as const) {
    it(`backfills what the worker maintains (${driver})`, async () => {
      const db = await createDb({ url: driver === 'postgres' ? before.url : 'memory:', migrate: false });
      try {
        await migrate(db, { migrationsFolder: folder });
        // Copy the finalized rows in the 0000 shape.
        const sessions = await worker.query<Record<string, unknown>>(
          `select session, start::text, stream, output, "end"::text, elapsed_ms, duration_ms, bytes, listener, ua,
            first_minute::text, minute_ms::text from sessions`,
        );
        for (const s of sessions) {
          await db.query(
            `insert into sessions (session, start, stream, output, "end", elapsed_ms, duration_ms, bytes, listener, ua,
              first_minute, minute_ms) values ($1, $2::timestamptz, $3, $4, $5::timestamptz, $6, $7, $8, $9, $10,
              $11::timestamptz, $12::int[])`,
            Object.values(s),
          );
        }
        const rows = await worker.query<Record<string, unknown>>(
          'select session, session_start::text, stream, quarter_hour::text, ms, listener from session_quarter_hours',
        );
        for (const r of rows) {
          await db.query(
            `insert into session_quarter_hours (session, session_start, stream, quarter_hour, ms, listener)
              values ($1, $2::timestamptz, $3, $4::timestamptz, $5, $6)`,
            Object.values(r),
          );
        }
        expect(sessions.length).toBe(4);
        await migrate(db);
        const expected = await worker.query(ROLLUP_SQL);
        expect(expected.length).toBeGreaterThan(4);
        expect(await db.query(ROLLUP_SQL)).toEqual(expected);
        expect(await db.query(LINKS_SQL)).toEqual(await worker.query(LINKS_SQL));
        const months = await worker.query(MONTHS_SQL);
        expect(months.length).toBe(3); // L1 on rock and on jazz, L2 on rock (session c is short)
        expect(await db.query(MONTHS_SQL)).toEqual(months);
      } finally {
        await db.close();
      }
    });
  }
});
