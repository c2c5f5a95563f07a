/**
 * Benchmark: the 30-day report of a large station from PostgreSQL.
 *
 * Writes a month of the rows the worker would write (COPY into sessions, session_quarter_hours,
 * stream_minutes, stream_quarter_hours, short_sessions, then listener keys and months by the backfill
 * of their migration; 3M counted sessions from 100k listeners by default) into a fresh
 * database `bench_<random>`, then times reportFromDb with a daypart and the minute series, beside a
 * bare scan of session_quarter_hours for the period measured in the same run. The database is
 * dropped after unless --keep.
 *
 * Then (bench/dashboard.ts) the reports service on that database and the dashboard in headless
 * Chromium for a 30-day, a 7-day and a 1-day view: from navigation until the page's figures are
 * drawn, and each call it makes alone, beside the count of the view's session_quarter_hours rows.
 *
 *   pnpm --filter @earshot/reports bench [--sessions 3000000 --audience 100000 --days 30 --runs 3 --keep --db NAME --only report|dashboard|all|none]
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveDaypart } from '@earshot/core';
import { createDb, type Db, type DbReportOptions, MIGRATIONS_FOLDER, reportFromDb } from '@earshot/db';
import postgres from 'postgres';
import { benchDashboard, type DashboardView } from './dashboard.js';
import { writeStationRows } from './station-rows.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '3000000' },
    audience: { type: 'string', default: '100000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    db: { type: 'string' },
    /** `report` (reportFromDb alone), `dashboard` (the page in Chromium and its calls), `all`, or `none` (only make the database). */
    only: { type: 'string', default: 'all' },
  },
});
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TZ = 'America/New_York';
const FROM = Date.parse('2026-09-28T04:00:00Z'); // local midnight, no DST change in the month
const DAYS = Number(values.days);
const TO = FROM + DAYS * 86_400_000;
const RUNS = Number(values.runs);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(runs: number, fn: () => Promise<unknown>): Promise<{ ms: number; all: number[] }> {
  const all: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    all.push(performance.now() - t);
  }
  return { ms: median(all), all };
}

const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const reuse = values.db;
const name = reuse ?? `bench_${Math.random().toString(16).slice(2, 10)}`;
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
let db: Db | undefined;

