import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from './client.js';
import { lockDataDir, PGLITE_LOCK_FILE } from './pglite.js';

const processStartMs = () => Math.round(Date.now() - process.uptime() * 1000);

/** A lock file as another process would have written it. */
function writeLock(dir: string, holder: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  const lock = {
    host: hostname(),
    processStartMs: 1_700_000_000_000,
    lockedAt: '2026-11-02T09:00:00.000Z',
    ...holder,
  };
  writeFileSync(join(dir, PGLITE_LOCK_FILE), `${JSON.stringify(lock)}\n`);
}

const lockPid = (dir: string) => JSON.parse(readFileSync(join(dir, PGLITE_LOCK_FILE), 'utf8')).pid as number;

/** A pid that was a process a moment ago and is none now. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

describe('the lock on an embedded database directory', () => {
  let root: string;
  let n = 0;
  const open: Db[] = [];
  const freshDir = () => join(root, `db-${n++}`);
  const openDir = async (dir: string) => {
    const db = await createDb({ url: `file:${dir}`, migrate: false });
    open.push(db);
    return db;
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'earshot-lock-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((db) => db.close()));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a second open of a directory until the first is closed, then allows it', async () => {
    const dir = freshDir();
    const first = await openDir(dir);
    expect(lockPid(dir)).toBe(process.pid);
    await expect(openDir(dir)).rejects.toThrow(
      `the embedded database ${dir} is in use by this process (${process.pid}): close the other handle on it first`,
    );
    // The refused open left the holder's lock and database alone.
    expect(lockPid(dir)).toBe(process.pid);
    await first.ping();

    await first.close();
    expect(existsSync(join(dir, PGLITE_LOCK_FILE))).toBe(false);
    const second = await openDir(dir);
    await second.ping();
    expect(lockPid(dir)).toBe(process.pid);
  });

  it('names a live process holding the directory, and says what to do', async () => {
    const dir = freshDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      writeLock(dir, { pid: holder.pid });
      const error = await openDir(dir).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toBe(
        `the embedded database ${dir} is in use by process ${holder.pid} (pnpm start?), open since ` +
          '2026-11-02T09:00:00.000Z. Stop it, or point DATABASE_URL at PostgreSQL. ' +
          `(If that process is not Earshot, delete ${join(dir, PGLITE_LOCK_FILE)}.)`,
      );
      expect(lockPid(dir)).toBe(holder.pid);
    } finally {
      holder.kill();
    }
  });

  it('takes over a stale lock whose process is gone', async () => {
    const dir = freshDir();
    writeLock(dir, { pid: await deadPid() });
    const db = await openDir(dir);
    await db.ping();
    expect(lockPid(dir)).toBe(process.pid);
    await db.close();
    expect(existsSync(join(dir, PGLITE_LOCK_FILE))).toBe(false);
  });

  it('takes over a lock left by an earlier process that had this pid (a restarted container)', () => {
    const dir = freshDir();
    writeLock(dir, { pid: process.pid, processStartMs: processStartMs() - 60_000 });
    const release = lockDataDir(dir);
    // This process's start, as the lock records it (computed from uptime: within a few ms).
    const recorded = JSON.parse(readFileSync(join(dir, PGLITE_LOCK_FILE), 'utf8')).processStartMs;
    expect(Math.abs(recorded - processStartMs())).toBeLessThan(50);
    release();
  });

  it('never takes over a lock it cannot read, or one of another host', () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, PGLITE_LOCK_FILE), '');
    expect(() => lockDataDir(dir)).toThrow(
      `the embedded database ${dir} is in use (lock file ${join(dir, PGLITE_LOCK_FILE)}; delete it only if no Earshot process runs on this directory)`,
    );
    writeLock(dir, { pid: 1, host: 'elsewhere.example' });
    expect(() => lockDataDir(dir)).toThrow(/is in use by process 1 on elsewhere\.example \(pnpm start\?\)/);
  });

  it('releases the lock at process exit, and only its own', () => {
    const dir = freshDir();
    const before = new Set(process.listeners('exit'));
    const release = lockDataDir(dir);
    const atExit = process.listeners('exit').filter((listener) => !before.has(listener));
    expect(atExit).toHaveLength(1);
    (atExit[0] as () => void)();
    expect(existsSync(join(dir, PGLITE_LOCK_FILE))).toBe(false);
    expect(process.listeners('exit')).not.toContain(atExit[0]);

    // A lock that changed hands after ours is not ours to remove.
    const again = lockDataDir(dir);
    writeLock(dir, { pid: 1 });
    again();
    expect(lockPid(dir)).toBe(1);
    release(); // idempotent
  });

  it('takes no lock for in-memory databases', async () => {
    const a = await createDb({ url: 'memory:', migrate: false });
    const b = await createDb({ url: 'memory:', migrate: false });
    open.push(a, b);
    await Promise.all([a.ping(), b.ping()]);
  });
});
