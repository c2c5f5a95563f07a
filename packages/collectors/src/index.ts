// Collectors: each turns one kind of server's listeners into listen events (DESIGN.md section 2b).

export {
  type AccessLogCollector,
  type AccessLogCollectorOptions,
  type AccessLogCounts,
  createAccessLogCollector,
  fileIdentity,
  lineEventId,
} from './access-log/collector.js';
export {
  createHlsCatalog,
  type HlsCatalog,
  type HlsCatalogOptions,
  type HlsGroup,
  type PlaylistSource,
  type SegmentInfo,
} from './access-log/hls-catalog.js';
export {
  type ImportAccessLogOptions,
  type ImportProgress,
  importAccessLog,
} from './access-log/import-log.js';
export {
  ACCESS_LOG_FORMATS,
  type AccessLogFormat,
  type AccessRecord,
  type ParseResult,
  parseAccessLine,
} from './access-log/parse-line.js';
export {
  type AccessLogMapper,
  type AccessLogMapperOptions,
  createAccessLogMapper,
  type MapperCounts,
} from './access-log/to-events.js';
export {
  fetchListClients,
  fetchStats,
  type IcecastAdmin,
  type IcecastListener,
  type IcecastMountStats,
  type IcecastStats,
  parseListClients,
  parseStats,
} from './icecast/admin.js';
export {
  type CycleReport,
  createIcecastCollector,
  type IcecastCollector,
  type IcecastCollectorOptions,
  type IcecastMount,
} from './icecast/collector.js';
export { type Connection, closeEvents, sessionIdOf, tickEvents } from './icecast/connection.js';
export { deterministicId } from './shared/deterministic-id.js';
export { type LogLine, type LogPosition, readNewLines } from './shared/log-tail.js';
export { readStateFile, writeStateFile } from './shared/state-file.js';
export { type MountKey, parseMountKey, streamKeyOf } from './shared/stream-key.js';
export {
  createShoutcastCollector,
  type ShoutcastCollectorOptions,
  type ShoutcastCycle,
} from './shoutcast/collector.js';
export { type DnasListener, parseDnasBitrate, parseDnasListeners } from './shoutcast/dnas.js';
