import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

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
    /** Country of the event's IP (ISO 3166-1 alpha-2), looked up by ingest before the IP was dropped. */
    country: text('country'),
    /** `relay` or `monitor` when the event's IP was in a configured range (by ingest); else null. */
    origin: text('origin'),
    receivedAt: ts('received_at').notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.time] }),
    index('listen_events_session_time').on(t.session, t.time),
    // Live listeners read the last minute of every session: a BRIN index finds the recent pages of
    // an append-mostly table for a few bytes per 128 pages, where a btree would cost every insert.
    index('listen_events_time_brin').using('brin', t.time),
  ],
);

/** Source of `session_state.change_seq`: every bump takes `nextval`, so a higher value is a later change. */
export const sessionChangeSeq = pgSequence('session_change_seq');

/**
 * One row per session id: what ingest has seen and what the worker has finalized. When a batch
 * brings the first new events of a session id since its last finalization, ingest bumps
 * `change_seq` (from a sequence) and sets `due_at` = now() + idle, in the batch's transaction; later
 * batches only lock the row (or lower `changed_from` for a late event), so `last_time` and
 * `last_received_at` are as of that change. The worker locks the row, reads the id's events, and
 * either finalizes (setting `finalized_seq = change_seq`) or, when an event was received less than
 * idle ago, moves `due_at` to idle after that receipt. A row with `finalized_seq < change_seq` and
 * `due_at <= now()` is what the sweep picks up.
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
    /**
     * The earliest event `time` among the events stored since the last finalization (null: unknown,
     * recompute the whole id). A re-finalization starts from core's `resumePoint` for it.
     */
    changedFrom: ts('changed_from'),
    /**
     * Where the finalizer's receipt check starts reading (the latest event `time` it saw when it last
     * re-armed the id; lowered by ingest for an event before it; null: from `changed_from`). Every
     * event received since that check has a `time` at or after it, so a re-arm reads only the events
     * of its last idle, not the id's whole history.
     */
    checkFrom: ts('check_from'),
  },
  (t) => [index('session_state_pending').on(t.dueAt).where(sql`finalized_seq < change_seq`)],
);

/**
 * Counted sessions (DESIGN section 3), keyed by session id and start (the first event's interval
 * start, `time - duration`).
 */
export const sessions = pgTable(
  'sessions',
  {
    session: text('session').notNull(),
    start: ts('start').notNull(),
    /** `time` of the session's first event: where a re-finalization resumes (core's `resumePoint`). */
    firstTime: ts('first_time').notNull(),
    stream: text('stream').notNull(),
    output: text('output').notNull(),
    end: ts('end').notNull(),
    elapsedMs: bigint('elapsed_ms', { mode: 'number' }).notNull(),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    listener: text('listener'),
    ua: text('ua'),
    /** The first country of its events (ingest's lookup of the IP), or null. */
    country: text('country'),
    /**
     * `human`, or why the session is left out of net figures: `bot`, `relay`, `monitor` (DESIGN 4).
     * Only human sessions are in the rollups (stream_minutes, stream_quarter_hours, listener months):
     * net reports read those; gross reports read the per-session rows.
     */
    class: text('class').notNull().default('human'),
    /** Device type, OS and player of its first user agent (`unknown` when not known). */
    device: text('device').notNull().default('unknown'),
    os: text('os').notNull().default('unknown'),
    player: text('player').notNull().default('unknown'),
    /** Listening ms per minute from `first_minute` on (dense array), so a re-finalization can subtract it. */
    firstMinute: ts('first_minute').notNull(),
    minuteMs: bigint('minute_ms', { mode: 'number' }).array().notNull(),
    finalizedAt: ts('finalized_at').notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ columns: [t.session, t.start] }),
    index('sessions_stream_start').on(t.stream, t.start),
    // Breakdowns over all streams (histogram, by output, by client) select by start alone.
    index('sessions_start').on(t.start),
    // A listener's sessions on a stream: what the worker reads to rebuild a stream_listener_months row.
    index('sessions_listener').on(t.listener, t.stream, t.start).where(sql`listener is not null`),
    // Gross minutes add the excluded sessions' minute arrays to the (net) rollup: few rows.
    index('sessions_excluded').on(t.start).where(sql`class <> 'human'`),
    // Sessions of an hour or more: where the count of streams left running (8 h by default) looks
    // (with INCLUDE columns in the migration, 0008, which drizzle-kit cannot declare).
    index('sessions_long').on(t.durationMs, t.start).where(sql`duration_ms >= 3600000`),
    // Sessions whose listening spans an hour or more (first minute to last event), by that span:
    // the ones that can listen across a daypart's night (reports' run-start gaps; INCLUDE columns
    // in the migration, 0010).
    index('sessions_span_long')
      .using('gist', sql`tstzrange(${t.firstMinute}, ${t.end}, '[]')`)
      .where(sql`"end" - first_minute >= interval '1 hour'`),
  ],
);

