import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AgentRules, createEnricher, type IpRanges, openGeoDatabase } from '@earshot/audience';
import { createIcecastCollector, type IcecastCollector, type IcecastMount } from '@earshot/collectors';
import {
  createDb,
  type Db,
  type FinalizeSettings,
  readComponentSettings,
  sameFinalizeSettings,
  writeComponentSettings,
} from '@earshot/db';
import { createApp as createIngestApp } from '@earshot/ingest';
import { createHttpSink } from '@earshot/logger';
import { createApp as createReportsApp } from '@earshot/reports';
import { type RunningServer, serveApp } from '@earshot/service';
import { createStation } from '@earshot/station';
import { createWorker } from '@earshot/worker';
import type { Logger } from 'pino';

/** Everything the one-process Earshot needs; see `env.ts` for the defaults. */
export interface AllInOneOptions {
  /** `postgres://...`; unset: embedded PGlite in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** `redis://...`; unset: the worker's sweep alone schedules finalization. */
  redisUrl?: string | undefined;
  host: string;
  stationPort: number;
  ingestPort: number;
  reportsPort: number;
  ingestTokens: readonly string[];
  readTokens: readonly string[];
  listenerSalt: string;
  idleS: number;
  minSessionS: number;
  maxSessionS: number;
  aqhQualifierS: number;
  sweepS: number;
  tz: string;
  /** Seconds between Shoutcast listen events of the demo station. */
  stationTickS?: number;
  /** Oldest event ingest accepts, seconds (EARSHOT_MAX_EVENT_AGE_S; 0: any). Default 0. */
  maxEventAgeS?: number;
  /** An Icecast 2 server to count in this process (as `earshot collect icecast` does). */
  icecast?: AllInOneIcecast | undefined;
  /** The station's user-agent rules (EARSHOT_*_AGENTS). Default none (isbot's list alone). */
  agents?: AgentRules | undefined;
  /** Relay and monitor IP ranges (EARSHOT_RELAY_IPS, EARSHOT_MONITOR_IPS). Default none. */
  ranges?: IpRanges | undefined;
  logger: Logger;
}

/** The Icecast collector's settings (EARSHOT_ICECAST_* in env.ts). */
export interface AllInOneIcecast {
  url: string;
  user: string;
  password: string;
  /** Default: every mount with a source. */
  mounts?: IcecastMount[] | undefined;
  accessLog?: string | undefined;
  stateFile: string;
  tickS: number;
}

export interface RunningAllInOne {
  stationUrl: string;
  ingestUrl: string;
  reportsUrl: string;
  db: Db;
  /** The Icecast collector, when `icecast` was given. */
  icecast?: IcecastCollector | undefined;
  /** Stops the station (its last events reach ingest), drains ingest, stops the worker, closes the database. Idempotent. */
  close(): Promise<void>;
}

/**
 * The secret salt of listener keys: EARSHOT_LISTENER_SALT, else one made once and kept beside the
 * embedded database (mode 0600), so a listener keeps one key across restarts. Never in the repo.
 */
