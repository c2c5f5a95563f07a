import { agentList, checkEnv, ipRangeList, sharedEnvSchema, timeZone } from '@earshot/contract';
import * as z from 'zod';

// No defaults here, unlike the services: the commands fall back to core's defaults and tell an unset
// variable from a set one (retention says whose limit it used). Empty counts as unset (checkEnv).
const seconds = (min: 'positive' | 'nonnegative') =>
  z.coerce
    .number({ error: 'must be a number of seconds' })
    .refine(Number.isFinite, 'must be a number of seconds')
    .refine((n) => (min === 'positive' ? n > 0 : n >= 0), min === 'positive' ? 'must be > 0' : 'must be >= 0')
    .optional();

/** The environment settings the CLI reads (DESIGN section 8). Unset ones fall back to core's defaults. */
const EnvSchema = z.object({
  EARSHOT_TZ: timeZone.optional(),
  EARSHOT_IDLE_S: seconds('positive'),
  EARSHOT_MIN_SESSION_S: seconds('nonnegative'),
  EARSHOT_MAX_SESSION_S: seconds('positive'),
  EARSHOT_AQH_QUALIFIER_S: seconds('nonnegative'),
  // Net and gross, offline: the worker's user-agent rules and ingest's relay and monitor ranges.
  EARSHOT_BOT_AGENTS: agentList.optional(),
  EARSHOT_RELAY_AGENTS: agentList.optional(),
  EARSHOT_MONITOR_AGENTS: agentList.optional(),
  EARSHOT_RELAY_IPS: ipRangeList.optional(),
  EARSHOT_MONITOR_IPS: ipRangeList.optional(),
  // Retention keeps at least what ingest can still receive (see earshot retention).
  EARSHOT_MAX_EVENT_AGE_S: seconds('nonnegative'),
  // Database mode (no --events): PostgreSQL, else the embedded PGlite in EARSHOT_DATA_DIR.
  DATABASE_URL: sharedEnvSchema.shape.DATABASE_URL,
  EARSHOT_DATA_DIR: z.string().optional(),
  // Collectors (earshot collect ...): where and how to send the events.
  EARSHOT_INGEST_URL: z.url({ error: 'must be an http(s) URL' }).optional(),
  EARSHOT_INGEST_TOKEN: z.string().optional(),
  // earshot collect/import access-log: the salt of the fallback HLS session id (IP + agent + group).
  EARSHOT_LISTENER_SALT: z.string().optional(),
  // earshot collect icecast: the Icecast admin interface (the password never goes on the command line).
  EARSHOT_ICECAST_URL: z.url({ error: 'must be an http(s) URL' }).optional(),
  EARSHOT_ICECAST_ADMIN_USER: z.string().optional(),
  EARSHOT_ICECAST_ADMIN_PASSWORD: z.string().optional(),
  // earshot collect shoutcast: the DNAS admin password.
  EARSHOT_DNAS_ADMIN_PASSWORD: z.string().optional(),
  // Set by pnpm (and npm) to the directory it was run in: a relative EARSHOT_DATA_DIR, and the
  // default ./.earshot, are taken from there (@earshot/db's resolveDataDir), as in every app.
  INIT_CWD: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

/**
 * Parses the CLI's variables once, with the services' checkEnv; a bad one is an error that names
 * every bad variable and its value on one line (a command's usage error, exit 2).
 */
export function loadEnv(source: NodeJS.ProcessEnv): { ok: true; env: Env } | { ok: false; message: string } {
  const checked = checkEnv(EnvSchema, source);
  if (checked.ok) return checked;
  const problems = checked.issues.map((i) => `${i.name}=${JSON.stringify(i.value ?? '')} ${i.message}`);
  return { ok: false, message: `bad environment: ${problems.join('; ')}` };
}
