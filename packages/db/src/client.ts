import net from 'node:net';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql as sqlTag } from 'drizzle-orm';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import { migrate } from './migrate.js';
import * as schema from './schema.js';

/** The drizzle schema object (all tables of @earshot/db). */
export type Schema = typeof schema;

/** A drizzle database over the Earshot schema, whichever driver is underneath. */
export type EarshotDrizzle = PgDatabase<PgQueryResultHKT, Schema>;

/** Minimal logger (pino's shape); @earshot/db never imports one itself. */
export interface DbLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A row of a raw query. */
export type Row = Record<string, unknown>;

/**
 * Raw SQL on a database or inside a transaction. Results are normalized across drivers:
 * `timestamptz` comes back as text in UTC (`2026-11-01 09:15:00.123+00`) and `bigint` as a string
 * (cast in SQL when you need numbers, or read through drizzle for typed values).
 */
export interface Queryable {
  /** Runs one statement: a text with `$1..$n` parameters, or a drizzle `sql` template. */
  query<T = Row>(query: string | SQL, params?: readonly unknown[]): Promise<T[]>;
  /** The drizzle instance bound to this database or transaction. */
  readonly drizzle: EarshotDrizzle;
}

/** One transaction: raw SQL and drizzle on the same connection. Do not nest transactions in it. */
export interface DbTx extends Queryable {}

/** The driver-level handle, for code that needs the driver's own API (COPY, blobs). */
export type DbClient =
  | {
      kind: 'postgres';
      sql: Sql;
      /** Opens a separate one-connection client with the same settings (session locks, LISTEN); end it after use. */
      single(): Sql;
    }
  | { kind: 'pglite'; pg: PGlite };

/** What the apps use, regardless of driver. */
export interface Db extends Queryable {
  /** `postgres` (postgres.js on a server) or `pglite` (embedded). */
  readonly driver: DbClient['kind'];
  readonly client: DbClient;
  /** Where the data lives, without credentials (for logs). */
  readonly location: string;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T>;
  /** Throws unless the database answers a trivial query. */
  ping(): Promise<void>;
  /** Closes the connections (idempotent). */
  close(): Promise<void>;
  /** Per-process cache of the listen_events day partitions known to exist (UTC day numbers). */
  readonly knownEventDays: Set<number>;
  readonly logger: DbLogger | undefined;
}

export interface CreateDbOptions {
  /**
   * `postgres://...` (postgres.js), `file:PATH` (PGlite on disk), `memory:` (in-memory PGlite, tests).
   * Unset: PGlite on disk in `dataDir`.
   */
  url?: string | undefined;
  /**
   * Where embedded PGlite keeps its files when `url` is unset. Default `./.earshot` of the working
   * directory; apps pass `resolveDataDir(EARSHOT_DATA_DIR, env)`. The directory is locked while open.
   */
  dataDir?: string | undefined;
  logger?: DbLogger | undefined;
  /** Apply pending migrations before returning. Default true. */
  migrate?: boolean | undefined;
  /** postgres.js pool size. Default 10. */
  maxConnections?: number | undefined;
  /** postgres.js connect timeout, seconds. Default 10. */
  connectTimeoutS?: number | undefined;
  /**
   * `work_mem` of the pool's connections, MB (PostgreSQL only; unset: the server's, 4 MB by default).
   * The reports service sets it: at 4 MB its sorts of a month's rollup rows spilled to disk.
   */
  workMemMb?: number | undefined;
  /**
   * `false`: PostgreSQL's JIT off for the pool's connections (unset: the server's, on by default).
   * The reports service sets it: its statements paid 20-140 ms each to compile expressions
   * (auto_explain on the 3M-session bench), more than JIT saved them. The finalization's batch
   * statements gain from it (sweep 3,522 against 2,767 sessions/s with it off), so it stays on there.
   */
  jit?: boolean | undefined;
}

/** `EARSHOT_DATA_DIR`'s default (DESIGN section 8), relative to where pnpm was run. */
export const DEFAULT_DATA_DIR = './.earshot';

/**
 * The absolute directory of the embedded database for an `EARSHOT_DATA_DIR` value (unset or empty:
 * `./.earshot`). A relative one is taken from `env.INIT_CWD`, the directory pnpm (or npm) was run
 * in, else from `cwd`: `pnpm start` runs the all-in-one in apps/all-in-one through `pnpm --filter`,
 * and `pnpm earshot report` runs at the repo root, yet both must open the same `<repo>/.earshot`.
 */
export function resolveDataDir(
  value: string | undefined,
  env: { readonly INIT_CWD?: string | undefined },
  cwd: string = process.cwd(),
): string {
  return path.resolve(env.INIT_CWD || cwd, value || DEFAULT_DATA_DIR);
}

const dialect = new PgDialect();

