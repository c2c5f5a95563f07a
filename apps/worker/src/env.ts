import { parseEnv, sharedEnvSchema } from '@earshot/contract';
import { resolveDataDir } from '@earshot/db';
import { z } from 'zod';

/**
 * The worker's environment (DESIGN section 8): the shared settings plus the worker's own. Parsed once
 * at start; a bad or missing variable stops the process with a message naming each one.
 */
export const workerEnvSchema = sharedEnvSchema.extend({
  /** HTTP port of /healthz and /metrics. */
  PORT: z.coerce.number().int().min(0).max(65_535).default(8082),
  /** BullMQ jobs in progress at once in this process (they are finalized in shared batches). */
  EARSHOT_WORKER_CONCURRENCY: z.coerce.number().int().positive().default(500),
  /** Most session ids finalized in one transaction (job batches and sweep chunks). */
  EARSHOT_FINALIZE_BATCH: z.coerce.number().int().positive().default(1000),
  /** Finalization transactions in flight at once in this process (job batches, sweep lanes). */
  EARSHOT_FINALIZE_TRANSACTIONS: z.coerce.number().int().positive().default(3),
  /** First retry of a session id set aside (it could not be finalized), seconds; doubles per failure, at most 6 h. */
  EARSHOT_SET_ASIDE_RETRY_S: z.coerce.number().positive().default(60),
  /**
   * `accept`: start even when the stored rows were cut with other idle/min/max session settings
   * (the rows already stored keep theirs; the new ones are recorded). Unset: refuse to start then.
   */
  EARSHOT_SETTINGS_CHANGE: z.enum(['accept']).optional(),
  /** postgres.js connections of this process. */
  EARSHOT_DB_POOL: z.coerce.number().int().positive().default(10),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

/** Parses the worker's environment; throws one error naming every bad variable. */
export function loadWorkerEnv(env: Record<string, string | undefined> = process.env): WorkerEnv {
  const parsed = parseEnv(workerEnvSchema, env);
  // A relative EARSHOT_DATA_DIR (the default too) is taken from where pnpm was run (INIT_CWD).
  return { ...parsed, EARSHOT_DATA_DIR: resolveDataDir(parsed.EARSHOT_DATA_DIR, env) };
}
