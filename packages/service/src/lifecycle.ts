/**
 * Exit codes of every Earshot service (ingest, worker, reports, station, all-in-one):
 * - 0 `stopped`: stopped on SIGTERM or SIGINT after a clean close.
 * - 1 `failed`: failed to start, a close step failed, the shutdown deadline passed, or a second
 *   signal came before the close finished (it exits at once).
 * - 2 `config`: refused to start: a missing or bad environment variable, or (the worker) stored
 *   settings it must not mix with its own. Fix the configuration; a restart alone will not help.
 */
export const EXIT_CODES = { stopped: 0, failed: 1, config: 2 } as const;

/** A start refused for its configuration: the service exits {@link EXIT_CODES}.config, not 1. */
export class ConfigError extends Error {
  /** Logged with the message (what was configured, what was found). */
  readonly details: object;
  constructor(message: string, details: object = {}) {
    super(message);
    this.name = 'ConfigError';
    this.details = details;
  }
}

/** pino's shape, as much of it as the lifecycle logs with. */
export interface ServiceLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
}

/** What `start` returns: a close that stops taking work and releases everything. */
export interface RunningService {
  close(): Promise<void>;
}

/** The parts of `process` the lifecycle uses (tests pass their own). */
export interface ServiceProcess {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
  stderr: { write(text: string): unknown };
}

export interface ServiceSpec<E, L extends ServiceLogger> {
  /** Program name, first on the messages written before a logger exists: `earshot-ingest`. */
  name: string;
  /** Reads the environment once; a throw is a configuration error (exit 2). */
  loadEnv(): E;
  createLogger(env: E): L;
  /** Starts serving; a throw exits 1 (or 2 for a {@link ConfigError}). Cleans up after itself when it throws. */
  start(env: E, logger: L): Promise<RunningService>;
  /** Longest the close after the first signal may take, ms; then exit 1. Default 30 s. */
  shutdownMs?: number;
  process?: ServiceProcess;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Runs an app as a service: environment, logger, start, then SIGTERM or SIGINT closes it
 * gracefully within `shutdownMs`, and a second signal exits at once. Exit codes: {@link EXIT_CODES}.
 * Resolves once started (or once it has decided to exit).
 */
export async function runService<E, L extends ServiceLogger>(spec: ServiceSpec<E, L>): Promise<void> {
  const proc = spec.process ?? process;
  const shutdownMs = spec.shutdownMs ?? 30_000;
  let env: E;
  try {
    env = spec.loadEnv();
  } catch (error) {
    proc.stderr.write(`${spec.name}: ${errorText(error)}\n`);
    return proc.exit(EXIT_CODES.config);
  }
  const logger = spec.createLogger(env);
  let exited = false;
  const exit = (code: number) => {
    if (exited) return;
    exited = true;
    proc.exit(code);
  };

  // The handlers come first: a signal while starting closes what started, once it has.
  const started = spec.start(env, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.error({ signal }, 'second signal: exiting now, without finishing the close');
      return exit(EXIT_CODES.failed);
    }
    stopping = true;
    logger.info({ signal }, `${spec.name} stopping`);
    // A store that stops answering must not hold the process forever: what was not acknowledged
    // is retried by its sender, what was is stored. Not unref'd: a close waiting on nothing that
    // holds the event loop must still end in exit 1, not in a silent exit 0.
    setTimeout(() => {
      logger.error({ shutdownMs }, `shutdown did not finish in ${shutdownMs / 1000} s; exiting`);
      exit(EXIT_CODES.failed);
    }, shutdownMs);
    started
      .then((running) => running.close())
      .then(
        () => exit(EXIT_CODES.stopped),
        (error: unknown) => {
          logger.error({ err: errorText(error) }, 'shutdown failed');
          exit(EXIT_CODES.failed);
        },
      );
  };
  proc.on('SIGTERM', () => stop('SIGTERM'));
  proc.on('SIGINT', () => stop('SIGINT'));

  try {
    await started;
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(error.details, error.message);
      return exit(EXIT_CODES.config);
    }
    logger.fatal({ err: errorText(error) }, `${spec.name} failed to start`);
    return exit(EXIT_CODES.failed);
  }
}