/** Listening ms of each counted session in each UTC quarter-hour it touches (AQH, cume, AS by daypart). */
export const sessionQuarterHours = pgTable(
  'session_quarter_hours',
  {
    session: text('session').notNull(),
    sessionStart: ts('session_start').notNull(),
    stream: text('stream').notNull(),
    quarterHour: ts('quarter_hour').notNull(),
    ms: bigint('ms', { mode: 'number' }).notNull(),
    listener: text('listener'),
    /** The session's previous quarter-hour with listening; null on its first. */
    prevQuarterHour: ts('prev_quarter_hour'),
    /** Whether the session also listened in the quarter-hour just before (prev = this - 15 min). */
    continues: boolean('continues').notNull().default(false),
    /** The session's class (see `sessions.class`): net per-session queries keep `human` rows only. */
    class: text('class').notNull().default('human'),
  },
  (t) => [
    primaryKey({ columns: [t.session, t.sessionStart, t.quarterHour] }),
    index('session_quarter_hours_stream_qh').on(t.stream, t.quarterHour),
    // Both partial indexes carry INCLUDE columns in the migration (0001), which drizzle-kit cannot
    // declare: cume reads the first row of each run of a session, active sessions the rows after a gap.
    index('session_quarter_hours_run_start').on(t.quarterHour).where(sql`not continues`),
    index('session_quarter_hours_gaps')
      .on(t.quarterHour)
      .where(sql`not continues and prev_quarter_hour is not null`),
    // The excluded sessions' rows of a period (net reports count them by reason): few rows.
    index('session_quarter_hours_excluded').on(t.quarterHour).where(sql`class <> 'human'`),
  ],
);

/** Whole minutes a rollup row counts for AQH qualifiers: `qualified[k - 1]` for k = 1..15. */
export const QUALIFIER_MINUTES = 15;

/**
 * The session-length histogram's bin bounds, seconds: bin 0 is under the first, bin i from the
 * i-th on (as `width_bucket(duration, bounds)`), the last open. `stream_quarter_hours.lengths`
 * counts the sessions starting in a QH by these bins.
 */
export const SESSION_LENGTH_BOUNDS_S: readonly number[] = [60, 600, 1800, 5400, 14_400];

/** A listening time's bin of {@link SESSION_LENGTH_BOUNDS_S} (width_bucket's). */
export function sessionLengthBin(durationMs: number): number {
  let bin = 0;
  while (bin < SESSION_LENGTH_BOUNDS_S.length && durationMs >= SESSION_LENGTH_BOUNDS_S[bin]! * 1000) bin++;
  return bin;
}

/**
 * The quarter-hour rollup: per stream and UTC quarter-hour, sums over the counted sessions'
 * `session_quarter_hours` rows, maintained by the worker with deltas in the finalization
 * transaction (like `stream_minutes`). Reports read AQH, TLH, AAS, active sessions and starts from
 * here: one row per stream and QH instead of one per session and QH.
 */
