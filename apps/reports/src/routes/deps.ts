import type { Queryable } from '@earshot/db';
import type { ReportDefaults } from '../params.js';
import type { Station } from '../stations.js';

/** Minimal logger (pino's shape). */
export interface AppLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child?(bindings: object): AppLogger;
}

/** What the `/v1` route modules read from: the app's options, settled once in `createApp`. */
export interface RouteDeps {
  db: Queryable;
  /** The worker's session settings, the default AQH qualifier and the default zone. */
  defaults: ReportDefaults;
  stations: readonly Station[];
  logger?: AppLogger | undefined;
}
