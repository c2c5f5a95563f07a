import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Db } from './client.js';

/** The committed drizzle-kit migrations shipped with this package (`drizzle/`). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK_KEY = 0x6561_7273; // "ears"

/**
 * Applies pending migrations (idempotent). On PostgreSQL a session advisory lock serializes
 * concurrent callers, so ingest and worker may start together.
 */
export async function migrate(db: Db, options: { migrationsFolder?: string } = {}): Promise<void> {
  const migrationsFolder = options.migrationsFolder ?? MIGRATIONS_FOLDER;
  const started = Date.now();
  if (db.client.kind === 'pglite') {
    const [{ drizzle }, { migrate: migratePglite }] = await Promise.all([
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
    await migratePglite(drizzle(db.client.pg), { migrationsFolder });
  } else {
    // One dedicated connection: the advisory lock is per session, and the migrator runs its own transaction.
    const conn = db.client.single();
    try {
      await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      await migratePostgres(drizzlePostgres(conn), { migrationsFolder });
    } finally {
      await conn.end({ timeout: 5 });
    }
  }
  db.logger?.debug({ ms: Date.now() - started, location: db.location }, 'migrations applied');
}
