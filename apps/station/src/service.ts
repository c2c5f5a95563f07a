import { createCallbackSink, createHttpSink, type EventSink } from '@earshot/logger';
import type { RunningService } from '@earshot/service';
import { type Logger, pino } from 'pino';
import type { StationEnv } from './env.js';
import { createStation } from './station.js';

/** The root logger; listener IPs and the ingest token are redacted. */
export function createLogger(level: string): Logger {
  return pino({ name: 'station', level, redact: ['ip', '*.ip', 'token', 'authorization'] });
}

/** Runs the demo station as a service (main.ts gives it the lifecycle). */
export async function startStation(env: StationEnv, logger: Logger): Promise<RunningService> {
  // Without ingest, the events go to the log, so the station can be tried on its own.
  const sink: EventSink = env.EARSHOT_INGEST_URL
    ? createHttpSink({
        url: env.EARSHOT_INGEST_URL,
        token: env.EARSHOT_INGEST_TOKEN,
        logger: logger.child({ part: 'sink' }),
      })
    : createCallbackSink((event) => logger.info({ event: { ...event, ip: undefined } }, 'listen event'), {
        logger,
        onTrack: (track) => logger.info({ track }, 'track event'),
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
  return {
    async close() {
      // The listeners' last events are emitted by station.close(), then sent by the sink's.
      await station.close();
      const stats = await sink.close({ timeoutMs: 5000 });
      logger.info({ sink: stats }, 'stopped');
    },
  };
}
