import type { ListenEvent, TrackEvent } from '@earshot/core';
import type { EventSink, LoggerLike } from '@earshot/logger';
import { parseAccessLine } from '../access-log/parse-line.js';
import { shortHash } from '../shared/deterministic-id.js';
import { type LogPosition, readNewLines } from '../shared/log-tail.js';
import { readStateFile, writeStateFile } from '../shared/state-file.js';
import { streamKeyOf } from '../shared/stream-key.js';
import { startTickLoop, type TickLoop } from '../shared/tick-loop.js';
import {
  fetchListClients,
  fetchStats,
  type IcecastAdmin,
  type IcecastListener,
  type IcecastMountStats,
  type IcecastStats,
} from './admin.js';
import { type Connection, closeEvents, sessionIdOf, tickEvents } from './connection.js';
import { type SeenTitle, titleText, trackOfTitle } from './tracks.js';

/** A mount to count, its stream key and, optionally, its bitrate (for the ticks' bytes). */
export interface IcecastMount {
  mount: string;
  stream: string;
  bitrateKbps?: number;
}

export interface IcecastCollectorOptions {
  admin: IcecastAdmin;
  /** Name of this Icecast server in session ids. Default: host:port of the admin URL. */
  server?: string;
  /** Mounts to count. Default: every mount with a source, keyed by {@link streamKeyOf}. */
  mounts?: readonly IcecastMount[];
  /** Icecast's access log (`<accesslog>`): exact seconds and bytes at disconnect. Strongly advised. */
  accessLog?: string;
  /** Where to start in the access log on the first run (no state yet). Default `end`. */
  accessLogFrom?: 'end' | 'start';
  /** JSON state (log position, open connections); without it a restart may lose closes. */
  stateFile?: string;
  /** Seconds between tick events (and admin polls). Default 30. */
  tickS?: number;
  /**
   * How long a connection missing from the admin lists waits for its access-log line before it is
   * closed at its last sighting, s. Default max(2 ticks, 10 s). Without an access log: at once.
   */
  graceS?: number;
  /**
   * Where the events go; track events (a counted mount's title changed) go to its `pushTrack` (the
   * HTTP sink posts them to ingest's `/v1/tracks`). A sink without `pushTrack` gets no tracks.
   */
  sink: EventSink;
  logger?: LoggerLike;
  /** How long a cycle waits for the sink to deliver its events before it goes on, ms. Default the tick. */
  flushTimeoutMs?: number;
}

/** What one cycle did. */
export interface CycleReport {
  /** Whether the admin interface answered. */
  polled: boolean;
  /** Listeners listed on the counted mounts. */
  listeners: number;
  ticks: number;
  /** Connections closed from their access-log line (exact). */
  closedFromLog: number;
  /** Connections known from the log only (they came and went between polls, or while the collector was down). */
  closedFromLogOnly: number;
  /** Connections closed at their last sighting (no log line within the grace: Icecast killed, no log). */
  closedEstimated: number;
  /** Track events made: counted mounts whose title changed. */
  tracks: number;
  /** Whether the state was written (the sink had delivered everything). */
  saved: boolean;
}

export interface IcecastCollector {
  /** Loads the state and runs a cycle just after every tick boundary until `stop()`. */
  start(): Promise<void>;
  /** One cycle now: read the log, poll, make and send the events, save the state. */
  runOnce(): Promise<CycleReport>;
  /** Stops after the cycle in flight; flushes the sink (it does not close it). Idempotent. */
  stop(): Promise<void>;
  /** The connections open now (a copy). */
  connections(): Connection[];
}

interface Tombstone {
  /** The connection's key (`START:CLIENT`); absent for one known from the log only. */
  key?: string;
  mount: string;
  ip?: string;
  startMs: number;
  closedAtMs: number;
}

interface IcecastState {
  version: 1;
  server: string;
  tickS: number;
  log?: LogPosition;
  connections: Record<string, Connection>;
  closed: Tombstone[];
  /** Per counted mount, the title it was last seen playing (absent in states written before tracks). */
  titles?: Record<string, SeenTitle>;
}

const TOMBSTONE_MS = 3_600_000;
const MAX_CATCH_UP_MS = 86_400_000;

/**
 * Share of the mount's rate the ticks assume a listener received. The close can add what the
 * ticks left out but cannot take back what they assumed, and a player's first and last seconds
 * (connection set-up, a source that has just started and has no burst to give yet, the end of a
 * read) come in under the rate: measured 97.5 % over a 16 s ffmpeg connection. Assuming a little
 * less keeps the session's bytes equal to the log's in those cases.
 */
const TICK_RATE_SHARE = 0.95;

