import type { Db, Queryable } from '../client.js';

/** Epoch ms of a timestamptz column, exactly (timestamps are stored with millisecond precision). */
export const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** The streams to select as an SQL `text[]` parameter, each once; null (every stream) for none. */
export const selectedStreams = (streams: readonly string[] | undefined): string[] | null =>
  streams && streams.length > 0 ? [...new Set(streams)] : null;

/** Code-unit order, as core sorts streams and sessions (not the locale's). */
export const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Runs `fn` in a transaction with more `work_mem` when `db` can open one, so that a large hash
 * aggregate (cume over millions of rows) stays in memory instead of spilling to disk.
 */
export async function withWorkMem<T>(db: Queryable, fn: (q: Queryable) => Promise<T>): Promise<T> {
  const transaction = (db as Partial<Db>).transaction?.bind(db) as Db['transaction'] | undefined;
  if (!transaction) return fn(db);
  return transaction<T>(async (tx) => {
    await tx.query(`set local work_mem = '128MB'`);
    return fn(tx);
  });
}

const inFlight = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Runs `fn` once for callers that ask for the same `key` on the same `db` while it runs (the
 * dashboard's calls ask for the same period's summary at the same moment): they share its answer,
 * which is what each would have read. Nothing is kept once it settles.
 */
export function shareInFlight<T>(db: Queryable, key: string, fn: () => Promise<T>): Promise<T> {
  let running = inFlight.get(db);
  if (!running) {
    running = new Map();
    inFlight.set(db, running);
  }
  const found = running.get(key);
  if (found) return found as Promise<T>;
  const map = running;
  const promise = fn().finally(() => map.delete(key));
  map.set(key, promise);
  return promise;
}
