import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDb, type Db } from '../client.js';

/**
 * The test PostgreSQL server's admin URL (any database there the user may connect to): every test
 * creates and drops its own database on it. Read once here, from `TEST_DATABASE_URL` (or the
 * worker's older `EARSHOT_TEST_PG`), so that every package's tests agree on one default. This is
 * test support, the one place in the package that reads the environment.
 */
export const TEST_ADMIN_URL =
  process.env.TEST_DATABASE_URL ?? process.env.EARSHOT_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A throwaway PostgreSQL database for one test file. */
export interface TestDatabase {
  /** `postgres://` URL of the new database. */
  url: string;
  name: string;
  /** Drops the database (terminating its connections). Idempotent. */
  drop(): Promise<void>;
}

async function admin(adminUrl: string, statement: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Creates an empty database `<prefix>_<random>` on the server of `adminUrl`, not migrated (for
 * tests that open it their own way, e.g. a child process). Call `drop()` after.
 */
export async function createTestDatabase(adminUrl = TEST_ADMIN_URL, prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop() {
      dropped ??= admin(adminUrl, `drop database if exists ${name} with (force)`);
      return dropped;
    },
  };
}

export type Driver = 'postgres' | 'pglite';

/** A migrated database for tests, open. */
export interface TestDb {
  db: Db;
  /** Its URL (`memory:` on PGlite), for a child process or a second client. */
  url: string;
  /** Closes the client (if still open) and drops the database. Idempotent. */
  dispose(): Promise<void>;
}

export interface OpenTestDbOptions {
  /** PostgreSQL only. Default {@link TEST_ADMIN_URL}. */
  adminUrl?: string;
  /** PostgreSQL only: the database name's prefix. Default `test`. */
  prefix?: string;
  /** PostgreSQL only: the client's pool. Default 10 (enough for tests that race finalizers and ingest). */
  maxConnections?: number;
}

/**
 * Opens a fresh database with the schema migrated: a new database on the test PostgreSQL server,
 * or in-memory PGlite. `dispose()` closes and drops it.
 */
export async function openTestDb(
  driver: Driver = 'postgres',
  options: OpenTestDbOptions = {},
): Promise<TestDb> {
  if (driver === 'pglite') {
    const db = await createDb({ url: 'memory:' });
    let closed: Promise<void> | undefined;
    return { db, url: 'memory:', dispose: () => (closed ??= db.close().catch(() => {})) };
  }
  const database = await createTestDatabase(options.adminUrl, options.prefix);
  const db = await createDb({ url: database.url, maxConnections: options.maxConnections ?? 10 }).catch(
    async (error: unknown) => {
      await database.drop();
      throw error;
    },
  );
  let disposed: Promise<void> | undefined;
  return {
    db,
    url: database.url,
    dispose() {
      disposed ??= (async () => {
        // A test may have closed it already (a shutdown test): dropping the database is what matters.
        await db.close().catch(() => {});
        await database.drop();
      })();
      return disposed;
    },
  };
}
