import { commaList, parseEnv, sharedEnvSchema } from '@earshot/contract';
import { resolveDataDir } from '@earshot/db';
import { z } from 'zod';

const tokenList = commaList
  .refine((tokens) => tokens.length > 0, 'must hold at least one token')
  .refine((tokens) => tokens.every((t) => t.length >= 16), 'every token must be at least 16 characters');

/**
 * The reports app's environment (DESIGN section 8): the shared settings plus its own. Parsed once at
 * start; a bad or missing variable stops the process with a message naming each one.
 */
export const reportsEnvSchema = sharedEnvSchema.extend({
  /** Comma-separated bearer tokens that may read reports (read scope). Required. */
  EARSHOT_READ_TOKENS: tokenList,
  /** JSON file of stations (stream groups with their own zone and dayparts). Optional. */
  EARSHOT_STATIONS_FILE: z.string().min(1).optional(),
  /** HTTP port of the API and the dashboard. */
  PORT: z.coerce.number().int().min(0).max(65_535).default(8083),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** postgres.js connections of this process. */
  EARSHOT_DB_POOL: z.coerce.number().int().positive().default(10),
});

export type ReportsEnv = z.infer<typeof reportsEnvSchema>;

/** Parses the reports app's environment; throws one error naming every bad variable. */
export function loadReportsEnv(env: Record<string, string | undefined> = process.env): ReportsEnv {
  const parsed = parseEnv(reportsEnvSchema, env);
  // A relative EARSHOT_DATA_DIR (the default too) is taken from where pnpm was run (INIT_CWD).
  return { ...parsed, EARSHOT_DATA_DIR: resolveDataDir(parsed.EARSHOT_DATA_DIR, env) };
}
