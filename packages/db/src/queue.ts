/**
 * The finalize-queue contract shared by apps/ingest (producer) and apps/worker (consumer). Pure
 * constants and functions: no BullMQ import here, so the package does not depend on it.
 *
 * Pattern: one delayed job per session id with a fixed job id. Ingest adds it (addBulk, once per
 * session per batch) with `delay = idle`; adding while one is already waiting is a no-op in Redis.
 * When the job runs, the worker reads `session_state.due_at`; if the session got events since, it
 * re-arms the job to that time (moveToDelayed + DelayedError) instead of finalizing early.
 */
export const FINALIZE_QUEUE = 'earshot-finalize';

/** Job name of a finalization. */
export const FINALIZE_JOB = 'finalize';

/** Payload of a finalize job. */
export interface FinalizeJobData {
  session: string;
}

/** The job id of a session's finalization: one per session id (BullMQ ids may not contain ':'). */
export function finalizeJobId(session: string): string {
  return `fin-${encodeURIComponent(session)}`;
}

/** Parses a job payload; returns undefined if it is not a FinalizeJobData. */
export function parseFinalizeJobData(data: unknown): FinalizeJobData | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const session = (data as { session?: unknown }).session;
  if (typeof session !== 'string' || session.length < 1 || session.length > 128) return undefined;
  return { session };
}
