import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import { createDb, type Db, finalizeSessions, insertEvents } from '@earshot/db';
import { createTestDatabase, type TestDatabase } from '@earshot/db/testing';
import { generateStation, toNdjson } from '@earshot/simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SETTINGS = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };
const TZ = 'America/New_York';

const run = (args: string[], env: Record<string, string>) => runCli(args, { env });

/** Loads events as ingest does and finalizes every session id as the worker does. */
async function load(db: Db, events: readonly ListenEvent[]): Promise<void> {
  const ids = new Set<string>();
  for (let i = 0; i < events.length; i += 2000) {
    for (const id of (await insertEvents(db, events.slice(i, i + 2000), { idleS: SETTINGS.idleS })).sessions)
      ids.add(id);
  }
  await finalizeSessions(db, [...ids], SETTINGS, { force: true });
}

// The table's first lines name the source (a file, or the database) and the events read.
const body = (table: string) =>
  table
    .split('\n')
    .filter((line) => !line.startsWith('Earshot listener report:') && !line.startsWith('Events '))
    .join('\n');

const VARIANTS: string[][] = [
  ['--format', 'json', '--tz', TZ, '--daypart', 'AM drive', '--stream', 'main', '--aqh-qualifier', '180'],
  [
    '--format',
    'csv',
    '--part',
    'minutes',
    '--from',
    '2026-11-02T06:00',
    '--to',
    '2026-11-02T10:00',
    '--tz',
    TZ,
  ],
  ['--tz', TZ, '--daypart', 'Mon-Fri 06:00-10:00'],
];
// Offline outputs, computed once and compared with both databases.
const offline: Record<string, ReturnType<typeof run>> = {};

describe('earshot report from the database', () => {
  let dir: string;
  let file: string;
  let pg: TestDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'earshot-cli-db-'));
    const events = generateStation({
      seed: 'cli-db',
      start: '2026-11-02T10:00:00Z',
      hours: 6,
      listeners: 10,
      tz: TZ,
      userAgents: true,
    });
    file = join(dir, 'events.ndjson');
    writeFileSync(file, toNdjson(events));
    const embedded = await createDb({ url: `file:${join(dir, 'db')}` });
    await load(embedded, events);
    await embedded.close();
    pg = await createTestDatabase(ADMIN_URL);
    const server = await createDb({ url: pg.url, maxConnections: 4 });
    await load(server, events);
    await server.close();
  }, 180_000);

  afterAll(async () => {
    await pg?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['embedded PGlite (EARSHOT_DATA_DIR)', () => ({ EARSHOT_DATA_DIR: join(dir, 'db') })],
    ['PostgreSQL (DATABASE_URL)', () => ({ DATABASE_URL: pg.url })],
  ])('prints the same report as --events, from %s', async (_name, env) => {
    for (const args of VARIANTS) {
      offline[args.join(' ')] ??= run(['report', '--events', file, ...args], {});
      const [off, fromDb] = await Promise.all([offline[args.join(' ')]!, run(['report', ...args], env())]);
      const offline_ = off;
      expect(offline_.code, offline_.stderr).toBe(0);
      expect(fromDb.code, fromDb.stderr).toBe(0);
      if (args.includes('--format')) expect(fromDb.stdout, args.join(' ')).toBe(offline_.stdout);
      else expect(body(fromDb.stdout)).toBe(body(offline_.stdout));
      if (args.includes('json')) expect(JSON.parse(fromDb.stdout).summary.length).toBeGreaterThan(0);
    }
  });

  it('refuses session settings the database was not finalized with, and a missing database', async () => {
    const idle = await run(['report', '--idle', '600'], { DATABASE_URL: pg.url });
    expect(idle.code).toBe(2);
    expect(idle.stderr).toMatch(/--idle: the database holds sessions finalized with 300 s/);
    const none = await run(['report'], { EARSHOT_DATA_DIR: join(dir, 'nowhere') });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no database/);
  });
});

describe('earshot migrate and earshot retention', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(ADMIN_URL, 'test_cli_retention');
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('creates the tables, then drops only the raw-event days older than --keep-days', async () => {
    const env = { DATABASE_URL: database.url };
    const migrated = await run(['migrate'], env);
    expect(migrated, migrated.stderr).toMatchObject({ code: 0 });
    expect(migrated.stdout).toContain('migrated');

    const db = await createDb({ url: database.url, migrate: false });
    try {
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const events: ListenEvent[] = [3, 1, 0].map((daysAgo) => ({
        id: `e-${daysAgo}`,
        session: `s-${daysAgo}`,
        stream: 'main',
        output: 'shoutcast',
        time: today - daysAgo * 86_400_000 + 3_600_000,
        duration: 30,
        bytes: 1,
      }));
      await insertEvents(db, events, { idleS: 300 });
      // With ingest's defaults (events up to 7 days old, sessions up to a day), 2 days is too few.
      const tooFew = await run(['retention', '--keep-days', '2'], env);
      expect(tooFew.code).toBe(2);
      expect(tooFew.stderr).toContain('--keep-days: must be at least 9');
      const short = { ...env, EARSHOT_MAX_EVENT_AGE_S: '3600', EARSHOT_MAX_SESSION_S: '3600' };
      expect((await run(['retention', '--keep-days', '2', '--dry-run'], short)).code).toBe(0);
      const dryRun = await run(['retention', '--keep-days', '2', '--dry-run'], short);
      expect(dryRun.stdout).toMatch(/^would drop 1 partition\(s\)/);
      const count = async () =>
        (await db.query<{ n: number }>('select count(*)::int as n from listen_events'))[0]!.n;
      expect(await count()).toBe(3);
      const kept = await run(['retention', '--keep-days', '2'], short);
      expect(kept, kept.stderr).toMatchObject({ code: 0 });
      expect(kept.stdout).toMatch(/^dropped 1 partition\(s\)/);
      expect(await db.query('select session from listen_events order by session')).toEqual([
        { session: 's-0' },
        { session: 's-1' },
      ]);
      const bad = await run(['retention', '--keep-days', '0'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--keep-days');
    } finally {
      await db.close();
    }
  });
});