export async function loadOrCreateSalt(
  dataDir: string,
  fromEnv: string | undefined,
): Promise<{ salt: string; created: boolean }> {
  if (fromEnv) return { salt: fromEnv, created: false };
  const file = join(dataDir, 'listener-salt');
  try {
    const salt = (await readFile(file, 'utf8')).trim();
    if (salt.length >= 16) return { salt, created: false };
  } catch {
    // not made yet
  }
  await mkdir(dataDir, { recursive: true });
  const salt = randomBytes(32).toString('hex');
  await writeFile(file, `${salt}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { salt, created: true };
}

/**
 * Starts the whole of Earshot in this process on one database: the demo station (its logger posts
 * to ingest over HTTP, as a real streaming server would), ingest, the finalization worker (BullMQ
 * when `redisUrl` is set, else the sweep alone) and the reports API with its dashboard.
 */
export async function startAllInOne(options: AllInOneOptions): Promise<RunningAllInOne> {
  const { logger } = options;
  const db = await createDb({
    url: options.databaseUrl,
    dataDir: options.dataDir,
    logger: logger.child({ part: 'db' }),
  });
  const settings: FinalizeSettings = {
    idleS: options.idleS,
    minSessionS: options.minSessionS,
    maxSessionS: options.maxSessionS,
    agents: options.agents,
  };
  // Record what the rows are cut with and the window ingest accepts, as the separate services do
  // (retention and the session_state prune read the latter). A demo restarted with another idle
  // is allowed here, with a warning: the rows already stored keep the old settings.
  const stored = await readComponentSettings<FinalizeSettings>(db, 'finalize');
  if (stored && !sameFinalizeSettings(stored.settings, settings))
    logger.warn(
      { stored: stored.settings, running: settings },
      'the stored sessions were finalized with other session settings; they keep them',
    );
  await writeComponentSettings(db, 'finalize', settings);
  await writeComponentSettings(db, 'ingest', {
    maxEventAgeS: options.maxEventAgeS ?? 0,
    maxEventAheadS: 300,
  });

  const worker = createWorker({
    db,
    settings,
    redisUrl: options.redisUrl,
    sweepIntervalMs: options.sweepS * 1000,
    logger: logger.child({ part: 'worker' }),
    ownsDb: false,
    defaultMetrics: false,
  });
  const scheduler = options.redisUrl
    ? (await import('@earshot/ingest')).createScheduler({
        redisUrl: options.redisUrl,
        idleS: options.idleS,
        timeoutMs: 500,
        logger,
      })
    : undefined;
  const ingest = createIngestApp({
    db,
    tokens: options.ingestTokens,
    idleS: options.idleS,
    listenerSalt: options.listenerSalt,
    enrich: createEnricher({ geo: openGeoDatabase(), ranges: options.ranges ?? { relay: [], monitor: [] } }),
    maxEventAgeS: options.maxEventAgeS ?? 0,
    scheduler,
    logger: logger.child({ part: 'ingest' }),
  });
  const reports = createReportsApp({
    db,
    tokens: options.readTokens,
    logger: logger.child({ part: 'reports' }),
    defaults: { ...settings, aqhQualifierS: options.aqhQualifierS, tz: options.tz },
  });

  const servers: RunningServer[] = [];
  let station: Awaited<ReturnType<typeof createStation>> | undefined;
  let sink: ReturnType<typeof createHttpSink> | undefined;
  let icecast: IcecastCollector | undefined;
  let icecastSink: ReturnType<typeof createHttpSink> | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const step = async (what: string, fn: () => Promise<unknown> | unknown) => {
        try {
          await fn();
        } catch (error) {
          logger.error(
            { err: error instanceof Error ? error.message : String(error) },
            `closing ${what} failed`,
          );
        }
      };
      await step('the station', () => station?.close());
      await step('the station sink', () => sink?.close({ timeoutMs: 5000 }));
      await step('the Icecast collector', () => icecast?.stop());
      await step('the Icecast collector sink', () => icecastSink?.close({ timeoutMs: 5000 }));
      await step('ingest', () => ingest.drain());
      await step('the scheduler', () => scheduler?.close());
      await step('the worker', () => worker.close());
      await step('reports', () => reports.close());
      // At once: long-lived responses (SSE, a player's stream) would hold a graceful close open.
      for (const server of servers) await step('a server', () => server.close());
      await step('the database', () => db.close());
    })();
    return closing;
  };

  try {
    await worker.start();
    const ingestServer = await serveApp({
      fetch: ingest.app.fetch,
      port: options.ingestPort,
      host: options.host,
    });
    servers.push(ingestServer);
    const reportsServer = await serveApp({
      fetch: reports.app.fetch,
      port: options.reportsPort,
      host: options.host,
    });
    servers.push(reportsServer);
    sink = createHttpSink({
      url: `${ingestServer.url}/v1/events`,
      token: options.ingestTokens[0]!,
      logger: logger.child({ part: 'station-sink' }),
    });
    station = await createStation({
      sink,
      port: options.stationPort,
      host: options.host,
      tickS: options.stationTickS,
      logger: logger.child({ part: 'station' }),
    });
    if (options.icecast) {
      const ice = options.icecast;
      icecastSink = createHttpSink({
        url: `${ingestServer.url}/v1/events`,
        token: options.ingestTokens[0]!,
        logger: logger.child({ part: 'icecast-sink' }),
      });
      icecast = createIcecastCollector({
        admin: { url: ice.url, user: ice.user, password: ice.password },
        ...(ice.mounts ? { mounts: ice.mounts } : {}),
        ...(ice.accessLog ? { accessLog: ice.accessLog } : {}),
        stateFile: ice.stateFile,
        tickS: ice.tickS,
        sink: icecastSink,
        logger: logger.child({ part: 'icecast' }),
      });
      await icecast.start();
    }
    return {
      stationUrl: station.url,
      ingestUrl: ingestServer.url,
      reportsUrl: reportsServer.url,
      db,
      icecast,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
