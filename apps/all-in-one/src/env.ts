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
  // An Icecast 2 server to count in this process (earshot collect icecast): set the URL to start it.
  EARSHOT_ICECAST_URL: z.url({ error: 'must be an http(s) URL' }).optional(),
  EARSHOT_ICECAST_ADMIN_USER: z.string().default('admin'),
  EARSHOT_ICECAST_ADMIN_PASSWORD: z.string().optional(),
  /** MOUNT[=KEY],...; unset: every mount with a source. */
  EARSHOT_ICECAST_MOUNTS: commaList,
  EARSHOT_ICECAST_ACCESS_LOG: z.string().optional(),
  EARSHOT_ICECAST_TICK_S: z.coerce.number().int().min(1).max(300).default(30),
});

export type AllInOneEnv = z.infer<typeof allInOneEnvSchema>;

/** Parses the environment once; throws one error naming every bad variable. */
export function loadEnv(env: Record<string, string | undefined> = process.env): AllInOneEnv {
  const parsed = parseEnv(allInOneEnvSchema, env);
  // A relative EARSHOT_DATA_DIR (the default too) is taken from where pnpm was run (INIT_CWD).
  return { ...parsed, EARSHOT_DATA_DIR: resolveDataDir(parsed.EARSHOT_DATA_DIR, env) };
}
