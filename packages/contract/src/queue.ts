/**
 * The finalize-queue contract shared by apps/ingest (producer) and apps/worker (consumer). Pure
 * constants and functions: no BullMQ import here, so the package does not depend on it.
 *
 * Pattern: one delayed job per schedule call, carrying the session ids it schedules (at most
 * {@link FINALIZE_JOB_MAX_SESSIONS}): ingest adds one after each commit (the ids that commit
 * created or found finalized) with `delay = idle`. When the job runs, the worker finalizes its ids
 * in shared batches; an id that got events since it was scheduled is re-armed (a job again, due at
 * its new `due_at`) instead of finalized early. A job per session id would cost Redis a job's
 * commands (about 11 to add, 20 to run) per id; a job per commit costs them once per hundreds.
 * An id may sit in two jobs at once (both find the work done or not due: finalization is
 * idempotent), and a job lost with Redis is covered by the worker's sweep.
 */
export const FINALIZE_QUEUE = 'earshot-finalize';

/** Job name of a finalization. */
export const FINALIZE_JOB = 'finalize';

/** Payload of a finalize job: the session ids to finalize. */
export interface FinalizeJobData {
  sessions: string[];
  /** Retries the worker made itself of a job added without `attempts` (see the worker). */
  retries?: number;
}

/** Most session ids in one job (a job's ids go to the worker's batches, 1000 ids each by default). */
export const FINALIZE_JOB_MAX_SESSIONS = 1000;

/** BullMQ's default key prefix in Redis, which `EARSHOT_QUEUE_PREFIX` overrides. */
export const QUEUE_PREFIX = 'bull';

/** Attempts of a finalize job before it fails for good (the sweep still finds the session later). */
export const FINALIZE_ATTEMPTS = 10;

/** A finalize job as BullMQ's `addBulk` takes it (a plain object: this package does not depend on BullMQ). */
export interface FinalizeJob {
  name: typeof FINALIZE_JOB;
  data: FinalizeJobData;
  opts: {
    delay: number;
    attempts: number;
    backoff: { type: 'exponential'; delay: number };
    removeOnComplete: true;
    removeOnFail: true;
  };
}

/**
 * The finalize jobs of `sessions`, due in `delayMs`, for every producer (ingest, and the worker
 * when it re-arms ids): ids deduplicated, {@link FINALIZE_JOB_MAX_SESSIONS} per job, retries with
 * exponential backoff, removal once finished (nothing kept in Redis), and BullMQ's own job ids.
 */
export function finalizeJobs(sessions: readonly string[], delayMs: number): FinalizeJob[] {
  const ids = [...new Set(sessions)];
  const jobs: FinalizeJob[] = [];
  for (let i = 0; i < ids.length; i += FINALIZE_JOB_MAX_SESSIONS) {
    jobs.push({
      name: FINALIZE_JOB,
      data: { sessions: ids.slice(i, i + FINALIZE_JOB_MAX_SESSIONS) },
      opts: {
        delay: Math.max(0, Math.ceil(delayMs)),
        attempts: FINALIZE_ATTEMPTS,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true,
        removeOnFail: true,
      },
    });
  }
  return jobs;
}

const isSessionId = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= 128;

/**
 * Parses a job payload; returns undefined if it is not a FinalizeJobData. Also takes the payload of
 * the jobs an earlier ingest added, one per session id (`{ session }`), so that a queue holding them
 * drains after an upgrade.
 */
export function parseFinalizeJobData(data: unknown): FinalizeJobData | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { session, sessions, retries } = data as { session?: unknown; sessions?: unknown; retries?: unknown };
  let ids: string[];
  if (sessions === undefined && isSessionId(session)) ids = [session];
  else if (
    Array.isArray(sessions) &&
    sessions.length >= 1 &&
    sessions.length <= FINALIZE_JOB_MAX_SESSIONS &&
    sessions.every(isSessionId)
  )
    ids = sessions;
  else return undefined;
  const parsed: FinalizeJobData = { sessions: ids };
  if (typeof retries === 'number' && Number.isInteger(retries) && retries >= 0) parsed.retries = retries;
  return parsed;
}
