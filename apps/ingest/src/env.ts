import { commaList, parseEnv, sharedEnvSchema } from '@earshot/contract';
import { resolveDataDir } from '@earshot/db';
import { z } from 'zod';

const int = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

/** Ingest's environment (DESIGN section 8, plus ingest's own limits and tuning). */
export const ingestEnvSchema = sharedEnvSchema.extend({
  EARSHOT_INGEST_TOKENS: commaList.refine((tokens) => tokens.length > 0, {
    message: 'is required: comma-separated bearer tokens that may POST events',
  }),
  /** Secret for listener keys derived from `ip`; needed only when events carry `ip` without `listener`. */
  EARSHOT_LISTENER_SALT: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Further tokens that may read GET /metrics only (the ingest tokens may too). */
  EARSHOT_METRICS_TOKENS: commaList,
  PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  /** Address to listen on: loopback unless exposed on purpose (`0.0.0.0`, `::`, an interface address). */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Largest accepted request body, bytes, compressed and decompressed. Default 5 MiB. */
  EARSHOT_MAX_BODY_BYTES: int(5 * 1024 * 1024),
  /** Most events accepted in one request. */
  EARSHOT_MAX_BATCH: int(10_000),
  /** Group commit: how long a request waits for others to share its transaction while another is being written, ms. */
  EARSHOT_GROUP_WINDOW_MS: z.coerce.number().min(0).max(1000).default(3),
  /** Group commit: flush at once when this many events are pending. */
  EARSHOT_GROUP_MAX_EVENTS: int(2_000),
  /** Group commit: transactions in flight at once (the rest wait and grow the next group). */
  EARSHOT_GROUP_CONCURRENCY: int(4),
  /** PostgreSQL pool size. */
  EARSHOT_DB_POOL: int(8),
  /** Latest event time accepted, seconds after now (the senders' clock skew). */
  EARSHOT_MAX_EVENT_AHEAD_S: int(300, 0),
  /** Most distinct UTC days (listen_events partitions) one request may touch. */
  EARSHOT_MAX_BATCH_DAYS: int(31),
  /** Longest a request waits for its group to commit, ms; then 503 with Retry-After. */
  EARSHOT_COMMIT_TIMEOUT_MS: int(10_000),
  /** Most events held for the database (waiting or being written); beyond, 503 at once. */
  EARSHOT_QUEUE_MAX_EVENTS: int(50_000),
  /** Most request bytes (inflated bodies) held for the database; beyond, 503 at once. Default 64 MiB. */
  EARSHOT_QUEUE_MAX_BYTES: int(64 * 1024 * 1024),
  /** Most bytes an event may carry per second of duration (plus 1 MiB); beyond, 400. 8 Mbit/s. */
  EARSHOT_MAX_BYTES_PER_S: int(1_000_000),
  /** Longest a response waits for Redis to take the finalize jobs, ms; then `Earshot-Schedule: deferred`. */
  EARSHOT_SCHEDULE_TIMEOUT_MS: int(500),
});

export type IngestEnv = z.infer<typeof ingestEnvSchema>;

/** Parses ingest's environment once; throws one error naming every missing or bad variable. */
export function loadEnv(env: Record<string, string | undefined> = process.env): IngestEnv {
  const parsed = parseEnv(ingestEnvSchema, env);
  // A relative EARSHOT_DATA_DIR (the default too) is taken from where pnpm was run (INIT_CWD).
  return { ...parsed, EARSHOT_DATA_DIR: resolveDataDir(parsed.EARSHOT_DATA_DIR, env) };
}