/** Bytes per second the ticks assume: the mount's rate as configured, else as the source declares, else as Icecast reads it. */
function bytesPerSecond(mount: IcecastMount, stats: IcecastMountStats | undefined, nowS: number): number {
  const kbps = mount.bitrateKbps ?? stats?.bitrateKbps;
  if (kbps) return Math.round(kbps * 125 * TICK_RATE_SHARE);
  if (stats?.totalBytesRead && stats.streamStartS && nowS - stats.streamStartS >= 5) {
    return Math.round((stats.totalBytesRead / (nowS - stats.streamStartS)) * TICK_RATE_SHARE);
  }
  return 0;
}
const MAX_TOMBSTONES = 10_000;

/**
 * Icecast's access log writes a user agent with every character up to `"` (but the space), a
 * backquote and a backslash replaced by `.` (its `%H` format); the admin XML gives it raw.
 */
export function icecastLogText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Icecast replaces control characters too
  return text.replace(/[\u0000-\u001f!"`\\]/g, '.');
}

/**
 * Counts the listeners of an unmodified Icecast 2 server: a tick event per connected listener of
 * the counted mounts every tick (admin `listclients`), and at disconnect the exact remainder from
 * Icecast's access log (seconds connected and bytes sent). Event ids and times are derived from
 * (server, Icecast start, client id, tick boundary | close), so a restart or a retry adds nothing.
 * A counted mount's title (admin `stats`) that changes becomes a track event (DESIGN section 9)
 * at the poll that saw it, its id derived from (server, mount, title, first sighting).
 */
export function createIcecastCollector(options: IcecastCollectorOptions): IcecastCollector {
  const tickS = options.tickS ?? 30;
  if (!(Number.isInteger(tickS) && tickS >= 1))
    throw new TypeError('tickS must be a whole number of seconds >= 1');
  const tickMs = tickS * 1000;
  const graceMs = (options.graceS ?? Math.max(2 * tickS, 10)) * 1000;
  const server = options.server ?? new URL(options.admin.url).host;
  const logger = options.logger;
  const configured = options.mounts ? new Map(options.mounts.map((m) => [m.mount, m])) : undefined;
  let state: IcecastState = { version: 1, server, tickS, connections: {}, closed: [] };
  let loaded = false;
  let running: Promise<CycleReport> | undefined;
  let warnedNoTracks = false;

  const mountOf = (mount: string, stats?: IcecastMountStats): IcecastMount | undefined => {
    if (configured) return configured.get(mount);
    const stream = streamKeyOf(mount);
    return stream && (stats || Object.values(state.connections).some((c) => c.mount === mount))
      ? { mount, stream }
      : undefined;
  };

  async function load(): Promise<void> {
    if (loaded) return;
    loaded = true;
    if (!options.stateFile) return;
    const saved = await readStateFile<IcecastState>(options.stateFile);
    if (!saved) return;
    if (saved.version !== 1) throw new Error(`${options.stateFile}: unknown state version ${saved.version}`);
    if (saved.tickS !== tickS) {
      throw new Error(
        `${options.stateFile} was written with a ${saved.tickS} s tick: run with that tick, or move the file away to start afresh`,
      );
    }
    state = { ...saved, server };
  }

  function addConnection(
    epochS: number,
    listener: IcecastListener,
    mount: IcecastMount,
    icecastNowS: number,
    stats: IcecastMountStats | undefined,
  ): Connection {
    const startMs = (icecastNowS - listener.connectedS) * 1000;
    const bytesPerS = bytesPerSecond(mount, stats, icecastNowS);
    // A connection older than a day (a relay, a monitor) is ticked for its last day only: ingest
    // refuses events older than its EARSHOT_MAX_EVENT_AGE_S, and with them their whole batch.
    const tickedMs = Math.max(startMs, Math.floor((icecastNowS * 1000 - MAX_CATCH_UP_MS) / tickMs) * tickMs);
    const c: Connection = {
      session: sessionIdOf(server, epochS, listener.id),
      idBase: `icecast\u001f${server}\u001f${epochS}\u001f${listener.id}`,
      epochS,
      clientId: listener.id,
      mount: mount.mount,
      stream: mount.stream,
      startMs,
      bytesPerS,
      tickedMs,
      lastSeenMs: icecastNowS * 1000,
    };
    if (listener.ip) c.ip = listener.ip;
    if (listener.ua) c.ua = listener.ua;
    state.connections[`${epochS}:${listener.id}`] = c;
    return c;
  }

  function close(key: string, c: Connection, now: number): void {
    delete state.connections[key];
    const tomb: Tombstone = { key, mount: c.mount, startMs: c.startMs, closedAtMs: now };
    if (c.ip) tomb.ip = c.ip;
    state.closed.push(tomb);
  }

  /** The access log's closes since the last cycle, each matched to an open connection or made one. */
  async function readLog(events: ListenEvent[], report: CycleReport, now: number): Promise<void> {
    if (!options.accessLog) return;
    const { lines, position } = await readNewLines(options.accessLog, state.log, {
      from: options.accessLogFrom ?? 'end',
    });
    for (const line of lines) {
      const parsed = parseAccessLine(line.text, 'combined');
      if (!parsed.ok) continue;
      const r = parsed.record;
      if (r.method !== 'GET' || r.status !== 200 || r.connectedS === undefined) continue;
      const path = r.target.split('?')[0] ?? r.target;
      const mount = mountOf(path);
      if (!mount) continue;
      const endMs = Math.floor(r.timeMs / 1000) * 1000;
      const startMs = endMs - r.connectedS * 1000;
      const near = (m: { mount: string; ip?: string; startMs: number }) =>
        m.mount === path && (m.ip ?? '') === (r.ip ?? '') && Math.abs(m.startMs - startMs) <= 1000;
      const candidates = Object.entries(state.connections)
        .filter(([, c]) => near(c))
        .sort(
          ([, a], [, b]) =>
            Math.abs(a.startMs - startMs) - Math.abs(b.startMs - startMs) ||
            Number(b.missingSinceMs !== undefined) - Number(a.missingSinceMs !== undefined) ||
            Number(icecastLogText(b.ua ?? '-') === (r.ua ?? '-')) -
              Number(icecastLogText(a.ua ?? '-') === (r.ua ?? '-')) ||
            Number(a.clientId) - Number(b.clientId),
        );
      const match = candidates[0];
      if (match) {
        const [key, c] = match;
        events.push(...closeEvents(c, c.startMs + r.connectedS * 1000, tickMs, r.bytes));
        close(key, c, now);
        report.closedFromLog++;
        continue;
      }
      // Closed already at its last sighting (its line came after the grace): keep that close.
      if (state.closed.some(near)) {
        logger?.warn(
          { mount: path, connectedS: r.connectedS },
          'access-log line of a connection closed before; ignored',
        );
        continue;
      }
      const digest = shortHash(12, path, r.ip ?? '', r.ua ?? '', r.connectedS, r.bytes, line.offset);
      const c: Connection = {
        session: `icecast:${server}:log:${startMs / 1000}:${digest}`.slice(0, 128),
        idBase: `icecast\u001f${server}\u001flog\u001f${startMs}\u001f${digest}`,
        mount: path,
        stream: mount.stream,
        startMs,
        bytesPerS: r.connectedS > 0 ? r.bytes / r.connectedS : 0,
        tickedMs: startMs,
        lastSeenMs: endMs,
      };
      if (r.ip) c.ip = r.ip;
      if (r.ua) c.ua = r.ua;
      events.push(...closeEvents(c, endMs, tickMs, r.bytes));
      report.closedFromLogOnly++;
    }
    state.log = position;
  }

  /** A track event for each counted mount whose title differs from the one it was last seen with. */
  function titleChanges(mount: IcecastMount, mountStats: IcecastMountStats, seenMs: number): TrackEvent[] {
    state.titles ??= {};
    const titles = state.titles;
    const text = titleText(mountStats);
    if ((titles[mount.mount]?.text ?? '') === text) return [];
    if (text === '') {
      delete titles[mount.mount];
      return [];
    }
    const seen: SeenTitle = { text, firstSeenMs: seenMs };
    titles[mount.mount] = seen;
    const track = trackOfTitle(server, mount.mount, mount.stream, seen, mountStats);
    return track ? [track] : [];
  }

  async function poll(
    events: ListenEvent[],
    tracks: TrackEvent[],
    report: CycleReport,
    now: number,
  ): Promise<void> {
    let stats: IcecastStats;
    let seenMs: number;
    try {
      const answer = await fetchStats(options.admin);
      stats = answer.value;
      seenMs = answer.sentMs;
    } catch (error) {
      logger?.warn({ err: error }, 'Icecast admin stats failed; this cycle makes no ticks');
      return;
    }
    const listed = new Set<string>();
    const closedKeys = new Set(state.closed.map((t) => t.key));
    const polledMounts = new Set<string>();
    const mounts = configured ? [...configured.values()] : [];
    if (!configured) for (const [name, s] of stats.mounts) mounts.push(mountOf(name, s) as IcecastMount);
    for (const mount of mounts) {
      if (!mount) continue;
      const mountStats = stats.mounts.get(mount.mount);
      if (!mountStats) {
        polledMounts.add(mount.mount); // no source: no listeners
        continue;
      }
      tracks.push(...titleChanges(mount, mountStats, seenMs));
      let answer: Awaited<ReturnType<typeof fetchListClients>>;
      try {
        answer = await fetchListClients(options.admin, mount.mount);
      } catch (error) {
        logger?.warn({ err: error, mount: mount.mount }, 'Icecast listclients failed');
        continue;
      }
      polledMounts.add(mount.mount);
      // Icecast computed `Connected` at one instant between sending and receiving, in whole seconds.
      const lowS = Math.floor(answer.sentMs / 1000);
      const exact = lowS === Math.floor(answer.receivedMs / 1000);
      for (const listener of answer.value) {
        report.listeners++;
        const key = `${stats.serverStartS}:${listener.id}`;
        let c = state.connections[key];
        // Icecast may still list a client for a moment after it logged its departure.
        if (!c && closedKeys.has(key)) continue;
        if (!c) {
          // Its start must come out the same after a restart (event times are part of their
          // identity): taken only from an answer that fell within one second; else next cycle.
          if (!exact) continue;
          c = addConnection(stats.serverStartS, listener, mount, lowS, mountStats);
        }
        listed.add(key);
        // No rate was known when it connected (a source that had just started): take it now.
        if (c.bytesPerS === 0) c.bytesPerS = bytesPerSecond(mount, mountStats, lowS);
        c.lastSeenMs = Math.max(c.lastSeenMs, lowS * 1000);
        delete c.missingSinceMs;
        const made = tickEvents(c, lowS * 1000, tickMs);
        report.ticks += made.length;
        events.push(...made);
      }
    }
    report.polled = true;
    for (const [key, c] of Object.entries(state.connections)) {
      if (listed.has(key)) continue;
      // A mount whose list failed says nothing about its listeners; another run of Icecast does.
      if (c.epochS === stats.serverStartS && !polledMounts.has(c.mount)) continue;
      c.missingSinceMs ??= now;
      if (options.accessLog && now - c.missingSinceMs < graceMs) continue;
      events.push(...closeEvents(c, c.lastSeenMs, tickMs));
      close(key, c, now);
      report.closedEstimated++;
      logger?.warn(
        { session: c.session, mount: c.mount },
        options.accessLog
          ? 'connection left no access-log line within the grace; closed at its last sighting'
          : 'connection gone; closed at its last sighting (no access log)',
      );
    }
  }

  async function cycle(): Promise<CycleReport> {
    await load();
    const now = Date.now();
    const report: CycleReport = {
      polled: false,
      listeners: 0,
      ticks: 0,
      closedFromLog: 0,
      closedFromLogOnly: 0,
      closedEstimated: 0,
      tracks: 0,
      saved: false,
    };
    const events: ListenEvent[] = [];
    const tracks: TrackEvent[] = [];
    // The log first: a connection it closes is not mistaken for one that vanished.
    await readLog(events, report, now);
    await poll(events, tracks, report, now);
    state.closed = state.closed.filter((t) => now - t.closedAtMs < TOMBSTONE_MS).slice(-MAX_TOMBSTONES);
    for (const e of events) options.sink.push(e);
    report.tracks = tracks.length;
    if (tracks.length > 0) {
      const { sink } = options;
      if (sink.pushTrack) for (const t of tracks) sink.pushTrack(t);
      else if (!warnedNoTracks) {
        warnedNoTracks = true;
        logger?.warn({}, 'the sink takes no track events: title changes are not sent');
      }
    }
    await options.sink.flush({ timeoutMs: options.flushTimeoutMs ?? tickMs });
    // Saved only once everything made so far is delivered: a crash before that re-reads the same
    // log lines and makes the same events again, which ingest keeps once.
    const buffered = options.sink.stats().buffered + (options.sink.trackStats?.().buffered ?? 0);
    if (options.stateFile && buffered === 0) {
      await writeStateFile(options.stateFile, state);
      report.saved = true;
    }
    return report;
  }

  function runOnce(): Promise<CycleReport> {
    const next = (running ?? Promise.resolve(undefined)).catch(() => undefined).then(cycle);
    running = next;
    return next;
  }

  let loop: TickLoop | undefined;
  return {
    async start() {
      await load();
      loop ??= startTickLoop(tickMs, runOnce, (error) =>
        logger?.error({ err: error }, 'Icecast collector cycle failed'),
      );
    },
    runOnce,
    async stop() {
      await loop?.stop();
      await running?.catch(() => undefined);
      await options.sink.flush({ timeoutMs: 5000 });
    },
    connections() {
      return Object.values(state.connections).map((c) => ({ ...c }));
    },
  };
}
