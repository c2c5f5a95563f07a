/**
 * @earshot/core: the pure math of listener analytics for internet radio. Listen events in; sessions,
 * minutes, quarter-hours, AQH, cume, TLH, AAS, ATSL and TSL out, by daypart and in any IANA time zone.
 * No I/O, no dependencies, no Node APIs: it runs in Node, a browser or an edge worker unchanged.
 */
export {
  type Audience,
  type AudienceOf,
  type Basis,
  BREAKDOWN_DIMENSIONS,
  type BreakdownDimension,
  type ClientFacts,
  DEFAULT_LEFT_RUNNING_S,
  EXCLUSION_REASONS,
  type ExclusionReason,
  type Origin,
  originOnlyAudience,
  SESSION_CLASSES,
  type SessionClass,
  UNKNOWN_GROUP,
} from './audience.js';
export {
  type BucketTarget,
  bucketStart,
  isoTime,
  MINUTE_MS,
  placeEvent,
  placeSeconds,
  QUARTER_HOUR_MS,
} from './clock.js';
export { csvField, REPORT_COLUMNS, REPORT_PARTS, type ReportPart, reportCsv } from './csv.js';
export { type Daypart, DEFAULT_DAYPARTS, inDaypart, parseDaypart, resolveDaypart } from './daypart.js';
export {
  type BatchIssue,
  durationMsOf,
  type EventIssue,
  eventKey,
  isCalendarTime,
  type ListenEvent,
  MAX_DURATION_S,
  MAX_ID_LENGTH,
  MAX_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  OUTPUTS,
  type Output,
  type ParseEventResult,
  parseBatch,
  parseEvent,
  parseTime,
} from './event.js';
export { type AsciiDecoder, decodeAscii, parseEventLine } from './event-line.js';
export { EventStore, type PackedSession, packedEvents, packUuid, unpackUuid } from './event-store.js';
export { ipv6Groups, isIpv4, isIpv6, normalizeIp } from './ip.js';
export { type ReportSummary, type SummaryTotals, summarizeTotals } from './metrics.js';
export { periodMinuteRanges, periodQuarterHours, quarterHourExtent, resolvePeriod } from './period.js';
export {
  assembleReport,
  type BreakdownRow,
  breakdownRows,
  buildReport,
  DEFAULT_REPORT_SETTINGS,
  groupValue,
  type Report,
  ReportBuilder,
  type ReportConfig,
  type ReportMinute,
  type ReportOptions,
  type ReportQuarterHour,
  type ReportSession,
  type ReportSettings,
  reportConfig,
  resolveSettings,
  toReportSession,
} from './report.js';
export { BucketSeries, SessionCutter } from './session-cutter.js';
export {
  type CountSettings,
  compareEvents,
  countShortSessions,
  DEFAULT_SESSION_SETTINGS,
  type FinalizedRuns,
  finalizeRuns,
  finalizeSessionId,
  isCounted,
  type PlacedBuckets,
  type PlacedSession,
  planRowChanges,
  planSessionChanges,
  type RowChanges,
  resumePoint,
  type Session,
  type SessionChanges,
  type SessionFacts,
  type SessionRun,
  type SessionSettings,
  sameSession,
  sessionRowKey,
  sortUnique,
  splitSessions,
  splitSorted,
} from './sessions.js';
export {
  MAX_TRACK_TEXT_LENGTH,
  type ParseTrackResult,
  parseStreamTitle,
  parseTrack,
  TRACK_KINDS,
  type TrackEvent,
  type TrackKind,
} from './track.js';
export {
  SOUNDEXCHANGE_CATEGORIES,
  SOUNDEXCHANGE_COLUMNS,
  type SoundExchangeColumn,
  type SoundExchangeRow,
  soundExchangeRows,
  soundExchangeTsv,
  TRACK_COLUMNS,
  TRACK_PARTS,
  type TrackPart,
  trackCsv,
} from './track-export.js';
export {
  assembleTrackReport,
  buildTrackReport,
  listeningInWindow,
  mostSpecificDaypart,
  type PlayWindow,
  songKey,
  spreadMs,
  type TrackAth,
  type TrackPlay,
  type TrackReport,
  type TrackReportConfig,
  type TrackReportOptions,
  type TrackShow,
  type TrackSong,
  trackPlays,
  trackReportPeriod,
  trackShows,
  trackSongs,
} from './tracks.js';
export { isValidTimeZone, type LocalTime, localTime, parseReportTime, zonedTimeToUtc } from './zone.js';
