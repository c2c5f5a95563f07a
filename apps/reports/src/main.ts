#!/usr/bin/env node
import { createDb } from '@earshot/db';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { createApp } from './app.js';
import { loadReportsEnv } from './env.js';
import { loadStations } from './stations.js';

// One root logger; tokens never appear in logs.
const logger = pino({
  name: 'earshot-reports',
  redact: ['req.headers.authorization', '*.token', '*.tokens'],
});

async function main(): Promise<void> {
  const env = loadReportsEnv();
  logger.level = env.LOG_LEVEL;
  const stations = await loadStations(env.EARSHOT_STATIONS_FILE);
  const db = await createDb({
    url: env.DATABASE_URL,
    dataDir: env.EARSHOT_DATA_DIR,
    logger,
    maxConnections: env.EARSHOT_DB_POOL,
  });
  const { app, close } = createApp({
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
  const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
    logger.info(
      { port: info.port, host: env.HOST, db: db.location, stations: stations.length },
      `earshot reports on http://${env.HOST}:${info.port}/`,
    );
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    close();
    server.close();
    await db.close().catch((error) => logger.error({ err: error }, 'closing the database failed'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  logger.fatal({ err: error }, error instanceof Error ? error.message : 'failed to start');
  process.exit(1);
});
