import { logLevel, parseEnv } from '@earshot/contract';
import { z } from 'zod';

/** The station's environment: its own settings only (it has no database or queue). */
export const stationEnvSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(8000),
    HOST: z.string().min(1).default('127.0.0.1'),
    EARSHOT_INGEST_URL: z.url().optional(),
    EARSHOT_INGEST_TOKEN: z.string().min(1).optional(),
    EARSHOT_STATION_TICK_S: z.coerce.number().positive().max(3600).default(30),
    // The number of proxies of your own in front of the station: `true` is one, `false` none.
    EARSHOT_TRUST_PROXY: z
      .string()
      .default('false')
      .transform((value) => value.trim().toLowerCase())
      .pipe(
        z
          .union([
            z.enum(['true', 'false']),
            z.string().regex(/^\d{1,2}$/, 'must be true, false or a number of proxies'),
          ])
          .transform((value) => (value === 'true' ? 1 : value === 'false' ? 0 : Number(value))),
      ),
    LOG_LEVEL: logLevel('info'),
  })
  .superRefine((env, ctx) => {
    if (env.EARSHOT_INGEST_URL && !env.EARSHOT_INGEST_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['EARSHOT_INGEST_TOKEN'],
        message: "is required when EARSHOT_INGEST_URL is set (one of ingest's EARSHOT_INGEST_TOKENS)",
      });
    }
  });

export type StationEnv = z.infer<typeof stationEnvSchema>;

/** Reads the station's settings once; the error names every missing or bad variable. */
export function loadEnv(source: Record<string, string | undefined> = process.env): StationEnv {
  return parseEnv(stationEnvSchema, source);
}