try {
  if (!reuse) await admin.unsafe(`create database ${name}`);
  db = await createDb({ url: url.toString(), maxConnections: 4 });
  if (db.client.kind !== 'postgres') throw new Error('the benchmark needs PostgreSQL');
  const sql = db.client.sql;

  if (!reuse) {
    const t0 = performance.now();
    console.log(`generating ${values.sessions} sessions over ${DAYS} days into ${name} (load ${load()})`);
    // Bulk load without indexes, then build them again exactly as the migrations defined them.
    const tables = [
      'sessions',
      'session_quarter_hours',
      'stream_minutes',
      'short_sessions',
      'stream_quarter_hours',
      'stream_listener_months',
    ];
    const keys = await sql<{ table: string; name: string; def: string }[]>`
      select conrelid::regclass::text as table, conname as name, pg_get_constraintdef(oid) as def from pg_constraint
      where contype = 'p' and conrelid::regclass::text in ${sql(tables)}`;
    const indexes = await sql<{ name: string; def: string }[]>`
      select indexname as name, indexdef as def from pg_indexes
      where schemaname = current_schema() and tablename in ${sql(tables)}
        and indexname not in (select conname from pg_constraint)`;
    for (const k of keys) await sql.unsafe(`alter table ${k.table} drop constraint ${k.name}`);
    for (const i of indexes) await sql.unsafe(`drop index ${i.name}`);
    const counts = await writeStationRows(sql, {
      startMs: FROM,
      days: DAYS,
      sessions: Number(values.sessions),
      audience: Number(values.audience),
      utcOffsetH: -4,
      onProgress: (n) => process.stdout.write(`\r  ${n} sessions`),
    });
    process.stdout.write('\n');
    const t1 = performance.now();
    await sql.unsafe(`set maintenance_work_mem = '1GB'`);
    for (const k of keys) await sql.unsafe(`alter table ${k.table} add constraint ${k.name} ${k.def}`);
    for (const i of indexes) await sql.unsafe(i.def);
    // Listener keys and months: the backfill statements of the migration that added them.
    const t2 = performance.now();
    // And the audience rollups (breakdowns): the backfill of theirs.
    await sql.unsafe(`set work_mem = '1GB'`);
    for (const file of ['0002_listener_months.sql', '0008_audience_rollups.sql']) {
      const migration = await readFile(join(MIGRATIONS_FOLDER, file), 'utf8');
      for (const statement of migration.split('--> statement-breakpoint')) {
        const text = statement.replace(/^--.*$/gm, '').trim();
        if (text.startsWith('INSERT')) await sql.unsafe(text);
      }
    }
    console.log(
      `listener months and audience rollups from session_quarter_hours: ${((performance.now() - t2) / 1000).toFixed(0)} s`,
    );
    await sql.unsafe(
      'vacuum analyze sessions, session_quarter_hours, stream_minutes, short_sessions, stream_quarter_hours, listener_keys, stream_listener_months, stream_audience_quarter_hours, stream_audience_months',
    );
    console.log(
      `rows: ${counts.sessions} sessions, ${counts.quarterHours} session_quarter_hours, ${counts.minutes} stream_minutes, ${counts.short} short_sessions; ` +
        `COPY ${((t1 - t0) / 1000).toFixed(0)} s, indexes + analyze ${((performance.now() - t1) / 1000).toFixed(0)} s`,
    );
  }

  const sizes = await sql.unsafe(
    `select relname, pg_size_pretty(pg_total_relation_size(oid)) as size from pg_class
      where relname in ('sessions', 'session_quarter_hours', 'stream_minutes', 'short_sessions', 'stream_quarter_hours',
        'listener_keys', 'stream_listener_months', 'stream_audience_quarter_hours', 'stream_audience_months') order by relname`,
  );
  console.log(`sizes: ${sizes.map((r) => `${r.relname} ${r.size}`).join(', ')}`);

  const daypart = resolveDaypart('Mon-Sun 6a-12m');
  if (!daypart.ok) throw new Error(daypart.reason);
  const base: DbReportOptions = { from: FROM, to: TO, tz: TZ };
  const withDaypart: DbReportOptions = { ...base, daypart: daypart.daypart };
  const conn = db;
  const oneDay: DbReportOptions = {
    ...withDaypart,
    from: FROM + 86_400_000,
    to: FROM + 2 * 86_400_000,
    parts: ['summary', 'quarterHours', 'minutes'],
  };

  let fast: unknown;
  let exact: unknown;
  const cases: [string, () => Promise<unknown>, number?][] = [
    [
      'baseline: select count(*) from session_quarter_hours (period)',
      () =>
        sql`select count(*) from session_quarter_hours where quarter_hour >= ${new Date(FROM).toISOString()}::timestamptz and quarter_hour < ${new Date(TO).toISOString()}::timestamptz`,
    ],
    [
      'report, daypart, summary + quarterHours + minutes',
      async () => {
        fast = await reportFromDb(conn, { ...withDaypart, parts: ['summary', 'quarterHours', 'minutes'] });
      },
    ],
    [
      'report, no daypart, summary + quarterHours + minutes',
      () => reportFromDb(conn, { ...base, parts: ['summary', 'quarterHours', 'minutes'] }),
    ],
    ['  minutes only (daypart)', () => reportFromDb(conn, { ...withDaypart, parts: ['minutes'] })],
    ['  quarterHours only (daypart)', () => reportFromDb(conn, { ...withDaypart, parts: ['quarterHours'] })],
    ['  summary (+ its QH rows), daypart', () => reportFromDb(conn, { ...withDaypart, parts: ['summary'] })],
    [
      '  summary, daypart, cume from runs (session_quarter_hours)',
      () => reportFromDb(conn, { ...withDaypart, parts: ['summary'], cume: 'runs' }),
    ],
    ['report of one day, daypart, summary + quarterHours + minutes', () => reportFromDb(conn, oneDay)],
    ['  the same with cume from listener months', () => reportFromDb(conn, { ...oneDay, cume: 'months' })],
    [
      'same report without the rollup (session rows only)',
      async () => {
        exact = await reportFromDb(conn, {
          ...withDaypart,
          parts: ['summary', 'quarterHours', 'minutes'],
          rollup: false,
        });
      },
      1,
    ],
    [
      'sessions list, one day (about 100k sessions)',
      () =>
        reportFromDb(conn, {
          from: FROM + 86_400_000,
          to: FROM + 2 * 86_400_000,
          tz: TZ,
          parts: ['sessions'],
        }),
    ],
    [
      'report, station of 2 streams, daypart, summary',
      () =>
        reportFromDb(conn, {
          ...withDaypart,
          streams: ['main', 'main-mp3'],
          groupAs: 'station',
          parts: ['summary'],
        }),
    ],
  ];
  if (values.only === 'all' || values.only === 'report') await timeReports(cases);
  if (values.only === 'all' || values.only === 'dashboard') {
    // The last 30, 7 and 1 local days of the data (the month has no DST change: a day is 24 h).
    const day = (i: number) => new Date(FROM + i * 86_400_000 + 12 * 3_600_000).toISOString().slice(0, 10);
    const view = (label: string, days: number): DashboardView => ({
      label,
      from: day(DAYS - days),
      to: day(DAYS - 1),
      fromMs: FROM + (DAYS - days) * 86_400_000,
      toMs: TO,
    });
    const views = [
      view(`${Math.min(30, DAYS)}-day view`, Math.min(30, DAYS)),
      view('7-day view', 7),
      view('1-day view', 1),
    ];
    console.log(`\ndashboard in Chromium; load average before: ${load()}`);
    await benchDashboard({ databaseUrl: url.toString(), sql, tz: TZ, views, runs: RUNS });
    console.log(`load average after: ${load()}`);
  }

  async function timeReports(cases: [string, () => Promise<unknown>, number?][]) {
    console.log(`\ntimings, median of ${RUNS} (ms); load average before: ${load()}`);
    const rows: string[][] = [];
    for (const [label, fn, runs] of cases) {
      if (runs === undefined) await fn(); // warm the cache
      const r = await time(runs ?? RUNS, fn);
      rows.push([label, r.ms.toFixed(0), r.all.map((x) => x.toFixed(0)).join(' ')]);
      console.log(
        `${label.padEnd(60)} ${r.ms.toFixed(0).padStart(7)}   (${r.all.map((x) => x.toFixed(0)).join(', ')})`,
      );
    }
    console.log(`load average after: ${load()}`);
    console.log(
      `rollup report equals the report from session rows: ${JSON.stringify(fast) === JSON.stringify(exact)}`,
    );
  }
} finally {
  await db?.close();
  if (!values.keep && !reuse) await admin.unsafe(`drop database if exists ${name} with (force)`);
  else console.log(`kept database ${name}`);
  await admin.end({ timeout: 5 });
}
