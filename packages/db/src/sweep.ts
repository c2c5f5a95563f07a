import type { Db, Queryable } from './client.js';
import {
  type FinalizeOptions,
  type FinalizeOutcome,
  type FinalizeSettings,
  finalizeDueBatch,
} from './finalize/index.js';

/**
 * The sweep (DESIGN section 3): finds session ids whose last change is at least `idle` old
 * (`due_at <= now()`, the database's clock) and not finalized since (`finalized_seq < change_seq`),
 * and finalizes them. It is the only scheduler without Redis (embedded mode) and the recovery path
 * after a lost job (Redis flushed, a worker killed). Several sweepers at once are safe: each batch
 * locks its ids with SKIP LOCKED, so they split the work instead of queueing behind each other.
 */

export interface SweepOptions {
  /** Session ids per transaction. Default 1000. */
  chunk?: number;
  /** Batches in flight at once (each on its own connection). Default 2. */
  concurrency?: number;
  /** Stops taking new batches once aborted (the batch in hand completes). */
  signal?: AbortSignal;
  /** Called after each committed batch with its outcomes (metrics, logs). */
  onBatch?: (outcomes: FinalizeOutcome[]) => void;
  /** Retries and the backoff of set-aside ids. */
  finalize?: Omit<FinalizeOptions, 'force'>;
}

export interface SweepResult {
  /** Due, unfinalized session ids found and locked. */
  found: number;
  /** Of those, finalized now. */
  finalized: number;
  /** Of those, set aside: they cannot be finalized (see `finalize_failures`). */
  setAside: number;
  /** Transactions committed. */
  batches: number;
  /** Wall time, ms. */
  elapsedMs: number;
}

/**
 * Runs the sweep until nothing is due: `concurrency` lanes each take up to `chunk` due ids per
 * transaction and finalize them, until a lane finds fewer than `chunk`. A failing batch throws
 * (after the other lanes stop); nothing it did is kept, and the next sweep finds the same ids.
 */
export async function sweepOnce(
  db: Db,
  settings: FinalizeSettings,
  options: SweepOptions = {},
): Promise<SweepResult> {
  const chunk = Math.max(1, options.chunk ?? 1000);
  // PGlite is one connection: lanes would only queue behind each other.
  const lanes = db.driver === 'pglite' ? 1 : Math.max(1, options.concurrency ?? 2);
  const started = Date.now();
  const result: SweepResult = { found: 0, finalized: 0, setAside: 0, batches: 0, elapsedMs: 0 };
  let failed = false;
  const lane = async () => {
    while (!failed && !options.signal?.aborted) {
      let outcomes: FinalizeOutcome[];
      try {
        outcomes = await finalizeDueBatch(db, chunk, settings, options.finalize);
      } catch (error) {
        failed = true;
        throw error;
      }
      if (outcomes.length === 0) return;
      result.batches++;
      result.found += outcomes.length;
      for (const o of outcomes) {
        if (o.status === 'finalized') result.finalized++;
        else if (o.status === 'set-aside') result.setAside++;
      }
      options.onBatch?.(outcomes);
      if (outcomes.length < chunk) return;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: lanes }, lane));
  result.elapsedMs = Date.now() - started;
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return result;
}

/**
 * Milliseconds until the next unfinalized session id falls due (<= 0: one is due now), or
 * undefined when every session id is finalized. One probe of the partial index `session_state_pending`.
 */
export async function nextDueInMs(db: Queryable): Promise<number | undefined> {
  const rows = await db.query<{ wait_ms: number | null }>(
    `select (extract(epoch from (min(due_at) - now())) * 1000)::float8 as wait_ms
      from session_state where finalized_seq < change_seq`,
  );
  const wait = rows[0]?.wait_ms;
  return wait === null || wait === undefined ? undefined : Math.ceil(wait);
}

/**
 * Session ids not finalized at their latest change (due or not): the backlog; and of all ids, those
 * set aside in `finalize_failures` (they cannot be finalized; retried with backoff).
 */
export async function countUnfinalized(
  db: Queryable,
): Promise<{ pending: number; due: number; setAside: number }> {
  const rows = await db.query<{ pending: number; due: number; set_aside: number }>(
    `select count(*)::float8 as pending, count(*) filter (where due_at <= now())::float8 as due,
      (select count(*) from finalize_failures)::float8 as set_aside
      from session_state where finalized_seq < change_seq`,
  );
  return { pending: rows[0]?.pending ?? 0, due: rows[0]?.due ?? 0, setAside: rows[0]?.set_aside ?? 0 };
}

/**
 * Deletes the session_state rows nobody needs any more: ids finalized at their latest change more
 * than `olderThanS` ago and not set aside. Pass at least ingest's max event age + max ahead + idle +
 * max session: no event ingest still accepts can then join a session of the id's stored rows (it
 * is more than idle after all of them), so when the id comes back, a new row with nothing
 * finalized is right (its finalization reads only its new events; the stored rows stay). Deletes
 * at most `limit` rows per call; returns how many.
 */
export async function pruneSessionState(db: Queryable, olderThanS: number, limit = 10_000): Promise<number> {
  if (!(olderThanS > 0)) throw new TypeError('pruneSessionState: olderThanS must be > 0');
  const rows = await db.query<{ n: number }>(
    `with gone as (
      delete from session_state s where s.session in (
        select x.session from session_state x
        where x.finalized_seq >= x.change_seq and x.finalized_at < now() - $1::float8 * interval '1 second'
          and not exists (select 1 from finalize_failures f where f.session = x.session)
        limit $2 for update skip locked)
      and s.finalized_seq >= s.change_seq
      returning 1)
    select count(*)::int as n from gone`,
    [olderThanS, limit],
  );
  return rows[0]?.n ?? 0;
}
