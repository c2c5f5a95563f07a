import type { Db, DbTx } from '../client.js';
import { finalizeLocked } from './locked.js';
import { lockStates } from './receipts.js';
import { DEFAULT_RETRIES, isSessionDataError, setAside, withRetries } from './retry.js';
import { LOCK_DUE_SQL, LOCK_IDS_SKIP_SQL, LOCK_IDS_SQL } from './sql-state.js';
import type { FinalizeOptions, FinalizeOutcome, FinalizeSettings } from './types.js';

/**
 * Finalizes `ids` in one transaction (their free rows, SKIP LOCKED), and when that fails because
 * of what one of them holds, splits them in halves until the ids that fail are alone, and sets
 * those aside: one bad id costs about 2 log2(n) transactions, and every other id is finalized.
 */
async function finalizeIsolated(
  db: Db,
  ids: readonly string[],
  settings: FinalizeSettings,
  options: FinalizeOptions,
): Promise<FinalizeOutcome[]> {
  try {
    return await withRetries(options.retries ?? DEFAULT_RETRIES, () =>
      db.transaction(async (tx) => {
        const states = await lockStates(tx, LOCK_IDS_SKIP_SQL, [ids]);
        return finalizeLocked(tx, states, settings, options);
      }),
    );
  } catch (error) {
    if (!isSessionDataError(error)) throw error;
    if (ids.length === 1) return [await setAside(db, ids[0]!, error, options)];
    const half = Math.ceil(ids.length / 2);
    return [
      ...(await finalizeIsolated(db, ids.slice(0, half), settings, options)),
      ...(await finalizeIsolated(db, ids.slice(half), settings, options)),
    ];
  }
}

/**
 * Finalizes one session id (DESIGN section 3) in ONE transaction: locks its session_state row
 * (`FOR UPDATE`: waits for an in-flight ingest of the id or another finalizer), returns `current`
 * when `finalized_seq >= change_seq` and `not-due` when `due_at` is still ahead (unless `force`),
 * else runs core over the id's events and replaces its stored rows, correcting `stream_minutes` by
 * the difference, and sets `finalized_seq` to the `change_seq` read under the lock. An id whose
 * rows cannot be made is set aside (`set-aside`) instead of throwing.
 */
export async function finalizeSession(
  db: Db,
  session: string,
  settings: FinalizeSettings,
  options: FinalizeOptions = {},
): Promise<FinalizeOutcome> {
  try {
    return await withRetries(options.retries ?? DEFAULT_RETRIES, () =>
      db.transaction(async (tx) => {
        const states = await lockStates(tx, LOCK_IDS_SQL, [[session]]);
        if (states.length === 0) return { session, status: 'missing' } as const;
        const outcomes = await finalizeLocked(tx, states, settings, options);
        return outcomes[0]!;
      }),
    );
  } catch (error) {
    if (!isSessionDataError(error)) throw error;
    return setAside(db, session, error, options);
  }
}

/**
 * Finalizes many session ids with the cost of a few statements per batch rather than per id (the
 * job path batches concurrent jobs through this). Ids whose rows are free are locked and finalized
 * together in one transaction (SKIP LOCKED, so the batch never waits holding locks: no deadlock with
 * ingest or other batches); ids that were locked at that moment are then finalized one by one, each
 * waiting for its own lock as {@link finalizeSession} does. An id that cannot be finalized is found
 * by splitting the batch and set aside; the others are finalized. Returns one outcome per distinct id.
 */
export async function finalizeSessions(
  db: Db,
  sessions: readonly string[],
  settings: FinalizeSettings,
  options: FinalizeOptions = {},
): Promise<FinalizeOutcome[]> {
  const ids = [...new Set(sessions)];
  if (ids.length === 0) return [];
  if (ids.length === 1) return [await finalizeSession(db, ids[0]!, settings, options)];
  const first = await finalizeIsolated(db, ids, settings, options);
  const seen = new Set(first.map((o) => o.session));
  const outcomes = [...first];
  // Busy (locked by someone else) or missing: one by one, each waiting for its own row lock.
  for (const id of ids) if (!seen.has(id)) outcomes.push(await finalizeSession(db, id, settings, options));
  return outcomes;
}

/**
 * One sweep batch in one transaction: locks up to `limit` due, unfinalized session ids (SKIP
 * LOCKED) and finalizes them. Returns the outcomes (empty when nothing is due). When the batch
 * fails because of an id's data, its ids are finalized again split in halves, and the id that
 * fails is set aside.
 */
export async function finalizeDueBatch(
  db: Db,
  limit: number,
  settings: FinalizeSettings,
  options: Omit<FinalizeOptions, 'force'> = {},
): Promise<FinalizeOutcome[]> {
  let locked: string[] = [];
  try {
    return await withRetries(options.retries ?? DEFAULT_RETRIES, () =>
      db.transaction(async (tx: DbTx) => {
        const states = await lockStates(tx, LOCK_DUE_SQL, [limit]);
        locked = states.map((s) => s.session);
        if (states.length === 0) return [];
        return finalizeLocked(tx, states, settings, {});
      }),
    );
  } catch (error) {
    if (!isSessionDataError(error) || locked.length === 0) throw error;
    return finalizeIsolated(db, locked, settings, { ...options, force: false });
  }
}
