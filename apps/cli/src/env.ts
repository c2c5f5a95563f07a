import { isValidTimeZone } from '@earshot/core';
import { z } from 'zod';

// Unset and empty mean "use the default": an exported-but-empty variable is common in shells.
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
const seconds = (min: 'positive' | 'nonnegative') =>
  z.preprocess(
    unsetIfEmpty,
    z.coerce
      .number({ error: 'must be a number of seconds' })
      .refine(Number.isFinite, 'must be a number of seconds')
      .refine(
        (n) => (min === 'positive' ? n > 0 : n >= 0),
        min === 'positive' ? 'must be > 0' : 'must be >= 0',
      )
      .optional(),
  );

/** The environment settings the CLI reads (DESIGN section 8). Unset ones fall back to core's defaults. */
const EnvSchema = z.object({
  EARSHOT_TZ: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .refine(isValidTimeZone, 'is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)')
      .optional(),
  ),
  EARSHOT_IDLE_S: seconds('positive'),
  EARSHOT_MIN_SESSION_S: seconds('nonnegative'),
  EARSHOT_MAX_SESSION_S: seconds('positive'),
  EARSHOT_AQH_QUALIFIER_S: seconds('nonnegative'),
  // Retention keeps at least what ingest can still receive (see earshot retention).
  EARSHOT_MAX_EVENT_AGE_S: seconds('nonnegative'),
  // Database mode (no --events): PostgreSQL, else the embedded PGlite in EARSHOT_DATA_DIR.
  DATABASE_URL: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .refine(
        (v) => /^postgres(ql)?:\/\//.test(v) || v.startsWith('file:'),
        'must be a postgres:// URL or file:PATH',
      )
      .optional(),
  ),
  EARSHOT_DATA_DIR: z.preprocess(unsetIfEmpty, z.string().optional()),
  // Collectors (earshot collect ...): where and how to send the events.
  EARSHOT_INGEST_URL: z.preprocess(unsetIfEmpty, z.url({ error: 'must be an http(s) URL' }).optional()),
  EARSHOT_INGEST_TOKEN: z.preprocess(unsetIfEmpty, z.string().optional()),
  // earshot collect/import access-log: the salt of the fallback HLS session id (IP + agent + group).
  EARSHOT_LISTENER_SALT: z.preprocess(unsetIfEmpty, z.string().optional()),
  // earshot collect icecast: the Icecast admin interface (the password never goes on the command line).
  EARSHOT_ICECAST_URL: z.preprocess(unsetIfEmpty, z.url({ error: 'must be an http(s) URL' }).optional()),
  EARSHOT_ICECAST_ADMIN_USER: z.preprocess(unsetIfEmpty, z.string().optional()),
  EARSHOT_ICECAST_ADMIN_PASSWORD: z.preprocess(unsetIfEmpty, z.string().optional()),
  // earshot collect shoutcast: the DNAS admin password.
  EARSHOT_DNAS_ADMIN_PASSWORD: z.preprocess(unsetIfEmpty, z.string().optional()),
  // Set by pnpm (and npm) to the directory it was run in: a relative EARSHOT_DATA_DIR, and the
  // default ./.earshot, are taken from there (@earshot/db's resolveDataDir), as in every app.
  INIT_CWD: z.preprocess(unsetIfEmpty, z.string().optional()),
});

export type Env = z.infer<typeof EnvSchema>;

/** Parses the CLI's variables once; a bad one is an error that names every bad variable. */
export function loadEnv(source: NodeJS.ProcessEnv): { ok: true; env: Env } | { ok: false; message: string } {
  const parsed = EnvSchema.safeParse(source);
  if (parsed.success) return { ok: true, env: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `${name}=${JSON.stringify(source[name] ?? '')} ${issue.message}`;
  });
  return { ok: false, message: `bad environment: ${problems.join('; ')}` };
}
