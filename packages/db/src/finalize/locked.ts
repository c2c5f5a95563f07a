import type { Queryable } from '../client.js';
import { planBatch } from './plan.js';
import { type BatchInput, mergeInputs, readBatch } from './read.js';
import { checkReceipts, judgeReceipts, receiptsOf } from './receipts.js';
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

  let input: BatchInput;
  if (options.force) input = await readBatch(tx, work);
  else {
    // Ingest does not move due_at for every batch (it only locks an id already waiting): an id with
    // an event received less than idle ago is still being listened to, and is due at idle after it.
    // An id never re-armed nor finalized since its first event checks from there (check point =
    // first event): its receipts are among the events finalizing it reads, so it reads them once,
    // with their receipts. The others check the events since their last check first, and only the
    // due ones read their history.
    const fresh = work.filter((s) => s.check_ms <= s.first_ms);
    const checked = work.filter((s) => s.check_ms > s.first_ms);
    const [freshInput, checkedReady] = await Promise.all([
      readBatch(tx, fresh, true),
      checkReceipts(tx, checked, settings, outcomes),
    ]);
    const freshReady = await judgeReceipts(
      tx,
      fresh,
      receiptsOf(fresh, freshInput.events),
      settings,
      outcomes,
    );
    const ready = new Set(freshReady.map((s) => s.session));
    for (const s of fresh) {
      if (ready.has(s.session)) continue;
      freshInput.events.delete(s.session);
      freshInput.sessions.delete(s.session);
      freshInput.shorts.delete(s.session);
    }
    input = mergeInputs(freshInput, await readBatch(tx, checkedReady));
    work = [...freshReady, ...checkedReady];
    if (work.length === 0) return outcomes;
  }

  const plan = planBatch(work, input, settings);
  const lagById = await writeBatch(tx, work, plan, settings);
  for (const { session } of work) {
    const stats = plan.perId.get(session)!;
    outcomes.push({ session, status: 'finalized', ...stats, lagMs: Math.round(lagById.get(session) ?? 0) });
  }
  return outcomes;
}
