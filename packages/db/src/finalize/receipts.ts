import type { ListenEvent } from '@earshot/core';
import type { Queryable } from '../client.js';
import { LOCK_IDS_SQL, NO_SEQSCAN_SQL, REARM_SQL, RECEIPTS_SQL } from './sql-state.js';
import type { FinalizeOutcome, FinalizeSettings, StateRow } from './types.js';

/** Locks state rows in a finalization transaction (planner setting first, pipelined). */
export async function lockStates(tx: Queryable, text: string, params: unknown[]): Promise<StateRow[]> {
  const [, states] = await Promise.all([tx.query(NO_SEQSCAN_SQL), tx.query<StateRow>(text, params)]);
  return states;
}

/** An id's latest receipt and latest event time among its events from its check point on. */
export interface Receipt {
  received_ms: number | null;
  time_ms: number | null;
}

/**
 * The receipt check of due ids (DESIGN section 3: a session is finalized idle after its last event
 * *arrives*): reads each id's latest receipt among the events from its check point on, re-arms
 * (moves due_at to idle after that receipt, pushing `not-due` to `outcomes`) the ids still being
 * listened to, and returns the ids that are due. Reads only the events received since the id's
 * last check, so a re-arm costs the same whatever the id's history.
 */
export async function checkReceipts(
  tx: Queryable,
  work: readonly StateRow[],
  settings: FinalizeSettings,
  outcomes: FinalizeOutcome[],
): Promise<StateRow[]> {
  if (work.length === 0) return [];
  const rows = await tx.query<Receipt & { session: string }>(RECEIPTS_SQL, [
    work.map((s) => s.session),
    work.map((s) => s.check_ms),
  ]);
  return judgeReceipts(tx, work, new Map(rows.map((r) => [r.session, r])), settings, outcomes);
}

/**
 * The receipt check of ids whose events (with `received_ms`) were read already: the same figures
 * as {@link checkReceipts} reads, taken from the events at or after each id's check point.
 */
export function receiptsOf(
  work: readonly StateRow[],
  events: ReadonlyMap<string, readonly ListenEvent[]>,
): Map<string, Receipt> {
  const found = new Map<string, Receipt>();
  for (const s of work) {
    let received: number | null = null;
    let time: number | null = null;
    for (const e of events.get(s.session) ?? []) {
      if (e.time < s.check_ms) continue;
      const r = (e as ListenEvent & { received_ms: number }).received_ms;
      if (received === null || r > received) received = r;
      if (time === null || e.time > time) time = e.time;
    }
    found.set(s.session, { received_ms: received, time_ms: time });
  }
  return found;
}

/** Re-arms the ids of `work` still being listened to by their receipts (`found`); returns the due ones. */
export async function judgeReceipts(
  tx: Queryable,
  work: readonly StateRow[],
  found: ReadonlyMap<string, Receipt>,
  settings: FinalizeSettings,
  outcomes: FinalizeOutcome[],
): Promise<StateRow[]> {
  const idleMs = settings.idleS * 1000;
  const ready: StateRow[] = [];
  const rearm: { session: string; dueMs: number; checkMs: number | null; receivedMs: number }[] = [];
  for (const s of work) {
    const r = found.get(s.session);
    const receivedMs = Math.max(s.received_ms, r?.received_ms ?? Number.NEGATIVE_INFINITY);
    const dueMs = receivedMs + idleMs;
    if (dueMs <= s.now_ms) ready.push(s);
    else {
      rearm.push({ session: s.session, dueMs, checkMs: r?.time_ms ?? null, receivedMs });
      outcomes.push({ session: s.session, status: 'not-due', waitMs: Math.ceil(dueMs - s.now_ms) });
    }
  }
  if (rearm.length > 0) {
    await tx.query(REARM_SQL, [
      rearm.map((r) => r.session),
      rearm.map((r) => r.dueMs),
      rearm.map((r) => r.checkMs),
      rearm.map((r) => r.receivedMs),
    ]);
  }
  return ready;
}

/**
 * Locks the session_state rows of `sessions` in `tx` and runs the receipt check on them alone
 * (re-arming those still listened to), as a finalization does before it reads the ids' events.
 * Returns the ids that are due. For tests and tools that look at the cost of a re-arm.
 */
export async function checkReceiptsOf(
  tx: Queryable,
  sessions: readonly string[],
  settings: FinalizeSettings,
): Promise<{ due: string[]; outcomes: FinalizeOutcome[] }> {
  const states = await lockStates(tx, LOCK_IDS_SQL, [[...sessions]]);
  const outcomes: FinalizeOutcome[] = [];
  const ready = await checkReceipts(tx, states, settings, outcomes);
  return { due: ready.map((s) => s.session), outcomes };
}
