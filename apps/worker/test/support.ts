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
  }[];
  minutes: { stream: string; minute: number; ms: number; sessions: number }[];
  shorts: { session: string; start: number; stream: string; durationMs: number }[];
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortTables(t: Tables): Tables {
  t.sessions.sort((a, b) => byKey(a.session, b.session) || a.start - b.start);
  t.quarterHours.sort(
    (a, b) => byKey(a.session, b.session) || a.sessionStart - b.sessionStart || a.quarterHour - b.quarterHour,
  );
  t.minutes.sort((a, b) => byKey(a.stream, b.stream) || a.minute - b.minute);
  t.shorts.sort((a, b) => byKey(a.session, b.session) || a.start - b.start);
  return t;
}

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
      duration_ms::float8 as duration_ms, bytes::float8 as bytes, listener, ua, ${ms('first_minute')} as first_minute, minute_ms
      from sessions`,
  );
  const quarterHours = await db.query<{
    session: string;
    session_start: number;
    stream: string;
    quarter_hour: number;
    ms: number;
    listener: string | null;
  }>(
    `select session, ${ms('session_start')} as session_start, stream, ${ms('quarter_hour')} as quarter_hour, ms, listener
      from session_quarter_hours`,
  );
  const minutes = await db.query<Tables['minutes'][number]>(
    `select stream, ${ms('minute')} as minute, ms::float8 as ms, sessions from stream_minutes`,
  );
  const shorts = await db.query<{ session: string; start: number; stream: string; duration_ms: number }>(
    `select session, ${ms('start')} as start, stream, duration_ms::float8 as duration_ms from short_sessions`,
  );
  return sortTables({
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
    })),
    minutes,
    shorts: shorts.map((r) => ({
      session: r.session,
      start: r.start,
      stream: r.stream,
      durationMs: r.duration_ms,
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
  const t: Tables = { sessions: [], quarterHours: [], minutes: [], shorts: [] };
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
      for (const [quarterHour, value] of q) {
        if (value > 0)
          t.quarterHours.push({
            session: s.session,
            sessionStart: s.start,
            stream: s.stream,
            quarterHour,
            ms: value,
            listener: s.listener,
          });
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
        stream: s.stream,
        durationMs: Math.round(s.duration * 1000),
      });
  }
  t.minutes = [...minutes.values()];
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
