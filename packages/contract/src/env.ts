import { type AgentRules, type IpRanges, parseAgentPatterns, parseIpRanges } from '@earshot/audience';
import { isValidTimeZone } from '@earshot/core';
import * as z from 'zod';
import { FINALIZE_QUEUE, QUEUE_PREFIX } from './queue.js';

/**
 * Environment settings shared by every Earshot app (DESIGN section 8). Apps build their `env.ts`
 * from this fragment; packages never read `process.env` themselves.
 */
const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

/** A list parsed by `parse`, which throws an Error saying what is wrong: a zod issue instead. */
const parsedList = (parse: (text: string | undefined) => string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parse(v);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

/** IP ranges (`EARSHOT_RELAY_IPS=203.0.113.0/24,2001:db8::/32`): addresses or CIDR, comma-separated. */
export const ipRangeList = parsedList((v) => parseIpRanges(v));

/** User-agent patterns (`EARSHOT_BOT_AGENTS=StatusCake,/^probe\b/`): substrings or /regex/, case-insensitive. */
export const agentList = parsedList((v) => parseAgentPatterns(v));

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

/** pino's levels, in `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** `LOG_LEVEL`: one of {@link LOG_LEVELS}, `fallback` when unset. */
export const logLevel = (fallback: LogLevel = 'info') => z.enum(LOG_LEVELS).default(fallback);

/**
 * An IANA time zone name as `Intl` knows it (core's `isValidTimeZone`): a typo must stop the app at
 * start, not turn into a RangeError in the first report.
 */
export const timeZone = z
  .string()
  .refine(isValidTimeZone, 'is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)');

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
  EARSHOT_TZ: timeZone.default('UTC'),
  /** BullMQ queue of finalize jobs: ingest adds to it, the worker consumes it (tests give each run its own). */
  EARSHOT_FINALIZE_QUEUE: z.string().min(1).default(FINALIZE_QUEUE),
  /** BullMQ key prefix in Redis. */
  EARSHOT_QUEUE_PREFIX: z.string().min(1).default(QUEUE_PREFIX),
  /**
   * Oldest event ingest accepts, seconds before now (0: any age). Retention must keep at least this
   * much more than a day of raw events (earshot retention checks), so that no event can arrive for a
   * session whose events were dropped. Default 7 days.
   */
  EARSHOT_MAX_EVENT_AGE_S: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(7 * 86_400),
  LOG_LEVEL: logLevel('info'),
  /**
   * Net and gross (DESIGN 4). IP ranges of the station's relays and of its own monitoring: matched
   * by ingest on the raw IP (which is then dropped), so their sessions are left out of net figures.
   */
  EARSHOT_RELAY_IPS: ipRangeList,
  EARSHOT_MONITOR_IPS: ipRangeList,
  /**
   * User-agent patterns the worker classifies sessions by, beside isbot's list of bots: the
   * station's own bots, relays and monitors.
   */
  EARSHOT_BOT_AGENTS: agentList,
  EARSHOT_RELAY_AGENTS: agentList,
  EARSHOT_MONITOR_AGENTS: agentList,
});

export type SharedEnv = z.infer<typeof sharedEnvSchema>;

/** One missing or bad variable: its name, the text it was set to (undefined: unset) and what is wrong. */
export interface EnvIssue {
  name: string;
  value: string | undefined;
  message: string;
}

/**
 * Checks `env` against `schema`, reporting every bad variable at once. An empty variable
 * (`REDIS_URL=`) counts as unset, as shells and compose files use it. For an app that words its own
 * message (the CLI); the services use {@link parseEnv}.
 */
export function checkEnv<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
): { ok: true; env: z.infer<T> } | { ok: false; issues: EnvIssue[] } {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') set[name] = value;
  const result = schema.safeParse(set);
  if (result.success) return { ok: true, env: result.data };
  const issues = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(env)';
    return { name, value: set[name], message: issue.message };
  });
  return { ok: false, issues };
}

/** Parses `env` against `schema`; throws one Error naming every missing or bad variable. */
export function parseEnv<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
): z.infer<T> {
  const result = checkEnv(schema, env);
  if (result.ok) return result.env;
  const lines = result.issues.map((i) => `  ${i.name}: ${i.message}`);
  throw new Error(`invalid environment:\n${lines.join('\n')}`);
}

/** The worker's (and the offline report's) user-agent rules from the environment. */
export function agentRulesOf(env: SharedEnv): AgentRules {
  return {
    botAgents: env.EARSHOT_BOT_AGENTS,
    relayAgents: env.EARSHOT_RELAY_AGENTS,
    monitorAgents: env.EARSHOT_MONITOR_AGENTS,
  };
}

/** Ingest's (and the offline report's) relay and monitor IP ranges from the environment. */
export function ipRangesOf(env: SharedEnv): IpRanges {
  return { relay: env.EARSHOT_RELAY_IPS, monitor: env.EARSHOT_MONITOR_IPS };
}