export const streamQuarterHours = pgTable(
  'stream_quarter_hours',
  {
    stream: text('stream').notNull(),
    quarterHour: ts('quarter_hour').notNull(),
    /** Listening ms of counted sessions in the QH. */
    ms: bigint('ms', { mode: 'number' }).notNull(),
    /** Counted sessions with listening in the QH. */
    sessions: integer('sessions').notNull(),
    /** Of those, sessions that also listened in the QH before. */
    continuing: integer('continuing').notNull(),
    /** Counted sessions that start in the QH (listening in it or not). */
    starts: integer('starts').notNull(),
    /** `qualified[k]`: sessions with at least k whole minutes (k x 60 000 ms) in the QH, k = 1..15. */
    qualified: integer('qualified').array().notNull(),
    /**
     * Of `starts`, by listening time: `lengths[i + 1]` in bin i of {@link SESSION_LENGTH_BOUNDS_S}
     * (the session-length histogram reads these, not every session of the period).
     */
    lengths: integer('lengths').array().notNull().default(sql`'{0,0,0,0,0,0}'`),
    /** Short sessions (tune-outs, `short_sessions`) that start in the QH. */
    shortStarts: integer('short_starts').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.stream, t.quarterHour] })],
);

/**
 * A session's audience as the breakdowns group it (DESIGN 4, geography and devices): country
 * (`unknown` when the session has none, as core groups it), device, OS, player and output.
 */
const audienceColumns = () => ({
  country: text('country').notNull(),
  device: text('device').notNull(),
  os: text('os').notNull(),
  player: text('player').notNull(),
  output: text('output').notNull(),
});

/**
 * The quarter-hour rollup by audience: `stream_quarter_hours` split by the sessions' country,
 * device, OS, player and output (human sessions), so that the breakdowns by each read one row per
 * stream, QH and audience instead of one per session and QH. Maintained by the worker with the same
 * deltas as `stream_quarter_hours`; summed over the audiences it equals that table.
 */
export const streamAudienceQuarterHours = pgTable(
  'stream_audience_quarter_hours',
  {
    stream: text('stream').notNull(),
    quarterHour: ts('quarter_hour').notNull(),
    ...audienceColumns(),
    ms: bigint('ms', { mode: 'number' }).notNull(),
    sessions: integer('sessions').notNull(),
    continuing: integer('continuing').notNull(),
    starts: integer('starts').notNull(),
    qualified: integer('qualified').array().notNull(),
  },
  (t) => [
    primaryKey({
      name: 'stream_audience_quarter_hours_pk',
      columns: [t.stream, t.quarterHour, t.country, t.device, t.os, t.player, t.output],
    }),
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
    /** `time` of the session's first event, as in `sessions`. */
    firstTime: ts('first_time').notNull(),
    stream: text('stream').notNull(),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
    /** `time` of the session's last event (null for rows stored before migration 0003). */
    end: ts('end'),
    /** The session's class, as in `sessions` (net tune-out counts keep `human` rows only). */
    class: text('class').notNull().default('human'),
  },
  (t) => [
    primaryKey({ columns: [t.session, t.start] }),
    index('short_sessions_stream_start').on(t.stream, t.start),
  ],
);

/** PostgreSQL `bit varying`, as a string of 0s and 1s. */
const varbit = customType<{ data: string; driverData: string }>({ dataType: () => 'bit varying' });

/**
 * Cume keys (a session's listener, else `session:` + its id, as core counts them), numbered so
 * that cume counts small integers instead of hashing text.
 */
export const listenerKeys = pgTable('listener_keys', {
  key: text('key').primaryKey(),
  // bigint: a value is drawn only for a key not stored yet (see finalize's INSERT_KEYS_SQL), but an
  // identity never gives values back, and int would run out after 2^31 distinct keys.
  id: bigint('id', { mode: 'number' })
    .generatedAlwaysAsIdentity()
    .notNull()
    .unique('listener_keys_id_unique'),
});