export function toQuery(
  query: string | SQL,
  params: readonly unknown[] | undefined,
): { text: string; params: unknown[] } {
  if (typeof query === 'string') return { text: query, params: params ? [...params] : [] };
  const q = dialect.sqlToQuery(query);
  return { text: q.sql, params: q.params };
}

/** Hides the password of a postgres URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

/**
 * Stock postgres.js leaves Nagle's algorithm on, which stalls the end of every COPY by about 40 ms
 * (STACK.md). Connect the socket ourselves with TCP_NODELAY. Returning the connecting socket right
 * away keeps postgres.js's connect timeout in charge (writes queue until it connects).
 */
function noDelaySocket(options: { host: string[]; port: number[]; path?: string | false }): net.Socket {
  if (options.path) return net.connect({ path: options.path });
  return net.connect({ host: options.host[0] ?? '127.0.0.1', port: options.port[0] ?? 5432, noDelay: true });
}

function createPostgresDb(url: string, options: CreateDbOptions): Db {
  const config: postgres.Options<Record<string, postgres.PostgresType>> = {
    max: options.maxConnections ?? 10,
    connect_timeout: options.connectTimeoutS ?? 10,
    onnotice: (notice) => options.logger?.debug({ notice: notice.message }, 'postgres notice'),
    connection: {
      TimeZone: 'UTC',
      application_name: 'earshot',
      ...(options.jit === false ? { jit: 'off' } : {}),
      ...(options.workMemMb !== undefined ? { work_mem: `${options.workMemMb}MB` } : {}),
    },
  };
  // `socket` is a real postgres.js option that its typings omit.
  Object.assign(config, { socket: noDelaySocket });
  const sql = postgres(url, config);
  const single = () => postgres(url, { ...config, max: 1 });
  const db = drizzlePostgres(sql, { schema }) as unknown as EarshotDrizzle;
  let closed: Promise<void> | undefined;
  return {
    driver: 'postgres',
    client: { kind: 'postgres', sql, single },
    location: redactUrl(url),
    drizzle: db,
    knownEventDays: new Set(),
    logger: options.logger,
    async query<T = Row>(query: string | SQL, params?: readonly unknown[]) {
      const q = toQuery(query, params);
      return (await sql.unsafe(q.text, q.params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
    },
    transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T> {
      return sql.begin((t) => fn(postgresTx(t, sql))) as Promise<T>;
    },
    async ping() {
      await sql`select 1`;
    },
    close() {
      closed ??= sql.end({ timeout: 5 });
      return closed;
    },
  };
}

function postgresTx(t: postgres.TransactionSql, root: Sql): DbTx {
  let d: EarshotDrizzle | undefined;
  return {
    async query<T = Row>(query: string | SQL, params?: readonly unknown[]) {
      const q = toQuery(query, params);
      return (await t.unsafe(q.text, q.params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
    },
    get drizzle() {
      // drizzle reads (and patches) `client.options`, which only the root client carries.
      d ??= drizzlePostgres(Object.assign(t, { options: root.options }) as unknown as Sql, {
        schema,
      }) as unknown as EarshotDrizzle;
      return d;
    },
  };
}

// PGlite (WebAssembly PostgreSQL) is loaded only when used: a server deployment never pays for it.
async function openPglite(dataDir: string | undefined, options: CreateDbOptions): Promise<Db> {
  const { createPgliteDb } = await import('./pglite.js');
  return createPgliteDb(dataDir, options);
}

/**
 * Opens the Earshot database: PostgreSQL through postgres.js for a `postgres://` URL, otherwise
 * embedded PGlite (`file:PATH`, `memory:`, or `dataDir` when no URL is given). Applies pending
 * migrations unless `migrate: false`. Embedded PGlite on disk holds `<dir>/earshot.lock` until
 * `close()` (or the process exits): a second open of the directory, from any process, throws.
 */
export async function createDb(options: CreateDbOptions = {}): Promise<Db> {
  const url = options.url;
  let db: Db;
  if (url !== undefined && /^postgres(ql)?:\/\//.test(url)) db = createPostgresDb(url, options);
  else if (url === 'memory:' || url === 'memory://') db = await openPglite(undefined, options);
  else if (url?.startsWith('file:')) db = await openPglite(url.slice('file:'.length), options);
  else if (url === undefined || url === '')
    db = await openPglite(options.dataDir ?? DEFAULT_DATA_DIR, options);
  else
    throw new Error(`unsupported database url (want postgres://, file:PATH or memory:): ${redactUrl(url)}`);
  if (options.migrate !== false) {
    try {
      await migrate(db);
    } catch (error) {
      await db.close().catch(() => {});
      throw error;
    }
  }
  return db;
}

/** A drizzle `sql` template, re-exported so apps need not depend on drizzle-orm for raw queries. */
export const sql = sqlTag;
