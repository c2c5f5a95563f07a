/**
 * @earshot/service: the plumbing every Earshot service shares, written once: the lifecycle
 * (signals, shutdown deadline, exit codes), timeouts, JSON errors, the bearer-token check, and
 * serving a Hono app (plus the health and metrics app of a service without an API).
 */
export { type BearerAuthOptions, bearerAuth, bearerToken, tokenChecker } from './bearer.js';
export { type ErrorLogger, httpError, jsonErrors } from './http-error.js';
export {
  ConfigError,
  EXIT_CODES,
  type RunningService,
  runService,
  type ServiceLogger,
  type ServiceProcess,
  type ServiceSpec,
} from './lifecycle.js';
export {
  type HealthAppOptions,
  healthApp,
  type RunningServer,
  type ServeOptions,
  serveApp,
} from './serve.js';
export { withTimeout } from './timeout.js';