/**
 * Per stream, UTC month and cume key: the quarter-hours of the month in which the key's counted
 * sessions on the stream listened, as a bit string (bit i = the QH that starts i x 15 min after the
 * month's start; one bit per QH of the month). Cume over any period and daypart is the number of
 * keys whose bits meet the period's: one row per listener and month instead of one per session and
 * quarter-hour. Maintained by the worker in the finalization transaction.
 */
export const streamListenerMonths = pgTable(
  'stream_listener_months',
  {
    stream: text('stream').notNull(),
    month: ts('month').notNull(),
    keyId: bigint('key_id', { mode: 'number' }).notNull(),
    qhs: varbit('qhs').notNull(),
  },
  (t) => [primaryKey({ columns: [t.stream, t.month, t.keyId] })],
);

/**
 * Listener months by audience: `stream_listener_months` split by the audience of the key's
 * sessions (a listener whose sessions came from two devices has a row for each), so that cume per
 * country, device, OS, player or output is a count of keys whose bits meet the period's. Human
 * sessions only; maintained by the worker like `stream_listener_months`.
 */
export const streamAudienceMonths = pgTable(
  'stream_audience_months',
  {
    stream: text('stream').notNull(),
    month: ts('month').notNull(),
    keyId: bigint('key_id', { mode: 'number' }).notNull(),
    ...audienceColumns(),
    qhs: varbit('qhs').notNull(),
  },
  (t) => [
    primaryKey({
      name: 'stream_audience_months_pk',
      columns: [t.stream, t.month, t.keyId, t.country, t.device, t.os, t.player, t.output],
    }),
  ],
);

/**
 * Session ids the worker could not finalize (DESIGN section 6): set aside with the error, so every
 * other session is finalized on time. `session_state.due_at` of the id is moved to `retry_at`
 * (exponential backoff), when the sweep tries it again; a finalization that succeeds removes the row.
 * Operators read this table (and `earshot_finalize_quarantined` in the worker's /metrics).
 */
export const finalizeFailures = pgTable('finalize_failures', {
  session: text('session').primaryKey(),
  /** The error's message (PostgreSQL's or the finalizer's own), without internals such as SQL text. */
  error: text('error').notNull(),
  /** PostgreSQL SQLSTATE, when the database raised it. */
  code: text('code'),
  attempts: integer('attempts').notNull(),
  firstFailedAt: ts('first_failed_at').notNull().default(sql`now()`),
  lastFailedAt: ts('last_failed_at').notNull().default(sql`now()`),
  retryAt: ts('retry_at').notNull(),
});

/**
 * Settings the running services work with, one row per component (`ingest`: its event time window;
 * `finalize`: idle, min and max session the stored rows were cut with). Other processes read them
 * from here instead of trusting their own environment: retention reads ingest's max event age, and
 * a worker with other session settings than the stored rows refuses to start unless told to
 * re-finalize.
 */
export const earshotSettings = pgTable('earshot_settings', {
  component: text('component').primaryKey(),
  settings: jsonb('settings').notNull(),
  updatedAt: ts('updated_at').notNull().default(sql`now()`),
});

/**
 * Track events (DESIGN section 9): from `time` on, `stream` plays this track, until the stream's
 * next row. Keyed by the event id alone, so an event with a stored id replaces that row (a
 * correction, also one that moves `time`). Figures read a stream's rows in time order.
 */
export const streamTracks = pgTable(
  'stream_tracks',
  {
    id: text('id').primaryKey(),
    stream: text('stream').notNull(),
    time: ts('time').notNull(),
    /** Empty for talk, ads and other segments without one. */
    artist: text('artist').notNull(),
    title: text('title').notNull(),
    album: text('album'),
    /** 12 characters, no dashes, upper case (core's `parseTrack`). */
    isrc: text('isrc'),
    label: text('label'),
    /** The track's length, if the source said. */
    durationMs: integer('duration_ms'),
    /** `music`, `talk`, `ad` or `other`. */
    kind: text('kind').notNull(),
    receivedAt: ts('received_at').notNull().default(sql`now()`),
  },
  (t) => [index('stream_tracks_stream_time').on(t.stream, t.time)],
);
