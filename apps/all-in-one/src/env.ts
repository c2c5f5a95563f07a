import { commaList, logLevel, parseEnv, sharedEnvSchema } from '@earshot/contract';
import { resolveDataDir } from '@earshot/db';
import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

/**
 * The one-process Earshot's environment: DESIGN section 8, where tokens are optional (made and
 * printed at start when unset) and each service has its own port.
 */
export const allInOneEnvSchema = sharedEnvSchema.extend({
  EARSHOT_INGEST_TOKENS: commaList,
  EARSHOT_READ_TOKENS: commaList,
  EARSHOT_LISTENER_SALT: z.string().min(16, 'must be at least 16 characters').optional(),
  HOST: z.string().default('127.0.0.1'),
  EARSHOT_STATION_PORT: port(8000),
  EARSHOT_INGEST_PORT: port(8081),
  EARSHOT_REPORTS_PORT: port(8083),
  EARSHOT_STATION_TICK_S: z.coerce.number().positive().max(300).default(30),
  // Quieter than the services: the console is this app's own output.
  LOG_LEVEL: logLevel('warn'),
});

export type AllInOneEnv = z.infer<typeof allInOneEnvSchema>;

/** Parses the environment once; throws one error naming every bad variable. */
export function loadEnv(env: Record<string, string | undefined> = process.env): AllInOneEnv {
  const parsed = parseEnv(allInOneEnvSchema, env);
  // A relative EARSHOT_DATA_DIR (the default too) is taken from where pnpm was run (INIT_CWD).
  return { ...parsed, EARSHOT_DATA_DIR: resolveDataDir(parsed.EARSHOT_DATA_DIR, env) };
}
