import { createDb } from '@earshot/db';
import { type RunningService, serveApp } from '@earshot/service';
import { type Logger, pino } from 'pino';
import { createApp } from './app.js';
import type { ReportsEnv } from './env.js';
import { loadStations } from './stations.js';

/**
 * `work_mem` of the service's connections: a month's rollup rows sorted or hashed at once (the
 * dashboard's calls) stay in memory. At most the pool's size times this, and only while they run.
 */
const REPORTS_WORK_MEM_MB = 64;

/** The root logger; tokens never appear in logs. */
export function createLogger(level: string): Logger {
  return pino({
    name: 'earshot-reports',
    level,
    redact: ['req.headers.authorization', '*.token', '*.tokens'],
  });
}

/** Runs the reports API and dashboard as a service (main.ts gives it the lifecycle). */
export async function startReports(env: ReportsEnv, logger: Logger): Promise<RunningService> {
  const stations = await loadStations(env.EARSHOT_STATIONS_FILE);
  const db = await createDb({
    url: env.DATABASE_URL,
    dataDir: env.EARSHOT_DATA_DIR,
    logger,
    maxConnections: env.EARSHOT_DB_POOL,
    workMemMb: REPORTS_WORK_MEM_MB,
    jit: false,
  });
  const reports = createApp({
    db,
    tokens: env.EARSHOT_READ_TOKENS,
    stations,
    logger,
    defaults: {
      idleS: env.EARSHOT_IDLE_S,
      minSessionS: env.EARSHOT_MIN_SESSION_S,
      maxSessionS: env.EARSHOT_MAX_SESSION_S,
      aqhQualifierS: env.EARSHOT_AQH_QUALIFIER_S,
      tz: env.EARSHOT_TZ,
    },
  });
  let http: Awaited<ReturnType<typeof serveApp>>;
  try {
    http = await serveApp({ fetch: reports.app.fetch, port: env.PORT, host: env.HOST });
  } catch (error) {
    reports.close();
    await db.close();
    throw error;
  }
  logger.info(
    { port: http.port, host: http.host, db: db.location, stations: stations.length },
    `earshot reports on ${http.url}/`,
  );
  return {
    async close() {
      // The SSE responses end first, so that the server's close is not held open by them.
      reports.close();
      await http.close();
      await db.close();
    },
  };
}
