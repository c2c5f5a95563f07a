import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from './client.js';
import { insertEvents } from './events.js';
import { finalizeSessions } from './finalize/index.js';
import { MIGRATIONS_FOLDER, migrate } from './migrate.js';
import { dropEventPartitionsBefore } from './partitions.js';
import { rebuildQuarterHourRollup } from './reports/index.js';
import { countUnfinalized, sweepOnce } from './sweep.js';
import {
  createTestDatabase,
  expectedTables,
  readTables,
  sortTables,
  type Tables,
  TEST_ADMIN_URL,
  type TestDatabase,
} from './testing/index.js';

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

/** A copy of the migrations folder holding only those whose tag sorts before `tag`. */
async function migrationsBefore(tag: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'earshot-migrations-'));
  await cp(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.filter((e) => e.tag < tag);
  await writeFile(journalPath, JSON.stringify(journal));
  return folder;
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
    folder = await migrationsBefore('0001_');
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
        const shorts = await worker.query<Record<string, unknown>>(
          'select session, start::text, stream, duration_ms from short_sessions',
        );
        for (const s of shorts) {
          await db.query(
            'insert into short_sessions (session, start, stream, duration_ms) values ($1, $2::timestamptz, $3, $4)',
            Object.values(s),
          );
        }
        expect(sessions.length).toBe(4);
        expect(shorts.length).toBe(1); // c
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

// Migration 0005: a session's start became its first event's interval start (`time - duration`).
describe('migration 0005 (session start) on a database finalized with start = first event time', () => {
  const OLD_DAY = Date.UTC(2026, 9, 1, 8, 0);
  // events() plus: a session whose first tick ends just after a QH boundary (its start moves to the
  // QH before), a short one across a minute (its start moves to the minute before), an HLS session
  // whose first event is its zero-duration start (start unchanged), and one whose events retention
  // drops before the migration.
  const all = (): ListenEvent[] => {
    const out = events();
    const tick = (session: string, from: number, count: number, output: 'shoutcast' | 'hls' = 'shoutcast') =>
      Array.from({ length: count }, (_, i) => ({
        id: `${session}${i}`,
        session,
        stream: 'rock',
        output,
        time: from + (i + 1) * 30_000,
        duration: 30,
        bytes: 16_000,
        listener: `L-${session}`,
      }));
    out.push(...tick('q', Date.UTC(2026, 10, 2, 7, 14, 40), 4));
    out.push(...tick('s', Date.UTC(2026, 10, 2, 7, 19, 50), 1));
    out.push({ ...tick('h', T0, 1, 'hls')[0]!, id: 'h-start', time: T0, duration: 0, bytes: 0 });
    out.push(...tick('h', T0, 4, 'hls'));
    out.push(...tick('r', OLD_DAY, 5));
    return out;
  };
  const ids = ['a', 'b', 'c', 'd', 'q', 's', 'h', 'r'];

  /** The tables as the finalizer before 0005 wrote them: start = first event time, for `which` ids. */
  const oldWay = (t: Tables, which: (session: string) => boolean): Tables => {
    const first = new Map(t.sessions.map((s) => [`${s.session}\u0000${s.start}`, s.firstTime]));
    return sortTables({
      ...t,
      sessions: t.sessions.map((s) =>
        which(s.session) ? { ...s, start: s.firstTime, elapsedMs: s.end - s.firstTime } : s,
      ),
      quarterHours: t.quarterHours.map((q) =>
        which(q.session) ? { ...q, sessionStart: first.get(`${q.session}\u0000${q.sessionStart}`)! } : q,
      ),
      shorts: t.shorts.map((s) => (which(s.session) ? { ...s, start: s.firstTime } : s)),
    });
  };

  let folder: string;
  let before: TestDatabase;
  let reference: Tables;

  beforeAll(async () => {
    const worker = await createDb({ url: 'memory:' });
    try {
      await insertEvents(worker, all(), { idleS: SETTINGS.idleS });
      await finalizeSessions(worker, ids, SETTINGS, { force: true });
      reference = await readTables(worker);
    } finally {
      await worker.close();
    }
    folder = await migrationsBefore('0005_');
    before = await createTestDatabase(TEST_ADMIN_URL, 'migration');
  });

  afterAll(async () => {
    await before?.drop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('the worker stores what core computes offline, and the old rows differ from it', () => {
    expect(reference).toEqual(expectedTables(all(), SETTINGS));
    const old = oldWay(reference, () => true);
    const starts = (t: Tables) => t.sessions.map((s) => [s.session, s.start]);
    // q's start moves back a QH (07:15:10 -> 07:14:40), s's a minute; h's is its start event's time.
    expect(starts(old)).not.toEqual(starts(reference));
    expect(old.sessions.find((s) => s.session === 'h')!.start).toBe(T0);
    expect(reference.sessions.find((s) => s.session === 'h')!.start).toBe(T0);
    expect(reference.sessions.find((s) => s.session === 'q')!.start).toBe(Date.UTC(2026, 10, 2, 7, 14, 40));
  });

  for (const driver of ['postgres', 'pglite'] as const) {
    it(`makes the stored rows those of the new start once the sweep has run (${driver})`, async () => {
      const db = await createDb({ url: driver === 'postgres' ? before.url : 'memory:', migrate: false });
      try {
        await migrate(db, { migrationsFolder: folder });
        // This version's insertEvents and rollup rebuild write and read the columns 0006 and 0009 add: the
        // old schema has them for the setup only, and loses them before the later migrations run.
        const later = [
          ['listen_events', 'country', 'text'],
          ['listen_events', 'origin', 'text'],
          ['sessions', 'class', `text not null default 'human'`],
          ['session_quarter_hours', 'class', `text not null default 'human'`],
          ['short_sessions', 'class', `text not null default 'human'`],
          ['stream_quarter_hours', 'lengths', `integer[] not null default '{0,0,0,0,0,0}'`],
          ['stream_quarter_hours', 'short_starts', 'integer not null default 0'],
        ];
        for (const [table, column, type] of later)
          await db.query(`alter table ${table} add column ${column} ${type}`);
        await insertEvents(db, all(), { idleS: SETTINGS.idleS });
        // The rows the finalizer wrote before 0005, and its marks.
        const old = oldWay(reference, () => true);
        for (const s of old.sessions) {
          await db.query(
            `insert into sessions (session, start, stream, output, "end", elapsed_ms, duration_ms, bytes, listener, ua,
              first_minute, minute_ms) values ($1, to_timestamp($2 / 1000.0), $3, $4, to_timestamp($5 / 1000.0), $6, $7,
              $8, $9, $10, to_timestamp($11 / 1000.0), $12::bigint[])`,
            [
              s.session,
              s.start,
              s.stream,
              s.output,
              s.end,
              s.elapsedMs,
              s.durationMs,
              s.bytes,
              s.listener,
              s.ua,
              s.firstMinute,
              `{${s.minuteMs.join(',')}}`,
            ],
          );
        }
        for (const q of old.quarterHours) {
          await db.query(
            `insert into session_quarter_hours (session, session_start, stream, quarter_hour, ms, listener)
              values ($1, to_timestamp($2 / 1000.0), $3, to_timestamp($4 / 1000.0), $5, $6)`,
            [q.session, q.sessionStart, q.stream, q.quarterHour, q.ms, q.listener],
          );
        }
        for (const s of old.shorts) {
          await db.query(
            `insert into short_sessions (session, start, "end", stream, duration_ms)
              values ($1, to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0), $4, $5)`,
            [s.session, s.start, s.end, s.stream, s.durationMs],
          );
        }
        for (const m of old.minutes)
          await db.query(
            'insert into stream_minutes (stream, minute, ms, sessions) values ($1, to_timestamp($2 / 1000.0), $3, $4)',
            [m.stream, m.minute, m.ms, m.sessions],
          );
        for (const m of old.listenerMonths) {
          await db.query('insert into listener_keys (key) values ($1) on conflict do nothing', [m.key]);
          await db.query(
            `insert into stream_listener_months (stream, month, key_id, qhs)
              select $1, to_timestamp($2 / 1000.0), id, $4::varbit from listener_keys where key = $3`,
            [m.stream, m.month, m.key, m.qhs],
          );
        }
        await rebuildQuarterHourRollup(db); // stream_quarter_hours.starts by the old starts
        for (const [table, column] of later) await db.query(`alter table ${table} drop column ${column}`);
        // Finalized, and received long ago (the sweep would wait for a receipt under idle ago).
        await db.query(`update session_state set finalized_seq = change_seq,
          last_received_at = now() - interval '1 day', due_at = now() - interval '1 day'`);
        await db.query(`update listen_events set received_at = now() - interval '1 day'`);
        // Retention drops r's day: its rows stay, and cannot be recomputed.
        expect(await dropEventPartitionsBefore(db, new Date(Date.UTC(2026, 9, 20)))).toEqual([
          'listen_events_20261001',
        ]);

        await migrate(db);
        const swept = await sweepOnce(db, SETTINGS);
        expect(swept.finalized).toBe(ids.length - 1); // every id but r
        expect((await countUnfinalized(db)).pending).toBe(0);
        // Every row = core offline with the new start, but r's, which keep the old start.
        expect(await readTables(db)).toEqual(oldWay(reference, (session) => session === 'r'));
        expect((await sweepOnce(db, SETTINGS)).finalized).toBe(0);
      } finally {
        await db.close();
      }
    });
  }
});

// Migration 0006: sessions gained a class (human, bot, relay, monitor); only humans stay in the rollups.
describe('migration 0006 (net and gross) on a database finalized before sessions had a class', () => {
  // events(), with a crawler's user agent on session d and a player's on a and b: before 0006
  // every session was human, d's listening in every rollup.
  const BOT = 'Googlebot/2.1 (+http://www.google.com/bot.html)';
  const all = (): ListenEvent[] =>
    events().map((e) => ({ ...e, ua: e.session === 'd' ? BOT : 'VLC/3.0.21 LibVLC/3.0.21' }));
  const ids = ['a', 'b', 'c', 'd'];
  let folder: string;
  let before: TestDatabase;

  beforeAll(async () => {
    folder = await migrationsBefore('0006_');
    before = await createTestDatabase(TEST_ADMIN_URL, 'migration6');
  });

  afterAll(async () => {
    await before?.drop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  for (const driver of ['postgres', 'pglite'] as const) {
    it(`takes the bots stored as listeners out of every rollup once the sweep has run (${driver})`, async () => {
      const db = await createDb({ url: driver === 'postgres' ? before.url : 'memory:', migrate: false });
      try {
        await migrate(db, { migrationsFolder: folder });
        // The finalizer before 0006 knew no user agents' classes: this version's, on the columns
        // 0006 adds (for the setup only), with every session's user agent a player's, writes the
        // rows it wrote (all human). Then the crawler's real agent goes into its events and rows.
        const later = [
          ['listen_events', 'country', 'text'],
          ['listen_events', 'origin', 'text'],
          ['sessions', 'country', 'text'],
          ['sessions', 'class', `text not null default 'human'`],
          ['sessions', 'device', `text not null default 'unknown'`],
          ['sessions', 'os', `text not null default 'unknown'`],
          ['sessions', 'player', `text not null default 'unknown'`],
          ['session_quarter_hours', 'class', `text not null default 'human'`],
          ['short_sessions', 'class', `text not null default 'human'`],
          ['stream_quarter_hours', 'lengths', `integer[] not null default '{0,0,0,0,0,0}'`],
          ['stream_quarter_hours', 'short_starts', 'integer not null default 0'],
        ];
        for (const [table, column, type] of later)
          await db.query(`alter table ${table} add column ${column} ${type}`);
        // And the tables 0008 adds, which this version's finalizer writes too (for the setup only).
        const audienceTables = (await readFile(join(MIGRATIONS_FOLDER, '0008_audience_rollups.sql'), 'utf8'))
          .split('--> statement-breakpoint')
          .map((statement) => statement.replace(/^--.*$/gm, '').trim())
          .filter((statement) => statement.startsWith('CREATE TABLE'));
        for (const statement of audienceTables) await db.query(statement);
        const asPlayers = all().map((e) => ({ ...e, ua: 'VLC/3.0.21 LibVLC/3.0.21' }));
        await insertEvents(db, asPlayers, { idleS: SETTINGS.idleS });
        await finalizeSessions(db, ids, SETTINGS, { force: true });
        await db.query(`update listen_events set ua = $1 where session = 'd'`, [BOT]);
        await db.query(`update sessions set ua = $1 where session = 'd'`, [BOT]);
        for (const [table, column] of later) await db.query(`alter table ${table} drop column ${column}`);
        await db.query('drop table stream_audience_quarter_hours, stream_audience_months');
        const old = await db.query<{ n: number }>(
          `select count(*)::int as n from stream_minutes where stream = 'jazz'`,
        );
        expect(old[0]!.n).toBeGreaterThan(0); // d's minutes are in the rollup
        await db.query(`update session_state set last_received_at = now() - interval '1 day',
          due_at = now() - interval '1 day'`);
        await db.query(`update listen_events set received_at = now() - interval '1 day'`);

        await migrate(db);
        const swept = await sweepOnce(db, SETTINGS);
        expect(swept.finalized).toBe(ids.length);
        expect((await countUnfinalized(db)).pending).toBe(0);
        // Every row is what this version computes from the events: d a bot, out of the rollups.
        const tables = await readTables(db);
        expect(tables).toEqual(expectedTables(all(), SETTINGS));
        expect(tables.sessions.find((s) => s.session === 'd')).toMatchObject({
          class: 'bot',
          player: 'Googlebot',
        });
        expect(tables.minutes.filter((m) => m.stream === 'jazz')).toEqual([]);
        expect((await sweepOnce(db, SETTINGS)).finalized).toBe(0);
      } finally {
        await db.close();
      }
    });
  }
});

// Migration 0008: the audience rollups, backfilled from the human rows stored before it.
describe('migration 0008 (audience rollups) on a database finalized before it', () => {
  let before: TestDatabase;
  let folder: string;
  let worker: Db;
  const AUDIENCE_QH_SQL = `select stream, quarter_hour::text, country, device, os, player, output, ms::text, sessions, continuing,
    starts, qualified::text from stream_audience_quarter_hours order by 1, 2, 3, 4, 5, 6, 7`;
  const AUDIENCE_MONTHS_SQL = `select t.stream, t.month::text, k.key, t.country, t.device, t.os, t.player, t.output, t.qhs::text
    from stream_audience_months t join listener_keys k on k.id = t.key_id order by 1, 2, 3, 4, 5, 6, 7, 8`;
  // events(), with user agents (a crawler's on d: a bot, left out of the rollups) and countries.
  const withAudience = (): ListenEvent[] =>
    events().map((e) => ({
      ...e,
      ua:
        e.session === 'd'
          ? 'Googlebot/2.1 (+http://www.google.com/bot.html)'
          : e.session === 'a'
            ? 'VLC/3.0.21 LibVLC/3.0.21'
            : 'AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)',
      ...(e.session === 'b' ? { country: 'DE' } : {}),
    }));

  beforeAll(async () => {
    worker = await createDb({ url: 'memory:' });
    await insertEvents(worker, withAudience(), { idleS: SETTINGS.idleS });
    await finalizeSessions(worker, ['a', 'b', 'c', 'd'], SETTINGS, { force: true });
    folder = await migrationsBefore('0008_');
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
        // The stored rows the backfill reads, column for column as the worker wrote them.
        for (const [table, insert] of [
          ['sessions', 'insert into sessions'],
          ['session_quarter_hours', 'insert into session_quarter_hours'],
          ['listener_keys', 'insert into listener_keys overriding system value'],
        ] as const) {
          const [{ rows }] = (await worker.query<{ rows: string }>(
            `select coalesce(json_agg(t), '[]')::text as rows from ${table} t`,
          )) as [{ rows: string }];
          await db.query(`${insert} select * from json_populate_recordset(null::${table}, $1::json)`, [rows]);
        }
        await migrate(db);
        const quarterHours = await worker.query(AUDIENCE_QH_SQL);
        expect(quarterHours.length).toBeGreaterThan(3);
        expect(new Set(quarterHours.map((r) => `${r.country} ${r.player}`))).toEqual(
          new Set(['unknown VLC', 'DE AppleCoreMedia']),
        );
        expect(await db.query(AUDIENCE_QH_SQL)).toEqual(quarterHours);
        expect(await db.query(AUDIENCE_MONTHS_SQL)).toEqual(await worker.query(AUDIENCE_MONTHS_SQL));
        // And what the worker maintains is what core's tables say.
        const expected = expectedTables(withAudience(), SETTINGS);
        const stored = await readTables(worker);
        expect(stored.audienceRollup).toEqual(expected.audienceRollup);
        expect(stored.audienceMonths).toEqual(expected.audienceMonths);
      } finally {
        await db.close();
      }
    });
  }
});
