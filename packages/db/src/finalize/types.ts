import type { AgentRules } from '@earshot/audience';
import type { CountSettings, ListenEvent, SessionSettings } from '@earshot/core';
import type { sessions, shortSessions } from '../schema.js';

/**
 * Settings that cut, count and classify sessions: idle, maximum and minimum session (seconds), and
 * the station's user-agent rules (bots, relays, monitors; isbot's list applies without them too).
 */
export type FinalizeSettings = SessionSettings & CountSettings & { agents?: AgentRules | undefined };

/** What a finalization did for one session id. */
export type FinalizeOutcome =
  | {
      session: string;
      status: 'finalized';
      /** Counted sessions of the id now stored. */
      counted: number;
      /** Short sessions (tune-outs) of the id now stored. */
      short: number;
      /** Session and short-session rows inserted, replaced or removed (0 when the events changed nothing). */
      written: number;
      /** How long after `due_at` this finalization committed, ms (negative when forced early). */
      lagMs: number;
    }
  /** Already finalized at its latest change: nothing to do. */
  | { session: string; status: 'current' }
  /** Events arrived less than `idle` ago; finalize again in `waitMs` (by the database's clock). */
  | { session: string; status: 'not-due'; waitMs: number }
  /** No session_state row: ingest never stored an event of this id. */
  | { session: string; status: 'missing' }
  /**
   * The id cannot be finalized (its events overflow what a row holds, or PostgreSQL refused its
   * rows): set aside in `finalize_failures` with the error, tried again in `retryInMs`.
   */
  | { session: string; status: 'set-aside'; error: string; attempts: number; retryInMs: number };

export interface FinalizeOptions {
  /** Finalize even when `due_at` is in the future (tests, an operator's "finalize now"). Default false. */
  force?: boolean;
  /**
   * How many times a transaction that PostgreSQL aborted as a deadlock or serialization failure is
   * tried again before the error is thrown. Default 4.
   */
  retries?: number;
  /**
   * Backoff of a set-aside id: its first retry after this many ms, doubling with each failure up to
   * {@link FinalizeOptions.setAsideMaxMs}. Default 60 000.
   */
  setAsideBaseMs?: number;
  /** Longest wait between two tries of a set-aside id, ms. Default 6 h. */
  setAsideMaxMs?: number;
}

/** The locked session_state row, as read by a finalizer. */
export interface StateRow {
  session: string;
  first_ms: number;
  /** The database's clock (the transaction's start), epoch ms. */
  now_ms: number;
  /** Earliest event time since the last finalization; null: unknown (recompute everything). */
  changed_from_ms: number | null;
  change_seq: string;
  finalized_seq: string;
  wait_ms: number;
  /** Where the receipt check reads from: `coalesce(check_from, changed_from, first_time)`, epoch ms. */
  check_ms: number;
  /** The latest receipt known without reading events (ingest's last change, the last re-arm's find). */
  received_ms: number;
}

/** An event row: core's ListenEvent, with SQL nulls where core has absent fields. */
export type EventRow = Omit<ListenEvent, 'listener' | 'ua' | 'country' | 'origin'> & {
  listener: string | null;
  ua: string | null;
  country: string | null;
  origin: string | null;
};

/** A row's timestamp columns `K` as epoch ms (null stays null), the rest as the schema reads them. */
export type InEpochMs<Row, K extends keyof Row> = Omit<Row, K> & {
  [P in K]: null extends Row[P] ? number | null : number;
};

/** A stored `sessions` row in numbers: the schema's columns, times epoch ms, durations ms. */
export type StoredSessionRow = InEpochMs<
  Omit<typeof sessions.$inferSelect, 'finalizedAt'>,
  'start' | 'firstTime' | 'end' | 'firstMinute'
>;

/** A stored `short_sessions` row in numbers (`end` null for rows stored before migration 0003). */
export type StoredShortRow = InEpochMs<typeof shortSessions.$inferSelect, 'start' | 'firstTime' | 'end'>;

/** A `sessions` row as finalization handles it. */
export interface SessionRow extends StoredSessionRow {
  /** Listening ms by quarter-hour start; only for newly computed rows. */
  quarterHours?: Map<number, number>;
}

export type ShortRow = StoredShortRow;
