export {
  type CreateDbOptions,
  createDb,
  type Db,
  type DbClient,
  type DbLogger,
  type DbTx,
  DEFAULT_DATA_DIR,
  type EarshotDrizzle,
  type Queryable,
  type Row,
  redactUrl,
  resolveDataDir,
  type Schema,
  sql,
} from './client.js';
export {
  type ComponentSettings,
  type IngestSettings,
  readComponentSettings,
  writeComponentSettings,
} from './component-settings.js';
export {
  type InsertEventsOptions,
  type InsertEventsResult,
  type InsertMethod,
  insertEvents,
  unstorableField,
} from './events.js';
export {
  checkReceiptsOf,
  computeSessionRows,
  type FinalizeOptions,
  type FinalizeOutcome,
  type FinalizeSettings,
  finalizeDueBatch,
  finalizeSession,
  finalizeSessions,
  isRetryableDbError,
  isSessionDataError,
  pendingSessions,
  SessionDataError,
} from './finalize/index.js';
export { MIGRATIONS_FOLDER, migrate } from './migrate.js';
export {
  type DropEventPartitionsOptions,
  dropEventPartitionsBefore,
  PartitionDdlError,
  type PartitionDdlOptions,
  type SkippedPartition,
  ensureEventPartitions,
  eventPartitionName,
  listEventPartitions,
  utcDayOf,
} from './partitions.js';
export {
  type DbReportOptions,
  type LiveStream,
  listStreams,
  liveListeners,
  REPORT_PARTS,
  type ReportPart,
  rebuildQuarterHourRollup,
  reportFromDb,
  reportPeriod,
  SESSION_LENGTH_BINS,
  type SessionGroup,
  type SessionSelection,
  sessionLengthHistogram,
  sessionsBy,
  shortSessionCounts,
} from './reports/index.js';
export * from './schema.js';
export * from './sweep.js';
