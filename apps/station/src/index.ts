/**
 * The Earshot demo station: an ICY-style MP3 stream and live HLS, instrumented with
 * @earshot/logger. `createStation` runs it embedded in another process (tests, `pnpm start`).
 */
export { DEFAULT_AUDIO_DIR, loadAudio, type StationAudio, type Variant } from './audio.js';
export { HLS_CLOCK, liveWindow, masterPlaylist, variantPlaylist } from './hls.js';
export { DEMO_ARTIST, TONES, toneAt, toneTitle } from './programme.js';
export {
  createStation,
  createStationApp,
  STREAM_KEYS,
  type Station,
  type StationOptions,
} from './station.js';
export { tickWithinIdle } from './tick.js';
