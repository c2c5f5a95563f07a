import { MAX_DURATION_S, QUARTER_HOUR_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import {
  type AudienceMonth,
  audienceMonthsToWrite,
  changedMinutes,
  changedQuarterHours,
  listenerMonthsToWrite,
  rowQuarterHours,
} from './deltas.js';
import type { BatchPlan } from './plan.js';
import {
  DELETE_AUDIENCE_MONTHS_SQL,
  DELETE_EMPTY_AUDIENCE_QUARTER_HOURS_SQL,
  DELETE_EMPTY_MINUTES_SQL,
  DELETE_EMPTY_QUARTER_HOURS_SQL,
  DELETE_LISTENER_MONTHS_SQL,
  INSERT_KEYS_SQL,
  LOCK_KEYS_SQL,
  OR_AUDIENCE_MONTHS_SQL,
  OR_LISTENER_MONTHS_SQL,
  REBUILD_AUDIENCE_MONTHS_SQL,
  REBUILD_LISTENER_MONTHS_SQL,
  SHARE_KEYS_SQL,
  UPSERT_AUDIENCE_QUARTER_HOURS_SQL,
  UPSERT_MINUTES_SQL,
  UPSERT_QUARTER_HOURS_SQL,
} from './sql-rollups.js';
import {
  DELETE_QUARTER_HOURS_SQL,
  DELETE_SESSIONS_SQL,
  DELETE_SHORTS_SQL,
  INSERT_QUARTER_HOURS_SQL,
  INSERT_SESSIONS_SQL,
  INSERT_SHORTS_SQL,
} from './sql-rows.js';
import { CLEAR_FAILURES_SQL, MARK_FINALIZED_SQL } from './sql-state.js';
import type { FinalizeSettings, StateRow } from './types.js';

function keyArrays(rows: readonly { session: string; start: number }[]): [string[], number[]] {
  return [rows.map((r) => r.session), rows.map((r) => r.start)];
}

/** The session rows' statements: deletes before the inserts of the same keys. */
function rowWrites(tx: Queryable, plan: BatchPlan): Promise<unknown>[] {
  const writes: Promise<unknown>[] = [];
  const { removeSessions, insertSessions, removeShorts, insertShorts } = plan;
  if (removeSessions.length > 0) {
    const keys = keyArrays(removeSessions);
    writes.push(tx.query(DELETE_SESSIONS_SQL, keys), tx.query(DELETE_QUARTER_HOURS_SQL, keys));
  }
  if (removeShorts.length > 0) writes.push(tx.query(DELETE_SHORTS_SQL, keyArrays(removeShorts)));
  if (insertSessions.length > 0) {
    const r = insertSessions;
    writes.push(
      tx.query(INSERT_SESSIONS_SQL, [
        r.map((s) => s.session),
        r.map((s) => s.start),
        r.map((s) => s.stream),
        r.map((s) => s.output),
        r.map((s) => s.end),
        r.map((s) => s.elapsedMs),
        r.map((s) => s.durationMs),
        r.map((s) => s.bytes),
        r.map((s) => s.listener),
        r.map((s) => s.ua),
        r.map((s) => s.firstMinute),
        r.map((s) => `{${s.minuteMs.join(',')}}`),
        r.map((s) => s.firstTime),
        r.map((s) => s.country),
        r.map((s) => s.class),
        r.map((s) => s.device),
        r.map((s) => s.os),
        r.map((s) => s.player),
      ]),
    );
    const qh: [
      string[],
      number[],
      string[],
      number[],
      number[],
      (string | null)[],
      (number | null)[],
      string[],
    ] = [[], [], [], [], [], [], [], []];
    for (const s of r) {
      let prev: number | null = null;
      for (const [quarterHour, value] of rowQuarterHours(s)) {
        qh[0].push(s.session);
        qh[1].push(s.start);
        qh[2].push(s.stream);
        qh[3].push(quarterHour);
        qh[4].push(value);
        qh[5].push(s.listener);
        qh[6].push(prev);
        qh[7].push(s.class);
        prev = quarterHour;
      }
    }
    if (qh[0].length > 0) writes.push(tx.query(INSERT_QUARTER_HOURS_SQL, qh));
  }
  if (insertShorts.length > 0) {
    const r = insertShorts;
    writes.push(
      tx.query(INSERT_SHORTS_SQL, [
        r.map((s) => s.session),
        r.map((s) => s.start),
        r.map((s) => s.end),
        r.map((s) => s.stream),
        r.map((s) => s.durationMs),
        r.map((s) => s.firstTime),
        r.map((s) => s.class),
      ]),
    );
  }
  return writes;
}

/** The rollups' statements: stream_minutes, then stream_quarter_hours (each sorted in SQL). */
function rollupWrites(tx: Queryable, plan: BatchPlan): Promise<unknown>[] {
  const writes: Promise<unknown>[] = [];
  // Only a removed row (a session's, or a short one's start) can take a minute or a QH down to nothing.
  const removed = plan.removeSessions.length > 0 || plan.removeShorts.length > 0;
  const changed = changedMinutes(plan.deltas);
  if (changed.length > 0) {
    const streams = changed.map((d) => d.stream);
    const minutes = changed.map((d) => d.minute);
    writes.push(
      tx.query(UPSERT_MINUTES_SQL, [
        streams,
        minutes,
        changed.map((d) => d.ms),
        changed.map((d) => d.sessions),
      ]),
    );
    if (removed) writes.push(tx.query(DELETE_EMPTY_MINUTES_SQL, [streams, minutes]));
  }
  const qhChanged = changedQuarterHours(plan.deltas);
  if (qhChanged.length > 0) {
    const streams = qhChanged.map((d) => d.stream);
    const qhs = qhChanged.map((d) => d.qh);
    writes.push(
      tx.query(UPSERT_QUARTER_HOURS_SQL, [
        streams,
        qhs,
        qhChanged.map((d) => d.ms),
        qhChanged.map((d) => d.sessions),
        qhChanged.map((d) => d.continuing),
        qhChanged.map((d) => d.starts),
        qhChanged.map((d) => `{${d.qualified.join(',')}}`),
        qhChanged.map((d) => `{${d.lengths.join(',')}}`),
        qhChanged.map((d) => d.shortStarts),
      ]),
    );
    if (removed) writes.push(tx.query(DELETE_EMPTY_QUARTER_HOURS_SQL, [streams, qhs]));
  }
  const byAudience = changedQuarterHours(plan.deltas, 'audience');
  if (byAudience.length > 0) {
    const keys = [
      byAudience.map((d) => d.stream),
      byAudience.map((d) => d.qh),
      ...audienceArrays(byAudience.map((d) => d.audience)),
    ];
    writes.push(
      tx.query(UPSERT_AUDIENCE_QUARTER_HOURS_SQL, [
        ...keys,
        byAudience.map((d) => d.ms),
        byAudience.map((d) => d.sessions),
        byAudience.map((d) => d.continuing),
        byAudience.map((d) => d.starts),
        byAudience.map((d) => `{${d.qualified.join(',')}}`),
      ]),
    );
    if (removed) writes.push(tx.query(DELETE_EMPTY_AUDIENCE_QUARTER_HOURS_SQL, keys));
  }
  return writes;
}

/** Country, device, os, player and output arrays of a list of audiences (SQL parameters). */
function audienceArrays(list: readonly AudienceMonth['audience'][]): string[][] {
  return [
    list.map((a) => a.country),
    list.map((a) => a.device),
    list.map((a) => a.os),
    list.map((a) => a.player),
    list.map((a) => a.output),
  ];
}

/**
 * The listener months' statements: keys first (inserted when new, then locked), then bits added
 * where nothing was removed, then rebuilt months (after every row of this batch is written, so a
 * rebuild sees them).
 */
function listenerMonthWrites(tx: Queryable, plan: BatchPlan, settings: FinalizeSettings): Promise<unknown>[] {
  const writes: Promise<unknown>[] = [];
  const { added, rebuilt } = listenerMonthsToWrite(plan.deltas);
  const audience = audienceMonthsToWrite(plan.deltas);
  if (added.length > 0 || rebuilt.length > 0) {
    // The audience months are of the same keys (a human row adds to both), locked here once.
    const keys = [...new Set([...added, ...rebuilt].map((m) => m.key))];
    writes.push(
      tx.query(INSERT_KEYS_SQL, [keys]),
      tx.query(rebuilt.length > 0 ? LOCK_KEYS_SQL : SHARE_KEYS_SQL, [keys]),
    );
  }
  if (added.length > 0) {
    const bits: [string[], number[], string[], number[], number[]] = [[], [], [], [], []];
    for (const m of added) {
      const n = (m.end - m.month) / QUARTER_HOUR_MS;
      for (const i of m.indexes) {
        bits[0].push(m.stream);
        bits[1].push(m.month);
        bits[2].push(m.key);
        bits[3].push(n);
        bits[4].push(i);
      }
    }
    writes.push(tx.query(OR_LISTENER_MONTHS_SQL, bits));
  }
  if (rebuilt.length > 0) {
    const stream = rebuilt.map((m) => m.stream);
    const month = rebuilt.map((m) => m.month);
    const key = rebuilt.map((m) => m.key);
    writes.push(
      tx.query(DELETE_LISTENER_MONTHS_SQL, [stream, month, key]),
      tx.query(REBUILD_LISTENER_MONTHS_SQL, [
        stream,
        month,
        key,
        rebuilt.map((m) => m.end),
        rebuilt.map((m) => (m.end - m.month) / QUARTER_HOUR_MS),
        // A session's audio runs to less than maxSession after its first event, which is at most
        // MAX_DURATION after its start; and a session that starts in the next month can hold audio
        // of this one (an event's interval reaches up to MAX_DURATION before its time).
        (settings.maxSessionS + MAX_DURATION_S) * 1000,
        MAX_DURATION_S * 1000,
      ]),
    );
  }
  if (audience.added.length > 0) {
    const bits: [string[], number[], string[], number[], number[], AudienceMonth['audience'][]] = [
      [],
      [],
      [],
      [],
      [],
      [],
    ];
    for (const m of audience.added) {
      const n = (m.end - m.month) / QUARTER_HOUR_MS;
      for (const i of m.indexes) {
        bits[0].push(m.stream);
        bits[1].push(m.month);
        bits[2].push(m.key);
        bits[3].push(n);
        bits[4].push(i);
        bits[5].push(m.audience);
      }
    }
    writes.push(tx.query(OR_AUDIENCE_MONTHS_SQL, [...bits.slice(0, 5), ...audienceArrays(bits[5])]));
  }
  if (audience.rebuilt.length > 0) {
    const r = audience.rebuilt;
    const who = audienceArrays(r.map((m) => m.audience));
    const stream = r.map((m) => m.stream);
    const month = r.map((m) => m.month);
    const key = r.map((m) => m.key);
    writes.push(
      tx.query(DELETE_AUDIENCE_MONTHS_SQL, [stream, month, key, ...who]),
      tx.query(REBUILD_AUDIENCE_MONTHS_SQL, [
        stream,
        month,
        key,
        r.map((m) => m.end),
        r.map((m) => (m.end - m.month) / QUARTER_HOUR_MS),
        (settings.maxSessionS + MAX_DURATION_S) * 1000,
        MAX_DURATION_S * 1000,
        ...who,
      ]),
    );
  }
  return writes;
}

/**
 * Writes a batch's plan and marks its ids finalized at the `change_seq` read under the lock; returns
 * each id's lag behind its `due_at`, ms. The statements are pipelined in this order: the ids' own
 * rows, the set-aside clearance and the mark (rows no other finalizer touches), then the shared
 * rows: listener months (keys first), then the rollups. Concurrent finalizers of one station touch
 * the same keys, minutes and quarter-hours, and each waits for the other's row locks until that one
 * commits: taken last, those locks are held for the few statements before the commit, not for the
 * whole write, so transactions in flight overlap instead of queueing. (One order for every
 * finalizer: no deadlock.)
 */
export async function writeBatch(
  tx: Queryable,
  work: readonly StateRow[],
  plan: BatchPlan,
  settings: FinalizeSettings,
): Promise<Map<string, number>> {
  const ids = work.map((s) => s.session);
  const writes = rowWrites(tx, plan);
  // A set-aside id that finalizes now is no longer failing.
  writes.push(tx.query(CLEAR_FAILURES_SQL, [ids]));
  const marking = tx.query<{ session: string; lag_ms: number }>(MARK_FINALIZED_SQL, [
    ids,
    work.map((s) => s.change_seq),
  ]);
  writes.push(...listenerMonthWrites(tx, plan, settings), ...rollupWrites(tx, plan));
  const [marked] = await Promise.all([marking, ...writes]);
  return new Map(marked.map((m) => [m.session, m.lag_ms]));
}
