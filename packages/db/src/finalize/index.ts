/**
 * Finalization: a session id's stored events become its rows in `sessions`,
 * `session_quarter_hours`, `short_sessions` and its share of `stream_minutes`,
 * `stream_quarter_hours` and `stream_listener_months`, in one transaction
 * that holds the id's `session_state` row lock (DESIGN section 3, "online = offline").
 *
 * Exactly-once effect: the rows written are a function of the id's committed events only (old rows
 * are read under the lock and replaced, the rollups get the difference), and the transaction
 * ends by setting `finalized_seq` to the `change_seq` it read under the same lock. Two finalizers of
 * one id serialize on the lock and the second finds nothing to do; a crash rolls everything back.
 *
 * A re-finalization recomputes only from core's `resumePoint`: the id's stored sessions whose first
 * event comes before the earliest new event's session stay as they are. The result is the same as
 * recomputing the whole id (cutting is memoryless at a session's first event), and sessions whose
 * events retention has dropped are never touched.
 *
 * Modules: `api` (entry points, batching, isolation of a bad id), `locked` (one batch under its
 * locks: `receipts`, `read`, `plan`, `write`), `rows` (core's result as rows), `deltas` (the
 * rollups' differences, pure), `retry` (what a failure does next), `sql-*` (the statements).
 */
export { finalizeDueBatch, finalizeSession, finalizeSessions } from './api.js';
export { checkReceiptsOf } from './receipts.js';
export { isRetryableDbError, isSessionDataError } from './retry.js';
export { computeSessionRows, SessionDataError } from './rows.js';
export type { FinalizeOptions, FinalizeOutcome, FinalizeSettings } from './types.js';
