import { createDb, type Db } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

/** Admin URL of the test PostgreSQL server (each test file creates and drops its own database there). */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Driver = 'postgres' | 'pglite';

/** Opens a fresh, migrated database on either driver; `dispose` closes and drops it. */
export async function openTestDb(driver: Driver): Promise<{ db: Db; dispose(): Promise<void>; url: string }> {
  if (driver === 'pglite') {
    const db = await createDb({ url: 'memory:' });
    return { db, url: 'memory:', dispose: () => db.close() };
  }
  const tdb: TestDatabase = await createTestDatabase(ADMIN_URL);
  const db = await createDb({ url: tdb.url, maxConnections: 8 });
  return {
    db,
    url: tdb.url,
    async dispose() {
      await db.close();
      await tdb.drop();
    },
  };
}
