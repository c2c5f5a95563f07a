import { createCallbackSink, createHttpSink, type EventSink } from '@earshot/logger';
import pino from 'pino';
import { loadEnv } from './env.js';
import { createStation } from './station.js';

const env = (() => {
  try {
    return loadEnv();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
})();

const logger = pino({
  name: 'station',
  level: env.LOG_LEVEL,
  redact: ['ip', '*.ip', 'token', 'authorization'],
});

// Without ingest, the events go to the log, so the station can be tried on its own.
const sink: EventSink = env.EARSHOT_INGEST_URL
  ? createHttpSink({
      url: env.EARSHOT_INGEST_URL,
      token: env.EARSHOT_INGEST_TOKEN,
      logger: logger.child({ part: 'sink' }),
    })
  : createCallbackSink((event) => logger.info({ event: { ...event, ip: undefined } }, 'listen event'), {
      logger,
    });

const station = await createStation({
  sink,
  port: env.PORT,
  host: env.HOST,
  tickS: env.EARSHOT_STATION_TICK_S,
  trustProxy: env.EARSHOT_TRUST_PROXY,
  logger,
});

logger.info(
  { url: station.url, ingest: env.EARSHOT_INGEST_URL ?? null },
  env.EARSHOT_INGEST_URL ? 'station on air; events go to ingest' : 'station on air; events go to the log',
);
console.log(`
Earshot demo station on air at ${station.url}
  ffplay ${station.url}/hls/live.m3u8
  ffplay ${station.url}/stream.mp3
`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  await station.close();
  const stats = await sink.close({ timeoutMs: 5000 });
  logger.info({ sink: stats }, 'stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
