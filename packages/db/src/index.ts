export {
  createDb,
  DEFAULT_DATA_DIR,
  redactUrl,
  resolveDataDir,
  sql,
  type CreateDbOptions,
  type Db,
  type DbClient,
  type DbLogger,
  type DbTx,
  type EarshotDrizzle,
  type Queryable,
  type Row,
  type Schema,
} from './client.js';
export {
  insertEvents,
  unstorableField,
  type InsertEventsOptions,
  type InsertEventsResult,
  type InsertMethod,
} from './events.js';
export { MIGRATIONS_FOLDER, migrate } from './migrate.js';
export {
  dropEventPartitionsBefore,
  ensureEventPartitions,
  eventPartitionName,
  listEventPartitions,
  utcDayOf,
} from './partitions.js';
export * from './queue.js';
export * from './schema.js';
export * from './settings.js';
export * from './finalize.js';
export * from './sweep.js';
export * from './reports.js';
