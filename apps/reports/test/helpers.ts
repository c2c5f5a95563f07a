import { randomBytes } from 'node:crypto';
import type { ListenEvent } from '@earshot/core';
import { createDb, type Db, finalizeSessions, insertEvents } from '@earshot/db';
import postgres from 'postgres';

/** Admin URL of the test PostgreSQL server: each test file creates and drops its own `test_<random>` there. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type Driver = 'postgres' | 'pglite';

/** Creates an empty database on the admin URL's server; `drop()` removes it. */
export async function createScratchDatabase(
  prefix = 'test',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

/** A fresh migrated database on either driver; `dispose` closes (and drops) it. */
export async function openTestDb(driver: Driver): Promise<{ db: Db; url: string; dispose(): Promise<void> }> {
  if (driver === 'pglite') {
    const db = await createDb({ url: 'memory:' });
    return { db, url: 'memory:', dispose: () => db.close() };
  }
  const scratch = await createScratchDatabase();
  const db = await createDb({ url: scratch.url, maxConnections: 4 });
  return {
    db,
    url: scratch.url,
    async dispose() {
      await db.close();
      await scratch.drop();
    },
  };
}

/** Default session settings (DESIGN section 8). */
export const SETTINGS = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };

/**
 * Loads events the way production does (ingest's insertEvents in batches), then finalizes every
 * session id with the worker's finalizeSessions (forced: no waiting `idle`).
 */
export async function loadAndFinalize(
  db: Db,
  events: readonly ListenEvent[],
  settings = SETTINGS,
): Promise<void> {
  const ids = new Set<string>();
  for (let i = 0; i < events.length; i += 2000) {
    const result = await insertEvents(db, events.slice(i, i + 2000), { idleS: settings.idleS });
    for (const id of result.sessions) ids.add(id);
  }
  const all = [...ids].sort();
  for (let i = 0; i < all.length; i += 500) {
    await finalizeSessions(db, all.slice(i, i + 500), settings, { force: true });
  }
}
