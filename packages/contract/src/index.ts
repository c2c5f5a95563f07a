/**
 * @earshot/contract: what the apps agree on, kept out of `@earshot/db` because neither part is about
 * the database: the finalize-queue contract (ingest produces, the worker consumes) and the
 * environment fragment of DESIGN section 8 that every app's `env.ts` extends.
 */
export {
  agentList,
  agentRulesOf,
  checkEnv,
  commaList,
  type EnvIssue,
  ipRangeList,
  ipRangesOf,
  LOG_LEVELS,
  type LogLevel,
  logLevel,
  parseEnv,
  type SharedEnv,
  sharedEnvSchema,
  timeZone,
} from './env.js';
export {
  FINALIZE_ATTEMPTS,
  FINALIZE_JOB,
  FINALIZE_JOB_MAX_SESSIONS,
  FINALIZE_QUEUE,
  type FinalizeJob,
  type FinalizeJobData,
  finalizeJobs,
  parseFinalizeJobData,
  QUEUE_PREFIX,
} from './queue.js';
