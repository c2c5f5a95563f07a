import type { ListenEvent } from '@earshot/core';
import type { Queryable } from '../client.js';
import { EVENTS_RECEIVED_SQL, EVENTS_SQL, OLD_SESSIONS_SQL, OLD_SHORTS_SQL } from './sql-state.js';
import { iso } from './sql-time.js';
import type { EventRow, SessionRow, ShortRow, StateRow } from './types.js';

/** What a batch's finalization reads under its locks: per id, its events and its stored rows. */
export interface BatchInput {
  /** With `receipts`, each event also carries `received_ms` (its receipt, epoch ms). */
  events: Map<string, ListenEvent[]>;
  sessions: Map<string, SessionRow[]>;
  shorts: Map<string, ShortRow[]>;
}

interface SessionRowDb {
  session: string;
  start_ms: number;
  first_time_ms: number;
  stream: string;
  output: string;
  end_ms: number;
  elapsed_ms: number;
  duration_ms: number;
  bytes: number;
  listener: string | null;
  ua: string | null;
  country: string | null;
  class: string;
  device: string;
  os: string;
  player: string;
  first_minute_ms: number;
  minute_ms: number[];
}

interface ShortRowDb {
  session: string;
  start_ms: number;
  first_time_ms: number;
  end_ms: number | null;
  stream: string;
  duration_ms: number;
  class: string;
}

function push<T>(into: Map<string, T[]>, key: string, value: T): void {
  const list = into.get(key);
  if (list) list.push(value);
  else into.set(key, [value]);
}

/**
 * Reads the events and the stored rows of the ids of `work` (locked by `tx`), in one round trip;
 * with `receipts`, the events' receipts too.
 */
export async function readBatch(
  tx: Queryable,
  work: readonly StateRow[],
  receipts = false,
): Promise<BatchInput> {
  if (work.length === 0) return { events: new Map(), sessions: new Map(), shorts: new Map() };
  let lo = Number.POSITIVE_INFINITY;
  for (const s of work) if (s.first_ms < lo) lo = s.first_ms;
  // Rows are stored for an id only by a finalization, which also sets its finalized_seq (> 0): ids
  // never finalized have none to read.
  const seen = work.filter((s) => s.finalized_seq !== '0').map((s) => s.session);
  // Independent statements go out together (one connection pipelines them, in order).
  const [eventRows, oldSessionRows, oldShortRows] = await Promise.all([
    tx.query<EventRow>(receipts ? EVENTS_RECEIVED_SQL : EVENTS_SQL, [work.map((s) => s.session), iso(lo)]),
    seen.length > 0 ? tx.query<SessionRowDb>(OLD_SESSIONS_SQL, [seen]) : [],
    seen.length > 0 ? tx.query<ShortRowDb>(OLD_SHORTS_SQL, [seen]) : [],
  ]);

  const input: BatchInput = { events: new Map(), sessions: new Map(), shorts: new Map() };
  // A null listener, ua, country or origin reads as absent everywhere in core (`first non-empty`; ids are never null).
  for (const row of eventRows) push(input.events, row.session, row as unknown as ListenEvent);
  for (const r of oldSessionRows) {
    push(input.sessions, r.session, {
      session: r.session,
      start: r.start_ms,
      firstTime: r.first_time_ms,
      stream: r.stream,
      output: r.output,
      end: r.end_ms,
      elapsedMs: r.elapsed_ms,
      durationMs: r.duration_ms,
      bytes: r.bytes,
      listener: r.listener,
      ua: r.ua,
      country: r.country,
      class: r.class,
      device: r.device,
      os: r.os,
      player: r.player,
      firstMinute: r.first_minute_ms,
      minuteMs: r.minute_ms,
    });
  }
  for (const r of oldShortRows) {
    push(input.shorts, r.session, {
      session: r.session,
      start: r.start_ms,
      firstTime: r.first_time_ms,
      end: r.end_ms,
      stream: r.stream,
      durationMs: r.duration_ms,
      class: r.class,
    });
  }
  return input;
}

/** Two inputs of disjoint ids as one. */
export function mergeInputs(a: BatchInput, b: BatchInput): BatchInput {
  for (const key of ['events', 'sessions', 'shorts'] as const) {
    for (const [id, rows] of b[key]) (a[key] as Map<string, unknown[]>).set(id, rows);
  }
  return a;
}
