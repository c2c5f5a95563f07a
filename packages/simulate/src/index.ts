/**
 * @earshot/simulate: a seeded, deterministic generator of realistic listen events (DESIGN section 2)
 * for tests, samples and benchmarks. Pure TypeScript, no Node APIs: the same seed gives the same
 * events everywhere.
 */
export { createLocalClock, type DailyCurve, flatCurve, radioDayCurve } from './curve.js';
export {
  type BatchOptions,
  type DuplicateOptions,
  inBatches,
  shuffled,
  toNdjson,
  withDuplicates,
} from './delivery.js';
export { createRandom, deriveSeed, mix32, type Random, type Seed, seedOf, uuidv4, uuidv7 } from './random.js';
export {
  DEFAULT_STREAMS,
  generateStation,
  type HlsStreamSpec,
  type HlsVariantSpec,
  type ShoutcastStreamSpec,
  type StationOptions,
  type StreamSpec,
  streamStation,
} from './station.js';
export { generateTracks, type TracksOptions } from './tracks.js';
