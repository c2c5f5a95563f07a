import { randomUUID } from 'node:crypto';
import { finalizeSessionId, type ListenEvent, splitSessions } from '@earshot/core';
import { createDb, type Db, type FinalizeSettings, type Queryable } from '@earshot/db';

export const PG_ADMIN_URL = process.env.EARSHOT_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_TEST_URL = process.env.EARSHOT_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';

/** URL of another database on the same server. */
export function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one statement on the admin database (create/drop database). */
export async function adminQuery(text: string): Promise<void> {
  const admin = await createDb({ url: PG_ADMIN_URL, migrate: false, maxConnections: 1 });
  try {
    await admin.query(text);
  } finally {
    await admin.close();
  }
}

/** A fresh database `test_<random>` (migrated), dropped by `drop()`. */
export async function createTestDatabase(options: { pool?: number } = {}): Promise<{
  name: string;
  url: string;
  db: Db;
  drop: () => Promise<void>;
}> {
  const name = `test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await adminQuery(`create database ${name}`);
  const url = databaseUrl(name);
  const db = await createDb({ url, maxConnections: options.pool ?? 10 });
  return {
    name,
    url,
    db,
    async drop() {
      await db.close().catch(() => {});
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

export interface StoredSession {
  session: string;
  start: number;
  stream: string;
  output: string;
  end: number;
  elapsedMs: number;
  durationMs: number;
  bytes: number;
  listener: string | null;
  ua: string | null;
  firstMinute: number;
  minuteMs: number[];
}

export interface Tables {
  sessions: StoredSession[];
  quarterHours: {
    session: string;
    sessionStart: number;
    stream: string;
    quarterHour: number;
    ms: number;
    listener: string | null;
    prevQuarterHour: number | null;
    continues: boolean;
  }[];
  minutes: { stream: string; minute: number; ms: number; sessions: number }[];
  shorts: { session: string; start: number; end: number; stream: string; durationMs: number }[];
  /** The quarter-hour rollup (stream_quarter_hours). */
  rollup: {
    stream: string;
    quarterHour: number;
    ms: number;
    sessions: number;
    continuing: number;
    starts: number;
    qualified: number[];
  }[];
  /** stream_listener_months, with the cume key's text instead of its number. */
  listenerMonths: { stream: string; month: number; key: string; qhs: string }[];
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Tables with no rows. */
export function emptyTables(): Tables {
  return { sessions: [], quarterHours: [], minutes: [], shorts: [], rollup: [], listenerMonths: [] };
}

/** Sorts every table of `t` in place into one order, so two sets of tables compare with toEqual. */
export function sortTables(t: Tables): Tables {
  t.sessions.sort((a, b) => byKey(a.session, b.session) || a.start - b.start);
  t.quarterHours.sort(
    (a, b) => byKey(a.session, b.session) || a.sessionStart - b.sessionStart || a.quarterHour - b.quarterHour,
  );
  t.minutes.sort((a, b) => byKey(a.stream, b.stream) || a.minute - b.minute);
  t.shorts.sort((a, b) => byKey(a.session, b.session) || a.start - b.start);
  t.rollup.sort((a, b) => byKey(a.stream, b.stream) || a.quarterHour - b.quarterHour);
  t.listenerMonths.sort((a, b) => byKey(a.stream, b.stream) || a.month - b.month || byKey(a.key, b.key));
  return t;
}

const QH_MS = 15 * 60_000;
const ms = (c: string) => `(extract(epoch from ${c}) * 1000)::float8`;

/** Every row the worker writes, in numbers, sorted. */
export async function readTables(db: Queryable): Promise<Tables> {
  type SessionDb = {
    session: string;
    start: number;
    stream: string;
    output: string;
    end: number;
    elapsed_ms: number;
    duration_ms: number;
    bytes: number;
    listener: string | null;
    ua: string | null;
    first_minute: number;
    minute_ms: number[];
  };
  const sessions = await db.query<SessionDb>(
    `select session, ${ms('start')} as start, stream, output, ${ms('"end"')} as "end", elapsed_ms::float8 as elapsed_ms,
      duration_ms::float8 as duration_ms, bytes::float8 as bytes, listener, ua, ${ms('first_minute')} as first_minute, minute_ms::float8[] as minute_ms
      from sessions`,
  );
  const quarterHours = await db.query<{
    session: string;
    session_start: number;
    stream: string;
    quarter_hour: number;
    ms: number;
    listener: string | null;
    prev_quarter_hour: number | null;
    continues: boolean;
  }>(
    `select session, ${ms('session_start')} as session_start, stream, ${ms('quarter_hour')} as quarter_hour, ms::float8 as ms, listener,
      ${ms('prev_quarter_hour')} as prev_quarter_hour, continues
      from session_quarter_hours`,
  );
  const rollup = await db.query<{
    stream: string;
    quarter_hour: number;
    ms: number;
    sessions: number;
    continuing: number;
    starts: number;
    qualified: number[];
  }>(
    `select stream, ${ms('quarter_hour')} as quarter_hour, ms::float8 as ms, sessions, continuing, starts, qualified
      from stream_quarter_hours`,
  );
  const minutes = await db.query<Tables['minutes'][number]>(
    `select stream, ${ms('minute')} as minute, ms::float8 as ms, sessions from stream_minutes`,
  );
  const shorts = await db.query<{
    session: string;
    start: number;
    end: number;
    stream: string;
    duration_ms: number;
  }>(
    `select session, ${ms('start')} as start, ${ms('"end"')} as end, stream, duration_ms::float8 as duration_ms
      from short_sessions`,
  );
  const listenerMonths = await db.query<Tables['listenerMonths'][number]>(
    `select t.stream, ${ms('t.month')} as month, k.key, t.qhs::text as qhs
      from stream_listener_months t join listener_keys k on k.id = t.key_id`,
  );
  return sortTables({
    listenerMonths,
    sessions: sessions.map((r) => ({
      session: r.session,
      start: r.start,
      stream: r.stream,
      output: r.output,
      end: r.end,
      elapsedMs: r.elapsed_ms,
      durationMs: r.duration_ms,
      bytes: r.bytes,
      listener: r.listener,
      ua: r.ua,
      firstMinute: r.first_minute,
      minuteMs: r.minute_ms,
    })),
    quarterHours: quarterHours.map((r) => ({
      session: r.session,
      sessionStart: r.session_start,
      stream: r.stream,
      quarterHour: r.quarter_hour,
      ms: r.ms,
      listener: r.listener,
      prevQuarterHour: r.prev_quarter_hour,
      continues: r.continues,
    })),
    minutes,
    shorts: shorts.map((r) => ({
      session: r.session,
      start: r.start,
      end: r.end,
      stream: r.stream,
      durationMs: r.duration_ms,
    })),
    rollup: rollup.map((r) => ({
      stream: r.stream,
      quarterHour: r.quarter_hour,
      ms: r.ms,
      sessions: r.sessions,
      continuing: r.continuing,
      starts: r.starts,
      qualified: r.qualified,
    })),
  });
}

/**
 * What the tables must hold for these events, computed offline with @earshot/core alone:
 * `finalizeSessionId` over each session id's events (and `splitSessions` for each session's first
 * `output` and user agent, which the stored row adds).
 */
export function expectedTables(events: readonly ListenEvent[], settings: FinalizeSettings): Tables {
  const byId = new Map<string, ListenEvent[]>();
  for (const e of events) {
    const list = byId.get(e.session);
    if (list) list.push(e);
    else byId.set(e.session, [e]);
  }
  const runs = new Map<string, { output: string; ua: string | null }>();
  for (const run of splitSessions(events, settings)) {
    runs.set(`${run.session.session}\u0000${run.session.start}`, {
      output: run.output,
      ua: run.events.find((e) => e.ua)?.ua ?? null,
    });
  }
  const t = emptyTables();
  const minutes = new Map<string, { stream: string; minute: number; ms: number; sessions: number }>();
  for (const list of byId.values()) {
    const done = finalizeSessionId(list, settings);
    for (const { session: s, minutes: m, quarterHours: q } of done.counted) {
      const keys = [...m.keys()].sort((a, b) => a - b);
      const first = keys[0] ?? Math.floor(s.start / 60_000) * 60_000;
      const last = keys[keys.length - 1] ?? first - 60_000;
      const dense: number[] = [];
      for (let k = first; k <= last; k += 60_000) dense.push(m.get(k) ?? 0);
      const run = runs.get(`${s.session}\u0000${s.start}`)!;
      t.sessions.push({
        session: s.session,
        start: s.start,
        stream: s.stream,
        output: run.output,
        end: s.end,
        elapsedMs: Math.round(s.elapsed * 1000),
        durationMs: Math.round(s.duration * 1000),
        bytes: s.bytes,
        listener: s.listener,
        ua: run.ua,
        firstMinute: first,
        minuteMs: dense,
      });
      let prev: number | null = null;
      for (const quarterHour of [...q.keys()].sort((a, b) => a - b)) {
        const value = q.get(quarterHour)!;
        if (value <= 0) continue;
        t.quarterHours.push({
          session: s.session,
          sessionStart: s.start,
          stream: s.stream,
          quarterHour,
          ms: value,
          listener: s.listener,
          prevQuarterHour: prev,
          continues: prev === quarterHour - QH_MS,
        });
        prev = quarterHour;
      }
      for (const [minute, value] of m) {
        if (value <= 0) continue;
        const key = `${s.stream}\u0000${minute}`;
        const row = minutes.get(key);
        if (row) {
          row.ms += value;
          row.sessions += 1;
        } else minutes.set(key, { stream: s.stream, minute, ms: value, sessions: 1 });
      }
    }
    for (const s of done.short)
      t.shorts.push({
        session: s.session,
        start: s.start,
        end: s.end,
        stream: s.stream,
        durationMs: Math.round(s.duration * 1000),
      });
  }
  t.minutes = [...minutes.values()];
  // The rollup, straight from its definition: sums over the session rows by (stream, QH).
  const rollup = new Map<string, Tables['rollup'][number]>();
  const at = (stream: string, quarterHour: number) => {
    const key = `${stream}\u0000${quarterHour}`;
    let row = rollup.get(key);
    if (!row) {
      row = {
        stream,
        quarterHour,
        ms: 0,
        sessions: 0,
        continuing: 0,
        starts: 0,
        qualified: new Array(15).fill(0),
      };
      rollup.set(key, row);
    }
    return row;
  };
  for (const r of t.quarterHours) {
    const row = at(r.stream, r.quarterHour);
    row.ms += r.ms;
    row.sessions += 1;
    if (r.continues) row.continuing += 1;
    for (let k = 1; k <= 15; k++) if (r.ms >= k * 60_000) row.qualified[k - 1]! += 1;
  }
  for (const s of t.sessions) at(s.stream, Math.floor(s.start / QH_MS) * QH_MS).starts += 1;
  t.rollup = [...rollup.values()];
  // Listener months, straight from their definition: the QHs of each cume key's rows by UTC month.
  const months = new Map<string, { stream: string; month: number; key: string; bits: string[] }>();
  for (const r of t.quarterHours) {
    const d = new Date(r.quarterHour);
    const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const key = r.listener ?? `session:${r.session}`;
    const id = `${r.stream}\u0000${key}\u0000${month}`;
    let row = months.get(id);
    if (!row) {
      row = { stream: r.stream, month, key, bits: new Array<string>((end - month) / QH_MS).fill('0') };
      months.set(id, row);
    }
    row.bits[(r.quarterHour - month) / QH_MS] = '1';
  }
  t.listenerMonths = [...months.values()].map((m) => ({
    stream: m.stream,
    month: m.month,
    key: m.key,
    qhs: m.bits.join(''),
  }));
  return sortTables(t);
}

/** Polls until `check` returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return check();
}

/** Session ids not finalized at their latest change. */
export async function unfinalizedCount(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'select count(*)::float8 as n from session_state where finalized_seq < change_seq',
  );
  return rows[0]?.n ?? 0;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
