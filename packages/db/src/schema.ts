import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgSequence, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

// Times are timestamptz with millisecond precision (all Earshot math is integer ms); durations are
// stored as integer milliseconds (`*_ms`) so sums are exact.
const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

/**
 * Raw listen events, as acknowledged by ingest. PARTITIONED BY RANGE (time), one partition per UTC
 * day (the migration declares the partitioning; drizzle-kit cannot). Retention drops whole
 * partitions. The primary key must hold the partition key, hence (id, time): a retried event has the
 * same id and time, so it is still a no-op on conflict.
 */
export const listenEvents = pgTable(
  'listen_events',
  {
    id: text('id').notNull(),
    session: text('session').notNull(),
    stream: text('stream').notNull(),
    output: text('output').notNull(),
    time: ts('time').notNull(),
    durationMs: integer('duration_ms').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    listener: text('listener'),
    ua: text('ua'),
    receivedAt: ts('received_at').notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.id, t.time] }), index('listen_events_session_time').on(t.session, t.time)],
);

/** Source of `session_state.change_seq`: every bump takes `nextval`, so a higher value is a later change. */
export const sessionChangeSeq = pgSequence('session_change_seq');

/**
 * One row per session id: what ingest has seen and what the worker has finalized. Ingest bumps
 * `change_seq` (from a sequence) and `due_at` for every session id a batch touches, in the batch's
 * transaction; the worker locks the row, finalizes, and sets `finalized_seq = change_seq`. A row with
 * `finalized_seq < change_seq` and `due_at <= now()` is what the sweep picks up.
 */
export const sessionState = pgTable(
  'session_state',
  {
    session: text('session').primaryKey(),
    firstTime: ts('first_time').notNull(),
    lastTime: ts('last_time').notNull(),
    lastReceivedAt: ts('last_received_at').notNull(),
    dueAt: ts('due_at').notNull(),
    changeSeq: bigint('change_seq', { mode: 'number' }).notNull(),
    finalizedSeq: bigint('finalized_seq', { mode: 'number' }).notNull().default(0),
    finalizedAt: ts('finalized_at'),
  },
  (t) => [index('session_state_pending').on(t.dueAt).where(sql`finalized_seq < change_seq`)],
);

/** Counted sessions (DESIGN section 3), keyed by session id and start. */
export const sessions = pgTable(
  'sessions',
  {
    session: text('session').notNull(),
    start: ts('start').notNull(),
    stream: text('stream').notNull(),
    output: text('output').notNull(),
    end: ts('end').notNull(),
    elapsedMs: bigint('elapsed_ms', { mode: 'number' }).notNull(),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    listener: text('listener'),
    ua: text('ua'),
    /** Listening ms per minute from `first_minute` on (dense array), so a re-finalization can subtract it. */
    firstMinute: ts('first_minute').notNull(),
    minuteMs: integer('minute_ms').array().notNull(),
    finalizedAt: ts('finalized_at').notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.session, t.start] }), index('sessions_stream_start').on(t.stream, t.start)],
);

/** Listening ms of each counted session in each UTC quarter-hour it touches (AQH, cume, AS by daypart). */
export const sessionQuarterHours = pgTable(
  'session_quarter_hours',
  {
    session: text('session').notNull(),
    sessionStart: ts('session_start').notNull(),
    stream: text('stream').notNull(),
    quarterHour: ts('quarter_hour').notNull(),
    ms: integer('ms').notNull(),
    listener: text('listener'),
  },
  (t) => [
    primaryKey({ columns: [t.session, t.sessionStart, t.quarterHour] }),
    index('session_quarter_hours_stream_qh').on(t.stream, t.quarterHour),
  ],
);

/** Per stream and minute: listening ms and distinct counted sessions (maintained by the worker with deltas). */
export const streamMinutes = pgTable(
  'stream_minutes',
  {
    stream: text('stream').notNull(),
    minute: ts('minute').notNull(),
    ms: bigint('ms', { mode: 'number' }).notNull(),
    sessions: integer('sessions').notNull(),
  },
  (t) => [primaryKey({ columns: [t.stream, t.minute] })],
);

/** Sessions that did not count (under minSession: tune-outs), one row each; counts by stream and minute come from a GROUP BY. */
export const shortSessions = pgTable(
  'short_sessions',
  {
    session: text('session').notNull(),
    start: ts('start').notNull(),
    stream: text('stream').notNull(),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.session, t.start] }), index('short_sessions_stream_start').on(t.stream, t.start)],
);
