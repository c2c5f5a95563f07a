import { planRowChanges, resumePoint } from '@earshot/core';
import { addRowDeltas, addShortDeltas, createRollupDeltas, type RollupDeltas } from './deltas.js';
import type { BatchInput } from './read.js';
import { computeSessionRows, sameSessionRow, sameShortRow } from './rows.js';
import type { FinalizeSettings, SessionRow, ShortRow, StateRow } from './types.js';

/** What a batch writes: the rows to remove and insert, the rollup deltas, and per-id counts. */
export interface BatchPlan {
  removeSessions: SessionRow[];
  insertSessions: SessionRow[];
  removeShorts: ShortRow[];
  insertShorts: ShortRow[];
  deltas: RollupDeltas;
  perId: Map<string, { counted: number; short: number; written: number }>;
}

/**
 * Computes a batch's changes from what it read (no database): for each id, core's rows from its
 * events since the resume point, compared with its stored rows from there on. A replaced row is a
 * removal plus an insertion, so the rollups get the difference.
 */
export function planBatch(
  work: readonly StateRow[],
  input: BatchInput,
  settings: FinalizeSettings,
): BatchPlan {
  const plan: BatchPlan = {
    removeSessions: [],
    insertSessions: [],
    removeShorts: [],
    insertShorts: [],
    deltas: createRollupDeltas(),
    perId: new Map(),
  };
  const removeSession = (old: SessionRow) => {
    plan.removeSessions.push(old);
    addRowDeltas(plan.deltas, old, -1);
  };
  const insertSession = (row: SessionRow) => {
    plan.insertSessions.push(row);
    addRowDeltas(plan.deltas, row, 1);
  };
  const removeShort = (old: ShortRow) => {
    plan.removeShorts.push(old);
    addShortDeltas(plan.deltas, old, -1);
  };
  const insertShort = (row: ShortRow) => {
    plan.insertShorts.push(row);
    addShortDeltas(plan.deltas, row, 1);
  };

  for (const state of work) {
    const id = state.session;
    const storedSessions = input.sessions.get(id) ?? [];
    const storedShorts = input.shorts.get(id) ?? [];
    // Rows whose first event is before the resume point stay; the events from it on give the rest.
    const from =
      state.changed_from_ms === null
        ? Number.NEGATIVE_INFINITY
        : resumePoint(
            [
              ...storedSessions.map((r) => ({ first: r.firstTime, end: r.end })),
              ...storedShorts.map((r) => ({ first: r.firstTime, end: r.end ?? undefined })),
            ],
            state.changed_from_ms,
            settings,
          );
    const events = (input.events.get(id) ?? []).filter((e) => e.time >= from);
    const { counted, short } = computeSessionRows(events, settings);
    const keptCounted = storedSessions.filter((r) => r.firstTime < from).length;
    const keptShort = storedShorts.filter((r) => r.firstTime < from).length;
    const stats = { counted: keptCounted + counted.length, short: keptShort + short.length, written: 0 };
    plan.perId.set(id, stats);
    const sessionsPlan = planRowChanges(
      storedSessions.filter((r) => r.firstTime >= from),
      counted,
      sameSessionRow,
    );
    for (const { old, row } of sessionsPlan.update) {
      removeSession(old);
      insertSession(row);
    }
    for (const row of sessionsPlan.insert) insertSession(row);
    for (const old of sessionsPlan.remove) removeSession(old);
    const shortsPlan = planRowChanges(
      storedShorts.filter((r) => r.firstTime >= from),
      short,
      sameShortRow,
    );
    for (const { old, row } of shortsPlan.update) {
      removeShort(old);
      insertShort(row);
    }
    for (const row of shortsPlan.insert) insertShort(row);
    for (const old of shortsPlan.remove) removeShort(old);
    stats.written =
      sessionsPlan.update.length +
      sessionsPlan.insert.length +
      sessionsPlan.remove.length +
      shortsPlan.update.length +
      shortsPlan.insert.length +
      shortsPlan.remove.length;
  }
  return plan;
}
