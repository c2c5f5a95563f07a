import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** A throwaway PostgreSQL database for one test file. */
export interface TestDatabase {
  /** `postgres://` URL of the new database. */
  url: string;
  name: string;
  /** Drops the database (terminating its connections). Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database `test_<random>` on the server of `adminUrl` (any database there the
 * user may connect to, e.g. `postgres://postgres@127.0.0.1:5432/test`). Call `drop()` after.
 */
export async function createTestDatabase(adminUrl: string, prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop() {
      dropped ??= (async () => {
        const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
        try {
          await a.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await a.end({ timeout: 5 });
        }
      })();
      return dropped;
    },
  };
}
