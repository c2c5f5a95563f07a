import type { ListenEvent } from '@earshot/core';
import type { EventSink, LoggerLike } from '@earshot/logger';
import { type Connection, closeEvents, tickEvents } from '../icecast/connection.js';
import { readStateFile, writeStateFile } from '../shared/state-file.js';
import { startTickLoop, type TickLoop } from '../shared/tick-loop.js';
import { parseDnasBitrate, parseDnasListeners } from './dnas.js';

export interface ShoutcastCollectorOptions {
  /** The DNAS's base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Admin password (`adminpassword` of sc_serv.conf); sent as HTTP Basic with user `admin`. */
  adminPassword: string;
  /** Stream id on the DNAS (`sid`). Default 1. */
  sid?: number;
  /** Stream key of the events. */
  stream: string;
  /** Name of this DNAS in session ids. Default host:port of `url`. */
  server?: string;
  /** The stream's bitrate for bytes (default: the DNAS's `BITRATE`). */
  bitrateKbps?: number;
  tickS?: number;
  stateFile?: string;
  sink: EventSink;
  logger?: LoggerLike;
  timeoutMs?: number;
  /** The clock, epoch ms (tests replay recordings against a clock of their own). Default `Date.now`. */
  now?: () => number;
}

interface ShoutcastState {
  version: 1;
  tickS: number;
  connections: Record<string, Connection>;
}

export interface ShoutcastCycle {
  polled: boolean;
  listeners: number;
  ticks: number;
  closed: number;
  saved: boolean;
}

/**
 * Counts a Shoutcast DNAS 2 stream's listeners from its admin XML (no access log is read: a
 * connection is closed at the last poll that listed it, so its last tick's worth is an estimate).
 * Session id `shoutcast:SERVER:SID:UID:START` (START = the connection's second, exact from
 * CONNECTTIME and a poll that fell within one second, so it comes out the same after a restart and
 * tells UIDs of two DNAS runs apart). Not run against a live DNAS: it is proprietary.
 */
export function createShoutcastCollector(options: ShoutcastCollectorOptions) {
  const tickS = options.tickS ?? 30;
  const tickMs = tickS * 1000;
  const sid = options.sid ?? 1;
  const server = options.server ?? new URL(options.url).host;
  let state: ShoutcastState = { version: 1, tickS, connections: {} };
  let loaded = false;
  const now = options.now ?? Date.now;
  const auth = `Basic ${Buffer.from(`admin:${options.adminPassword}`).toString('base64')}`;

  async function get(page: number): Promise<{ body: string; sentMs: number; receivedMs: number }> {
    const url = new URL(
      `admin.cgi?sid=${sid}&mode=viewxml&page=${page}`,
      options.url.endsWith('/') ? options.url : `${options.url}/`,
    );
    const sentMs = now();
    const res = await fetch(url, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`DNAS admin.cgi page ${page} answered ${res.status}`);
    return { body, sentMs, receivedMs: now() };
  }

  async function runOnce(): Promise<ShoutcastCycle> {
    if (!loaded) {
      loaded = true;
      const saved = options.stateFile ? await readStateFile<ShoutcastState>(options.stateFile) : undefined;
      if (saved) {
        if (saved.tickS !== tickS)
          throw new Error(`${options.stateFile} was written with a ${saved.tickS} s tick`);
        state = saved;
      }
    }
    const report: ShoutcastCycle = { polled: false, listeners: 0, ticks: 0, closed: 0, saved: false };
    const events: ListenEvent[] = [];
    try {
      const bitrateKbps = options.bitrateKbps ?? parseDnasBitrate((await get(1)).body) ?? 0;
      const answer = await get(3);
      const parsed = parseDnasListeners(answer.body);
      if (!parsed.ok) throw new Error(`DNAS listener XML: ${parsed.reason}`);
      const lowS = Math.floor(answer.sentMs / 1000);
      const exact = lowS === Math.floor(answer.receivedMs / 1000);
      const listed = new Set<string>();
      for (const l of parsed.value) {
        report.listeners++;
        const startS = lowS - l.connectedS;
        // A known connection is found by UID and a start within a second; a new one needs an exact start.
        let key = [`${l.uid}:${startS}`, `${l.uid}:${startS - 1}`, `${l.uid}:${startS + 1}`].find(
          (k) => state.connections[k],
        );
        if (!key) {
          if (!exact) continue;
          key = `${l.uid}:${startS}`;
          const session = `shoutcast:${server}:${sid}:${l.uid}:${startS}`.slice(0, 128);
          const c: Connection = {
            session,
            idBase: `shoutcast\u001f${server}\u001f${sid}\u001f${l.uid}\u001f${startS}`,
            clientId: l.uid,
            mount: String(sid),
            stream: options.stream,
            startMs: startS * 1000,
            ip: l.ip,
            bytesPerS: bitrateKbps * 125,
            tickedMs: startS * 1000,
            lastSeenMs: lowS * 1000,
          };
          if (l.ua) c.ua = l.ua;
          state.connections[key] = c;
        }
        const c = state.connections[key] as Connection;
        listed.add(key);
        c.lastSeenMs = Math.max(c.lastSeenMs, lowS * 1000);
        const made = tickEvents(c, lowS * 1000, tickMs);
        report.ticks += made.length;
        events.push(...made);
      }
      for (const [key, c] of Object.entries(state.connections)) {
        if (listed.has(key)) continue;
        events.push(...closeEvents(c, c.lastSeenMs, tickMs));
        delete state.connections[key];
        report.closed++;
      }
      report.polled = true;
    } catch (error) {
      options.logger?.warn({ err: error }, 'Shoutcast DNAS poll failed; this cycle makes no events');
    }
    for (const e of events) options.sink.push(e);
    await options.sink.flush({ timeoutMs: tickMs });
    if (options.stateFile && options.sink.stats().buffered === 0) {
      await writeStateFile(options.stateFile, state);
      report.saved = true;
    }
    return report;
  }

  let running: Promise<ShoutcastCycle> | undefined;
  const once = (): Promise<ShoutcastCycle> => {
    const next = (running ?? Promise.resolve(undefined)).catch(() => undefined).then(runOnce);
    running = next;
    return next;
  };
  let loop: TickLoop | undefined;
  return {
    /** One cycle now: poll, make and send the events, save the state. */
    runOnce: once,
    /** Runs a cycle just after every tick boundary until `stop()`. */
    start(): void {
      loop ??= startTickLoop(tickMs, once, (error) =>
        options.logger?.error({ err: error }, 'Shoutcast collector cycle failed'),
      );
    },
    /** Stops after the cycle in flight and flushes the sink (it does not close it). */
    async stop(): Promise<void> {
      await loop?.stop();
      await options.sink.flush({ timeoutMs: 5000 });
    },
    connections: () => Object.values(state.connections).map((c) => ({ ...c })),
  };
}
