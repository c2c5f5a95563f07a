import type { Queryable } from '../client.js';
import { planBatch } from './plan.js';
import { readBatch } from './read.js';
import { checkReceipts } from './receipts.js';
import type { FinalizeOptions, FinalizeOutcome, FinalizeSettings, StateRow } from './types.js';
import { writeBatch } from './write.js';

/** Sorts locked ids into those with nothing to do (`current`, `not-due`) and the work. */
function triage(
  states: readonly StateRow[],
  options: FinalizeOptions,
): { outcomes: FinalizeOutcome[]; work: StateRow[] } {
  const outcomes: FinalizeOutcome[] = [];
  const work: StateRow[] = [];
  for (const state of states) {
    if (BigInt(state.finalized_seq) >= BigInt(state.change_seq))
      outcomes.push({ session: state.session, status: 'current' });
    else if (state.wait_ms > 0 && !options.force) {
      outcomes.push({ session: state.session, status: 'not-due', waitMs: Math.ceil(state.wait_ms) });
    } else work.push(state);
  }
  return { outcomes, work };
}

/**
 * Finalizes session ids whose session_state rows `tx` holds locked (`states`). The heart of both
 * the job path and the sweep; bulk statements over arrays, about a dozen per batch whatever its
 * size. Steps: triage, the receipt check (unless forced), read, plan (no database), write and mark.
 */
export async function finalizeLocked(
  tx: Queryable,
  states: readonly StateRow[],
  settings: FinalizeSettings,
  options: FinalizeOptions,
): Promise<FinalizeOutcome[]> {
  const { outcomes, work: todo } = triage(states, options);
  let work = todo;
  if (work.length === 0) return outcomes;

  // Ingest does not move due_at for every batch (it only locks an id already waiting): an id with
  // an event received less than idle ago is still being listened to, and is due at idle after it.
  if (!options.force) {
    work = await checkReceipts(tx, work, settings, outcomes);
    if (work.length === 0) return outcomes;
  }

  const plan = planBatch(work, await readBatch(tx, work), settings);
  const lagById = await writeBatch(tx, work, plan, settings);
  for (const { session } of work) {
    const stats = plan.perId.get(session)!;
    outcomes.push({ session, status: 'finalized', ...stats, lagMs: Math.round(lagById.get(session) ?? 0) });
  }
  return outcomes;
}
