import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseMountKey } from '@earshot/collectors';
import { agentRulesOf, ipRangesOf } from '@earshot/contract';
import { ConfigError, type RunningService } from '@earshot/service';
import { HLS_CLOCK, tickWithinIdle } from '@earshot/station';
import { type Logger, pino } from 'pino';
import type { AllInOneEnv } from './env.js';
import { loadOrCreateSalt, startAllInOne } from './start.js';

/** The root logger: quiet by default (LOG_LEVEL=warn), the console lines below are the interface. */
export function createLogger(level: string): Logger {
  return pino({
    name: 'earshot',
    level,
    redact: {
      paths: ['ip', '*.ip', 'token', '*.token', 'tokens', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}

// Tokens made here live only as long as this process and are printed once, at start.
const made = (name: string, given: readonly string[]) =>
  given.length > 0
    ? { tokens: given, made: false }
    : { tokens: [`${name}_${randomBytes(18).toString('base64url')}`], made: true };

/** Runs the whole of Earshot in this process as a service (main.ts gives it the lifecycle). */
export async function startEarshot(env: AllInOneEnv, logger: Logger): Promise<RunningService> {
  const ingestTokens = made('ingest', env.EARSHOT_INGEST_TOKENS);
  const readTokens = made('read', env.EARSHOT_READ_TOKENS);
  const dataDir = resolve(env.EARSHOT_DATA_DIR);
  const salt = await loadOrCreateSalt(dataDir, env.EARSHOT_LISTENER_SALT);

  // The station's MP3 events come a tick apart; a tick at or above idle would split every MP3 listen
  // into tick-long sessions, none of which counts. So the tick is at most half of idle.
  const tick = tickWithinIdle(env.EARSHOT_STATION_TICK_S, env.EARSHOT_IDLE_S);
  const segmentS = HLS_CLOCK.segmentMs / 1000;
  if (env.EARSHOT_IDLE_S < 2 * segmentS) {
    console.error(
      `earshot: warning: EARSHOT_IDLE_S=${env.EARSHOT_IDLE_S} is under twice the HLS segment duration (${segmentS} s): a player's segment requests may come idle apart and split its listen into short sessions`,
    );
  }

  // An Icecast server to count in this process, when EARSHOT_ICECAST_URL is set.
  const icecast = (() => {
    if (!env.EARSHOT_ICECAST_URL) return undefined;
    if (!env.EARSHOT_ICECAST_ADMIN_PASSWORD)
      throw new ConfigError('EARSHOT_ICECAST_URL needs EARSHOT_ICECAST_ADMIN_PASSWORD');
    const mounts = env.EARSHOT_ICECAST_MOUNTS.map((item) => {
      const parsed = parseMountKey(item);
      if (!parsed.ok) throw new ConfigError(`EARSHOT_ICECAST_MOUNTS: ${parsed.reason}`);
      return parsed.value;
    });
    return {
      url: env.EARSHOT_ICECAST_URL,
      user: env.EARSHOT_ICECAST_ADMIN_USER,
      password: env.EARSHOT_ICECAST_ADMIN_PASSWORD,
      mounts: mounts.length > 0 ? mounts : undefined,
      accessLog: env.EARSHOT_ICECAST_ACCESS_LOG,
      stateFile: resolve(dataDir, 'icecast-collector.json'),
      // Like the station's: at most half of idle, or every listen would be split into short sessions.
      tickS: Math.max(1, Math.floor(tickWithinIdle(env.EARSHOT_ICECAST_TICK_S, env.EARSHOT_IDLE_S).tickS)),
    };
  })();

  const where = env.DATABASE_URL
    ? env.DATABASE_URL.replace(/\/\/[^@/]*@/, '//***@')
    : `embedded PGlite in ${dataDir}`;
  console.log(
    `Earshot is starting (${where}; ${env.REDIS_URL ? 'BullMQ on Redis' : 'no Redis: the sweep schedules'})...`,
  );

  const running = await startAllInOne({
    databaseUrl: env.DATABASE_URL,
    dataDir,
    redisUrl: env.REDIS_URL,
    host: env.HOST,
    stationPort: env.EARSHOT_STATION_PORT,
    ingestPort: env.EARSHOT_INGEST_PORT,
    reportsPort: env.EARSHOT_REPORTS_PORT,
    ingestTokens: ingestTokens.tokens,
    readTokens: readTokens.tokens,
    listenerSalt: salt.salt,
    idleS: env.EARSHOT_IDLE_S,
    minSessionS: env.EARSHOT_MIN_SESSION_S,
    maxSessionS: env.EARSHOT_MAX_SESSION_S,
    aqhQualifierS: env.EARSHOT_AQH_QUALIFIER_S,
    sweepS: env.EARSHOT_SWEEP_S,
    tz: env.EARSHOT_TZ,
    stationTickS: tick.tickS,
    maxEventAgeS: env.EARSHOT_MAX_EVENT_AGE_S,
    icecast,
    agents: agentRulesOf(env),
    ranges: ipRangesOf(env),
    logger,
  });

  const readToken = readTokens.tokens[0]!;
  console.log(`
Earshot is running.

  Play the demo station (any player; ffplay and VLC shown):
    ffplay ${running.stationUrl}/hls/live.m3u8
    ffplay ${running.stationUrl}/stream.mp3
    vlc ${running.stationUrl}/hls/live.m3u8

  Dashboard:   ${running.reportsUrl}/?token=${readToken}
  Report API:  curl -H 'Authorization: Bearer ${readToken}' '${running.reportsUrl}/v1/report'
  Ingest:      POST ${running.ingestUrl}/v1/events  (Authorization: Bearer ${ingestTokens.tokens[0]})
${icecast ? `  Icecast:     counting ${icecast.url} (${icecast.mounts?.map((m) => `${m.mount} as ${m.stream}`).join(', ') ?? 'every mount'}) every ${icecast.tickS} s${icecast.accessLog ? `, closes from ${icecast.accessLog}` : ', no access log: closes within a tick'}\n` : ''}${ingestTokens.made || readTokens.made ? '  (tokens made for this run; set EARSHOT_INGEST_TOKENS / EARSHOT_READ_TOKENS to keep your own)\n' : ''}
  A session is finalized ${env.EARSHOT_IDLE_S} s after its player stops (EARSHOT_IDLE_S), found by the sweep
  within ${env.EARSHOT_SWEEP_S} s more (EARSHOT_SWEEP_S); listeners show live at once. Ctrl-C stops.
  The MP3 stream reports every ${tick.tickS} s (EARSHOT_STATION_TICK_S${
    tick.lowered
      ? `=${env.EARSHOT_STATION_TICK_S} lowered to half of EARSHOT_IDLE_S, so that its listens are not split into short sessions`
      : ', at most half of EARSHOT_IDLE_S'
  }).
`);

  return {
    async close() {
      console.log("\nstopping (the station's last events are written first)...");
      await running.close();
    },
  };
}
