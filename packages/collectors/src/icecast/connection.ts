import type { ListenEvent } from '@earshot/core';
import { buildEvent } from '@earshot/logger';
import { deterministicId, shortHash } from '../shared/deterministic-id.js';

/**
 * One listener connection the collector follows (persisted in its state file). All instants are
 * epoch ms on whole seconds: Icecast counts connection time in whole seconds.
 */
export interface Connection {
  /** Session id of the connection (see {@link sessionIdOf}). */
  session: string;
  /** The event ids' namespace: server, server start and client id, or the log line's digest. */
  idBase: string;
  /** Icecast process start (epoch s) and client id; absent for a connection known from the log only. */
  epochS?: number;
  clientId?: string;
  mount: string;
  stream: string;
  /** When Icecast accepted the connection (`con_time`), epoch ms. */
  startMs: number;
  ip?: string;
  ua?: string;
  /** Bytes per second assumed for the ticks (the close event corrects the total). */
  bytesPerS: number;
  /** Bytes the tick events made so far carry (the close carries the logged total minus these). */
  tickedBytes?: number;
  /** The last tick boundary an event was made for (`startMs` before the first). */
  tickedMs: number;
  /** The last instant (Icecast's clock) the admin interface listed it. */
  lastSeenMs: number;
  /** When a poll first missed it (it is closed from the access log, or after the grace). */
  missingSinceMs?: number;
}

/** Longest session id the contract accepts. */
const MAX_SESSION = 128;

/**
 * Session id of an Icecast connection: `icecast:SERVER:START:CLIENT` (server name, the Icecast
 * process's start in epoch s, Icecast's client id). Icecast numbers connections from 1 again after
 * a restart; its start time tells the runs apart. A reconnecting player is a new client id, so a new
 * session id. Over 128 characters (a long server name): the name is replaced by its digest.
 */
export function sessionIdOf(server: string, epochS: number, clientId: string): string {
  const id = `icecast:${server}:${epochS}:${clientId}`;
  return id.length <= MAX_SESSION
    ? id
    : `icecast:${shortHash(24, server)}:${epochS}:${clientId}`.slice(0, MAX_SESSION);
}

/** Bytes assumed delivered in `(fromMs, toMs]`. */
function bytesIn(c: Connection, fromMs: number, toMs: number): number {
  return Math.round((c.bytesPerS * (toMs - fromMs)) / 1000);
}

/**
 * Ingest refuses an event with more than `EARSHOT_MAX_BYTES_PER_S` (default 1 MB) per second of
 * duration plus 1 MiB, and with it the whole batch: a close whose estimate ran far behind (no
 * bitrate known during a long connection) is capped below that.
 */
export const MAX_CLOSE_BYTES_PER_S = 1_000_000;
const CLOSE_ALLOWANCE_BYTES = 1024 * 1024 - 1;

function event(c: Connection, time: number, fromMs: number, bytes: number, id: string): ListenEvent {
  return buildEvent(
    {
      session: c.session,
      stream: c.stream,
      output: 'shoutcast',
      time,
      durationS: (time - fromMs) / 1000,
      bytes,
      ua: c.ua,
      ip: c.ip,
    },
    id,
  );
}

/**
 * The tick events of `c` for every tick boundary (a multiple of `tickMs` on the clock, shared by all
 * connections) after the last one made and at or before `untilMs`. Tick `g` covers
 * `(max(start, g - tick), g]`: id and time depend only on the connection and `g`, so a restarted
 * collector makes the same events again (ingest keeps one). Advances `c.tickedMs`.
 */
export function tickEvents(c: Connection, untilMs: number, tickMs: number): ListenEvent[] {
  const out: ListenEvent[] = [];
  for (let g = (Math.floor(c.tickedMs / tickMs) + 1) * tickMs; g <= untilMs; g += tickMs) {
    const from = Math.max(c.startMs, c.tickedMs);
    const bytes = bytesIn(c, from, g);
    out.push(event(c, g, from, bytes, deterministicId(c.idBase, 'tick', g)));
    c.tickedMs = g;
    c.tickedBytes = (c.tickedBytes ?? 0) + bytes;
  }
  return out;
}

/**
 * The events that end `c` at `endMs`: the ticks not made yet up to `endMs`, then the close event
 * with the remainder `(last tick, end]`, so the durations add up to `end - start` exactly and no two
 * intervals overlap. `totalBytes` (Icecast's access log) makes the bytes exact: the close carries
 * what the ticks' estimate left over (never less than 0, and never more than ingest accepts for its
duration). Without it the close is an estimate too.
 */
export function closeEvents(
  c: Connection,
  endMs: number,
  tickMs: number,
  totalBytes?: number,
): ListenEvent[] {
  const out = tickEvents(c, endMs, tickMs);
  const from = Math.max(c.startMs, c.tickedMs);
  const end = Math.max(endMs, from);
  const remainder =
    totalBytes === undefined ? bytesIn(c, from, end) : Math.max(0, totalBytes - (c.tickedBytes ?? 0));
  const cap = Math.floor(((end - from) / 1000) * MAX_CLOSE_BYTES_PER_S) + CLOSE_ALLOWANCE_BYTES;
  out.push(event(c, end, from, Math.min(remainder, cap), deterministicId(c.idBase, 'close')));
  return out;
}
