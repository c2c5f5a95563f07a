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

/** BullMQ's default key prefix in Redis, which `EARSHOT_QUEUE_PREFIX` overrides. */
export const QUEUE_PREFIX = 'bull';

/** Attempts of a finalize job before it fails for good (the sweep still finds the session later). */
export const FINALIZE_ATTEMPTS = 10;

/**
 * BullMQ options of a finalize job, for every producer (ingest, and the worker when it re-adds
 * one): a fixed job id per session id, retries with exponential backoff, and removal once finished,
 * so that the next add for the same session id creates a job again instead of being a no-op against
 * a kept completed or failed job. (A plain object: this package does not depend on BullMQ.)
 */
export function finalizeJobOptions(
  session: string,
  delayMs: number,
): {
  jobId: string;
  delay: number;
  attempts: number;
  backoff: { type: 'exponential'; delay: number };
  removeOnComplete: true;
  removeOnFail: true;
} {
  return {
    jobId: finalizeJobId(session),
    delay: Math.max(0, Math.ceil(delayMs)),
    attempts: FINALIZE_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: true,
  };
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
