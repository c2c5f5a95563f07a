/**
 * Benchmark: the 30-day report of a large station from PostgreSQL.
 *
 * Writes a month of the rows the worker would write (COPY into sessions, session_quarter_hours,
 * stream_minutes, short_sessions; 3M counted sessions from 100k listeners by default) into a fresh
 * database `bench_<random>`, then times reportFromDb with a daypart and the minute series, beside a
 * bare scan of session_quarter_hours for the period measured in the same run. The database is
 * dropped after unless --keep.
 *
 *   pnpm --filter @earshot/reports bench [-- --sessions 3000000 --audience 100000 --days 30 --runs 3 --keep --db NAME]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { isoTime, periodQuarterHours, QUARTER_HOUR_MS, resolveDaypart } from '@earshot/core';
import { createDb, type Db, type DbReportOptions, QUARTER_HOUR_ROLLUP_DDL, reportFromDb } from '@earshot/db';
import postgres from 'postgres';
import { writeStationRows } from './station-rows.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '3000000' },
    audience: { type: 'string', default: '100000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    db: { type: 'string' },
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
    // The proposed rollup (see QUARTER_HOUR_ROLLUP_DDL), then bulk load without indexes and build
    // them as the migrations define them.
    await sql.unsafe(QUARTER_HOUR_ROLLUP_DDL);
    // Experiment (not in the schema): an integer cume key per row, to measure a listener-key dictionary.
    await sql.unsafe('alter table session_quarter_hours add column key_id bigint');
    await sql.unsafe(
      `drop index session_quarter_hours_run_start; drop index session_quarter_hours_gaps;
        alter table stream_quarter_hours drop constraint stream_quarter_hours_pk;`,
    );
    await sql.unsafe(`alter table session_quarter_hours drop constraint session_quarter_hours_session_session_start_quarter_hour_pk;
      drop index session_quarter_hours_stream_qh;
      alter table sessions drop constraint sessions_session_start_pk; drop index sessions_stream_start;
      alter table short_sessions drop constraint short_sessions_session_start_pk; drop index short_sessions_stream_start;
      alter table stream_minutes drop constraint stream_minutes_stream_minute_pk;`);
    const counts = await writeStationRows(sql, {
      startMs: FROM,
      days: DAYS,
      sessions: Number(values.sessions),
      audience: Number(values.audience),
      utcOffsetH: -4,
      rollup: true,
      onProgress: (n) => process.stdout.write(`\r  ${n} sessions`),
    });
    process.stdout.write('\n');
    const t1 = performance.now();
    await sql.unsafe(`set maintenance_work_mem = '1GB'`);
    await sql.unsafe(`alter table session_quarter_hours add constraint session_quarter_hours_session_session_start_quarter_hour_pk primary key (session, session_start, quarter_hour);
      create index session_quarter_hours_stream_qh on session_quarter_hours (stream, quarter_hour);
      alter table sessions add constraint sessions_session_start_pk primary key (session, start);
      create index sessions_stream_start on sessions (stream, start);
      alter table short_sessions add constraint short_sessions_session_start_pk primary key (session, start);
      create index short_sessions_stream_start on short_sessions (stream, start);
      alter table stream_minutes add constraint stream_minutes_stream_minute_pk primary key (stream, minute);
      alter table stream_quarter_hours add constraint stream_quarter_hours_pk primary key (stream, quarter_hour);
      create index session_quarter_hours_run_start on session_quarter_hours (quarter_hour) include (stream, session, listener) where not continues;
      create index session_quarter_hours_gaps on session_quarter_hours (quarter_hour) include (stream, prev_quarter_hour) where not continues and prev_quarter_hour is not null;
      create index bench_run_start_key_id on session_quarter_hours (quarter_hour) include (stream, key_id) where not continues;`);
    await sql.unsafe(
      'vacuum analyze sessions, session_quarter_hours, stream_minutes, short_sessions, stream_quarter_hours',
    );
    console.log(
      `rows: ${counts.sessions} sessions, ${counts.quarterHours} session_quarter_hours, ${counts.minutes} stream_minutes, ${counts.short} short_sessions; ` +
        `COPY ${((t1 - t0) / 1000).toFixed(0)} s, indexes + analyze ${((performance.now() - t1) / 1000).toFixed(0)} s`,
    );
  }

  const sizes = await sql.unsafe(
    `select relname, pg_size_pretty(pg_total_relation_size(oid)) as size from pg_class
      where relname in ('sessions', 'session_quarter_hours', 'stream_minutes', 'short_sessions', 'stream_quarter_hours') order by relname`,
  );
  console.log(`sizes: ${sizes.map((r) => `${r.relname} ${r.size}`).join(', ')}`);

  const daypart = resolveDaypart('Mon-Sun 6a-12m');
  if (!daypart.ok) throw new Error(daypart.reason);
  const base: DbReportOptions = { from: FROM, to: TO, tz: TZ };
  const withDaypart: DbReportOptions = { ...base, daypart: daypart.daypart };
  const conn = db;

  // Experiment: the cume query alone, with text keys (what the report runs) and with integer key ids.
  const qhList = periodQuarterHours(FROM, TO, TZ, daypart.daypart);
  const qhSet = new Set(qhList);
  const runStarts = qhList.filter((q) => !qhSet.has(q - QUARTER_HOUR_MS)).map(isoTime);
  const cumeSql = (key: string) => `select stream, count(*) from (
      select t.stream, ${key} as key from session_quarter_hours t
        where not t.continues and t.quarter_hour >= $2::timestamptz and t.quarter_hour < $3::timestamptz
          and t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
      union
      select t.stream, ${key} from session_quarter_hours t
        where t.continues and t.quarter_hour in (select unnest(($4::text[])::timestamptz[]))
          and t.stream = any($5::text[])
    ) k group by stream`;
  const cume = (key: string) => () =>
    sql.begin(async (t) => {
      await t.unsafe(`set local work_mem = '128MB'`);
      return t.unsafe(cumeSql(key), [
        qhList.map(isoTime),
        isoTime(FROM),
        isoTime(TO),
        runStarts,
        ['main', 'main-mp3', 'talk', 'talk-mp3'],
      ]);
    });

  let fast: unknown;
  let exact: unknown;
  const cases: [string, () => Promise<unknown>, number?][] = [
    [
      'experiment: cume alone, text keys (as the report)',
      cume(`coalesce(t.listener, 'session:' || t.session)`),
    ],
    ['experiment: cume alone, integer key ids', cume('t.key_id')],
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
} finally {
  await db?.close();
  if (!values.keep && !reuse) await admin.unsafe(`drop database if exists ${name} with (force)`);
  else console.log(`kept database ${name}`);
  await admin.end({ timeout: 5 });
}
