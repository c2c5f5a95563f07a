import type { Db } from '../client.js';
import { SessionDataError } from './rows.js';
import { SET_ASIDE_SQL } from './sql-state.js';
import type { FinalizeOptions, FinalizeOutcome } from './types.js';

/**
 * What a failed finalization does next. PostgreSQL aborting a transaction as a deadlock or a
 * serialization failure: try it again. An id's own data making rows impossible: set the id aside
 * with backoff (the batch is split to find it). Anything else (connection, shutdown): throw.
 */

/** Tries of a transaction aborted as a deadlock or serialization failure, after the first. */
export const DEFAULT_RETRIES = 4;
/** A set-aside id's first wait; it doubles with each failure. */
export const DEFAULT_SET_ASIDE_BASE_MS = 60_000;
/** The longest wait between two tries of a set-aside id. */
export const DEFAULT_SET_ASIDE_MAX_MS = 6 * 3_600_000;

const RETRYABLE = new Set(['40P01', '40001']);

/** Whether PostgreSQL aborted the transaction in a way that a plain retry fixes (deadlock, serialization). */
export function isRetryableDbError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

/** Runs `fn`, again after a short random pause each time it fails retryably, up to `retries` more times. */
export async function withRetries<T>(retries: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= retries || !isRetryableDbError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}

// SQLSTATE classes an id's own data causes: data exception (a value out of range), integrity
// constraint violation, program limit exceeded. Anything else (connection, resources, shutdown,
// deadlock) is the database's state, not the id's, and is not worth setting an id aside for.
const SESSION_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * Whether a finalization failed because of what some id of the batch holds (and would fail again
 * the same way), rather than because of the database or the connection: such a batch is split
 * to find the id and set it aside.
 */
export function isSessionDataError(error: unknown): boolean {
  if (error instanceof SessionDataError || error instanceof RangeError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && SESSION_ERROR_CLASSES.has(code.slice(0, 2))
  );
}

const MAX_ERROR_TEXT = 1000;

/** Sets a session id aside with its error (see {@link FinalizeOutcome} `set-aside`). */
export async function setAside(
  db: Db,
  session: string,
  error: unknown,
  options: FinalizeOptions,
): Promise<FinalizeOutcome> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_TEXT);
  const code = (error as { code?: unknown } | null)?.code;
  const rows = await withRetries(options.retries ?? DEFAULT_RETRIES, () =>
    db.query<{ attempts: number; retry_ms: number }>(SET_ASIDE_SQL, [
      session,
      message,
      typeof code === 'string' ? code : null,
      options.setAsideBaseMs ?? DEFAULT_SET_ASIDE_BASE_MS,
      options.setAsideMaxMs ?? DEFAULT_SET_ASIDE_MAX_MS,
    ]),
  );
  const row = rows[0]!;
  const outcome = {
    session,
    status: 'set-aside',
    error: message,
    attempts: row.attempts,
    retryInMs: Math.max(0, Math.round(row.retry_ms)),
  } as const;
  db.logger?.warn(
    { session, err: message, attempts: outcome.attempts, retryInMs: outcome.retryInMs },
    'session id set aside: it cannot be finalized (see finalize_failures)',
  );
  return outcome;
}
