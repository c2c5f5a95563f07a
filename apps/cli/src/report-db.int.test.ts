import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import { createDb, type Db, finalizeSessions, insertEvents, writeComponentSettings } from '@earshot/db';
import { createTestDatabase, TEST_ADMIN_URL, type TestDatabase } from '@earshot/db/testing';
import { generateStation, toNdjson } from '@earshot/simulate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './testing.js';

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
    pg = await createTestDatabase(TEST_ADMIN_URL);
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
  let db: Db;
  let env: Record<string, string>;
  const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const daysAgo = (n: number) => today - n * 86_400_000 + 3_600_000;
  const event = (n: number, session = `s-${n}`): ListenEvent => ({
    id: `e-${session}-${n}`,
    session,
    stream: 'main',
    output: 'shoutcast',
    time: daysAgo(n),
    duration: 30,
    bytes: 1,
  });
  const sessionsLeft = async () =>
    (await db.query<{ session: string }>('select distinct session from listen_events order by session')).map(
      (r) => r.session,
    );
  // Ingest's settings as a short-retention deployment stores them at its start.
  const SHORT = { maxEventAgeS: 3600, maxEventAheadS: 300 };

  beforeEach(async () => {
    database = await createTestDatabase(TEST_ADMIN_URL, 'test_cli_retention');
    env = { DATABASE_URL: database.url };
    const migrated = await run(['migrate'], env);
    expect(migrated, migrated.stderr).toMatchObject({ code: 0 });
    expect(migrated.stdout).toContain('migrated');
    db = await createDb({ url: database.url, migrate: false });
    // Three days with one session each, finalized as the worker does.
    await insertEvents(
      db,
      [3, 1, 0].map((n) => event(n)),
      { idleS: 300 },
    );
    await finalizeSessions(db, ['s-0', 's-1', 's-3'], SETTINGS, { force: true });
  });

  afterEach(async () => {
    await db?.close();
    await database?.drop();
  });

  it('drops only the raw-event days older than --keep-days, with the limits of this environment when ingest stored none', async () => {
    // With ingest's defaults (events up to 7 days old, sessions up to a day), 2 days is too few.
    const tooFew = await run(['retention', '--keep-days', '2'], env);
    expect(tooFew.code).toBe(2);
    expect(tooFew.stderr).toContain(
      '--keep-days: must be at least 9: ingest accepts events up to 604800 s old (the default of EARSHOT_MAX_EVENT_AGE_S: ingest stored none in this database)',
    );
    const short = { ...env, EARSHOT_MAX_EVENT_AGE_S: '3600', EARSHOT_MAX_SESSION_S: '3600' };
    const dryRun = await run(['retention', '--keep-days', '2', '--dry-run'], short);
    expect(dryRun, dryRun.stderr).toMatchObject({ code: 0 });
    expect(dryRun.stdout).toMatch(/^would drop 1 partition\(s\)/);
    expect(dryRun.stdout).toContain(
      'max event age 3600 s (EARSHOT_MAX_EVENT_AGE_S of this environment: ingest stored none in this database), max session 3600 s',
    );
    expect(await sessionsLeft()).toEqual(['s-0', 's-1', 's-3']);
    const kept = await run(['retention', '--keep-days', '2'], short);
    expect(kept, kept.stderr).toMatchObject({ code: 0 });
    expect(kept.stdout).toMatch(/^dropped 1 partition\(s\) before \d{4}-\d{2}-\d{2}: listen_events_\d{8}\n/);
    expect(await sessionsLeft()).toEqual(['s-0', 's-1']);
    const bad = await run(['retention', '--keep-days', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--keep-days');
  });

  it('takes the max event age ingest stored over its own environment', async () => {
    await writeComponentSettings(db, 'ingest', { maxEventAgeS: 7 * 86_400, maxEventAheadS: 300 });
    // This environment says an hour; the running ingest takes a week.
    const short = { ...env, EARSHOT_MAX_EVENT_AGE_S: '3600', EARSHOT_MAX_SESSION_S: '3600' };
    const refused = await run(['retention', '--keep-days', '2'], short);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /--keep-days: must be at least 9: ingest accepts events up to 604800 s old \(stored by ingest at \d{4}-\d\d-\d\dT[\d:.]+Z\)/,
    );
    expect(await sessionsLeft()).toEqual(['s-0', 's-1', 's-3']);
    // And the other way round: ingest stored an hour, this environment has the 7-day default.
    await writeComponentSettings(db, 'ingest', SHORT);
    const dropped = await run(['retention', '--keep-days', '2'], { ...env, EARSHOT_MAX_SESSION_S: '3600' });
    expect(dropped, dropped.stderr).toMatchObject({ code: 0 });
    expect(dropped.stdout).toMatch(/^dropped 1 partition\(s\)/);
    expect(dropped.stdout).toMatch(
      /max event age 3600 s \(stored by ingest at [^)]+\), max session 3600 s\n$/,
    );
    expect(await sessionsLeft()).toEqual(['s-0', 's-1']);
  });

  it('drops nothing when ingest accepts events of any age', async () => {
    await writeComponentSettings(db, 'ingest', { maxEventAgeS: 0, maxEventAheadS: 300 });
    for (const args of [
      ['--keep-days', '2'],
      ['--keep-days', '400', '--dry-run'],
    ]) {
      const refused = await run(['retention', ...args], { ...env, EARSHOT_MAX_EVENT_AGE_S: '3600' });
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        /^earshot retention: nothing dropped: ingest accepts events of any age \(max event age 0, stored by ingest at [^)]+\)/,
      );
    }
    expect(await sessionsLeft()).toEqual(['s-0', 's-1', 's-3']);
  });

  it('keeps the days of sessions not finalized yet and says which and why', async () => {
    await writeComponentSettings(db, 'ingest', SHORT);
    // A late event for s-3 half an hour into day -2 reopens its id: its next finalization may read
    // from up to a session (an hour here) before it, that is from day -3 on.
    const late = { ...event(2, 's-3'), id: 'late', time: today - 2 * 86_400_000 + 1_800_000 };
    await insertEvents(db, [late], { idleS: 300 });
    const short = { ...env, EARSHOT_MAX_SESSION_S: '3600' };
    const kept = await run(['retention', '--keep-days', '2'], short);
    expect(kept, kept.stderr).toMatchObject({ code: 0 });
    const day = (n: number) =>
      `listen_events_${new Date(today - n * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}`;
    const readsFrom = new Date(late.time - 3_600_000).toISOString();
    expect(kept.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^dropped 0 partition\(s\) before \d{4}-\d\d-\d\d: -$/),
      `kept ${day(3)}: 1 session id(s) not finalized yet may still read its events (reads from ${readsFrom} on; e.g. "s-3")`,
      `kept ${day(2)}: 1 session id(s) not finalized yet may still read its events (reads from ${readsFrom} on; e.g. "s-3")`,
      expect.stringMatching(/^max event age 3600 s/),
    ]);
    expect(await sessionsLeft()).toEqual(['s-0', 's-1', 's-3']);
    await finalizeSessions(db, ['s-3'], SETTINGS, { force: true });
    const after = await run(['retention', '--keep-days', '2'], short);
    expect(after.stdout).toMatch(
      new RegExp(`^dropped 2 partition\\(s\\) before [\\d-]+: ${day(3)} ${day(2)}\n`),
    );
    expect(await sessionsLeft()).toEqual(['s-0', 's-1']);
  });

  it('stops with a clear error when a long transaction holds listen_events, and the next run finishes', async () => {
    await writeComponentSettings(db, 'ingest', SHORT);
    const holder = db.client.kind === 'postgres' ? db.client.single() : undefined;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // A report that reads every day in a REPEATABLE READ transaction and does not end.
    const txn = holder!.begin('isolation level repeatable read', async (t) => {
      await t.unsafe('select count(*) from listen_events');
      locked();
      await released;
    });
    await isLocked;
    const short = { ...env, EARSHOT_MAX_SESSION_S: '3600' };
    let failed: Awaited<ReturnType<typeof run>>;
    const started = Date.now();
    try {
      failed = await run(['retention', '--keep-days', '2'], short);
    } finally {
      release();
      await txn;
      await holder!.end();
    }
    // 4 tries of 2 s plus backoffs of 0.5-1, 1-2 and 2-4 s.
    expect(Date.now() - started).toBeGreaterThan(4 * 2000 + 3500);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(
      /^earshot retention: could not drop listen_events_\d{8}: a lock on listen_events or the partition was not granted within 2000 ms in 4 tries over [\d.]+ s \(open transactions or long queries on listen_events hold it; see pg_locks and pg_stat_activity\); nothing dropped; the next run takes it up again\n$/,
    );
    const again = await run(['retention', '--keep-days', '2'], short);
    expect(again, again.stderr).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/^dropped 1 partition\(s\)/);
    expect(await sessionsLeft()).toEqual(['s-0', 's-1']);
  }, 60_000);
});
