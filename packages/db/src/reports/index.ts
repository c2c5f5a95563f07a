/**
 * Reports from the database (DESIGN sections 4 and 7): the same `Report` that core's `buildReport`
 * makes from raw events, computed from the rows the worker writes (`sessions`,
 * `session_quarter_hours`, `stream_minutes` and the rollups). Sums are integer milliseconds in SQL;
 * every division is core's `summarizeTotals`, so the figures are equal bit for bit.
 *
 * The session settings (idle, maxSession, minSession) are baked into the stored rows by the worker:
 * pass the values it finalized with (they are echoed in `config`, they cannot change the rows).
 * The AQH qualifier is applied at query time, so any value works.
 *
 * One query per module: the report's own (options, sessions, minutes, quarter-hours, totals), the
 * rollup's (rollup-*, cume) and the dashboard's side queries (live, session-lengths, sessions-by,
 * streams, short-sessions).
 */
// The four row lists of a report (a report may be asked for only some of them) are core's.
export { REPORT_PARTS, type ReportPart } from '@earshot/core';
export { DEFAULT_LIVE_GAP, type LiveGapOptions, type LiveStream, liveListeners } from './live.js';
export { type DbReportOptions, reportPeriod } from './options.js';
export { breakdownsFromDb, daypartReportsFromDb, reportFromDb } from './report.js';
export { rebuildAudienceRollups, rebuildQuarterHourRollup } from './rollup-rebuild.js';
export type { SessionSelection } from './selection.js';
export { sessionEvents } from './session-events.js';
export { SESSION_LENGTH_BINS, sessionLengthHistogram } from './session-lengths.js';
export { shortSessionCounts } from './short-sessions.js';
export { listStreams } from './streams.js';
