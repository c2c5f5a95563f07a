export { type AppLogger, type CreateAppOptions, createApp } from './app.js';
export { loadReportsEnv, type ReportsEnv, reportsEnvSchema } from './env.js';
export { reportFileName } from './file-name.js';
export { type HistogramBin, labelHistogram } from './histogram.js';
export { LiveFeed, type LiveSnapshot } from './live.js';
export { openApiDocument } from './openapi.js';
export {
  badParameter,
  checkPeriodLength,
  MAX_PERIOD_DAYS,
  parsePeriodQuery,
  type ReportDefaults,
  shiftLocalDays,
} from './params.js';
export { loadStations, parseStations, type Station, stationsFileSchema } from './stations.js';
