import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite, type Transaction as PgliteTransaction } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import {
  type CreateDbOptions,
  type Db,
  type DbTx,
  type EarshotDrizzle,
  type Row,
  toQuery,
} from './client.js';
import * as schema from './schema.js';

const identity = (value: string) => value;
// Make PGlite's raw results look like postgres.js's under drizzle (text timestamps, string int8).
const PGLITE_RAW_PARSERS = { 20: identity, 1082: identity, 1083: identity, 1114: identity, 1184: identity };

/** The lock file a process holds in an embedded database's directory while it has it open. */
export const PGLITE_LOCK_FILE = 'earshot.lock';

/** What the lock file holds: who has the directory open. */
interface LockHolder {
  pid: number;
  host: string;
  /** When the holding process started, ms since the epoch: tells it from an earlier one with its pid. */
  processStartMs: number;
  lockedAt: string;
}

// When this process started (the same in every thread). A lock with our pid and another start was
// left by an earlier process that had our pid (a container's pid 1 after a restart).
const processStartMs = () => Math.round(Date.now() - process.uptime() * 1000);
// Lock files this process holds, shared by every copy of this module (ESM and CJS builds).
const registry = globalThis as Record<symbol, Set<string> | undefined>;
const HELD = Symbol.for('earshot.pglite.locks');
registry[HELD] ??= new Set();
const held: Set<string> = registry[HELD];

function isAlive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return Math.abs(holder.processStartMs - processStartMs()) < 100;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (
      Number.isInteger(v.pid) &&
      v.pid! > 0 &&
      typeof v.host === 'string' &&
      typeof v.processStartMs === 'number'
    )
      return v as LockHolder;
  } catch {
    // not ours, or still being written
  }
  return undefined;
}

/**
 * Takes `<dataDir>/earshot.lock` (created exclusively, holding the pid) for this process and
 * returns its release (idempotent; also run at process exit). PGlite takes no lock of its own
 * (electric-sql/pglite#1106) and two processes on one directory corrupt it, so a second open
 * (another process, or this one before the first is closed) throws, naming the holder. A lock
 * whose process is gone (killed, crashed) is taken over; a live one never, however old: a holder
 * can be busy in WebAssembly for long.
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  const file = join(dir, PGLITE_LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    processStartMs: processStartMs(),
    lockedAt: new Date().toISOString(),
  };
  const mine = `${JSON.stringify(me)}\n`;
  mkdirSync(dir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    if (attempt === 5) throw new Error(`could not take the lock ${file}: it keeps changing hands`);
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const text = readIfExists(file);
      if (text === undefined) continue; // released meanwhile
      const holder = parseHolder(text);
      // Unreadable content is a holder still writing it (or a file to look at), and another
      // host's process cannot be checked: neither is taken over.
      if (held.has(file) || holder === undefined || holder.host !== me.host || isAlive(holder)) {
        throw new Error(inUseMessage(dir, file, holder));
      }
      // Stale. Move it aside first (of two processes taking it over, one moves it), and put back
      // what was moved if it was not the stale lock but a new holder's.
      const aside = `${file}.stale-${randomUUID()}`;
      try {
        renameSync(file, aside);
      } catch (renameError) {
        if ((renameError as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw renameError;
      }
      if (readFileSync(aside, 'utf8') === text) unlinkSync(aside);
      else renameSync(aside, file);
      continue;
    }
    try {
      writeSync(fd, mine);
    } finally {
      closeSync(fd);
    }
    break;
  }
  held.add(file);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(file);
    process.off('exit', release);
    try {
      // Only our own: after a takeover the file may be another process's.
      if (readIfExists(file) === mine) unlinkSync(file);
    } catch {
      // nothing more to do
    }
  };
  process.on('exit', release);
  return release;
}

function inUseMessage(dir: string, file: string, holder: LockHolder | undefined): string {
  const prefix = `the embedded database ${dir} is in use`;
  if (holder === undefined) {
    return `${prefix} (lock file ${file}; delete it only if no Earshot process runs on this directory)`;
  }
  if (holder.pid === process.pid && holder.host === hostname()) {
    return `${prefix} by this process (${holder.pid}): close the other handle on it first`;
  }
  const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
  return (
    `${prefix} by process ${holder.pid}${where} (pnpm start?), open since ${holder.lockedAt}. ` +
    `Stop it, or point DATABASE_URL at PostgreSQL. (If that process is not Earshot, delete ${file}.)`
  );
}

/** The embedded driver (loaded on demand by createDb). On disk, holds the directory's lock file. */
export async function createPgliteDb(dataDir: string | undefined, options: CreateDbOptions): Promise<Db> {
  const unlock = dataDir === undefined ? () => {} : lockDataDir(dataDir);
  let pg: PGlite;
  try {
    pg = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
    await pg.exec(`SET TIME ZONE 'UTC'`);
  } catch (error) {
    unlock();
    throw error;
  }
  const db = drizzlePglite(pg, { schema }) as unknown as EarshotDrizzle;
  let closed: Promise<void> | undefined;
  return {
    driver: 'pglite',
    client: { kind: 'pglite', pg },
    location: dataDir === undefined ? 'memory:' : `file:${dataDir}`,
    drizzle: db,
    knownEventDays: new Set(),
    logger: options.logger,
    async query<T = Row>(query: string | SQL, params?: readonly unknown[]) {
      const q = toQuery(query, params);
      return (await pg.query<T>(q.text, q.params, { parsers: PGLITE_RAW_PARSERS })).rows;
    },
    transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T> {
      return pg.transaction((t) => fn(pgliteTx(t)));
    },
    async ping() {
      if (pg.closed) throw new Error('the embedded database is closed');
      await pg.query('select 1');
    },
    close() {
      closed ??= (pg.closed ? Promise.resolve() : pg.close()).finally(unlock);
      return closed;
    },
  };
}

function pgliteTx(t: PgliteTransaction): DbTx {
  let d: EarshotDrizzle | undefined;
  return {
    async query<T = Row>(query: string | SQL, params?: readonly unknown[]) {
      const q = toQuery(query, params);
      return (await t.query<T>(q.text, q.params, { parsers: PGLITE_RAW_PARSERS })).rows;
    },
    get drizzle() {
      d ??= drizzlePglite(t as unknown as PGlite, { schema }) as unknown as EarshotDrizzle;
      return d;
    },
  };
}
