import type { Queryable } from '../client.js';
import { LOCK_IDS_SQL, NO_SEQSCAN_SQL, REARM_SQL, RECEIPTS_SQL } from './sql-state.js';
import type { FinalizeOutcome, FinalizeSettings, StateRow } from './types.js';

/** Locks state rows in a finalization transaction (planner setting first, pipelined). */
export async function lockStates(tx: Queryable, text: string, params: unknown[]): Promise<StateRow[]> {
  const [, states] = await Promise.all([tx.query(NO_SEQSCAN_SQL), tx.query<StateRow>(text, params)]);
  return states;
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
  const rows = await tx.query<{ session: string; received_ms: number | null; time_ms: number | null }>(
    RECEIPTS_SQL,
    [work.map((s) => s.session), work.map((s) => s.check_ms)],
  );
  const found = new Map(rows.map((r) => [r.session, r]));
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
