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

/** The embedded driver (loaded on demand by createDb). */
export async function createPgliteDb(dataDir: string | undefined, options: CreateDbOptions): Promise<Db> {
  const pg = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
  await pg.exec(`SET TIME ZONE 'UTC'`);
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
      closed ??= pg.closed ? Promise.resolve() : pg.close();
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
