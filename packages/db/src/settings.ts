import { z } from 'zod';

/**
 * Environment settings shared by every Earshot app (DESIGN section 8). Apps build their `env.ts`
 * from this fragment; packages never read `process.env` themselves.
 */
const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

/** A comma-separated list (`EARSHOT_INGEST_TOKENS=a,b`): trimmed, empty items dropped; unset is empty. */
export const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

export const sharedEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .refine(
      (v) => /^postgres(ql)?:\/\//.test(v) || v.startsWith('file:'),
      'must be a postgres:// URL or file:PATH',
    )
    .optional(),
  EARSHOT_DATA_DIR: z.string().default('./.earshot'),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// URL')
    .optional(),
  EARSHOT_IDLE_S: seconds(300),
  EARSHOT_MIN_SESSION_S: z.coerce.number().nonnegative().default(60),
  EARSHOT_MAX_SESSION_S: seconds(86_400),
  EARSHOT_AQH_QUALIFIER_S: z.coerce.number().nonnegative().default(300),
  EARSHOT_SWEEP_S: seconds(60),
  EARSHOT_TZ: z.string().default('UTC'),
});

export type SharedEnv = z.infer<typeof sharedEnvSchema>;

/**
 * Parses `env` against `schema`; throws one Error naming every missing or bad variable. An empty
 * variable (`REDIS_URL=`) counts as unset, as shells and compose files use it.
 */
export function parseEnv<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
): z.infer<T> {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') set[name] = value;
  const result = schema.safeParse(set);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new Error(`invalid environment:\n${lines.join('\n')}`);
}
