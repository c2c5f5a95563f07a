import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Parser } from 'm3u8-parser';

/** The committed audio (made once by scripts/make-audio.sh), next to `src/` and `dist/`. */
export const DEFAULT_AUDIO_DIR = fileURLToPath(new URL('../audio', import.meta.url));

/** One HLS variant: its key, its segments (a loop) and their `#EXTINF` durations. */
export interface Variant {
  /** Stream key of the variant, e.g. `live-64k`. */
  key: string;
  /** URL path segment, e.g. `64k`. */
  name: string;
  /** Peak and average bitrate of the segments, bit/s (for `BANDWIDTH` / `AVERAGE-BANDWIDTH`). */
  peakBps: number;
  averageBps: number;
  segments: { bytes: Uint8Array; durationS: number }[];
}

/** The station's audio: a CBR MP3 that loops frame by frame, and the HLS variants. */
export interface StationAudio {
  mp3: Uint8Array;
  mp3BitrateKbps: number;
  variants: Variant[];
}

export const MP3_BITRATE_KBPS = 64;
const VARIANT_NAMES = ['32k', '64k'];

/** Reads the audio directory; the HLS durations come from the packager's playlists. */
export async function loadAudio(dir: string = DEFAULT_AUDIO_DIR): Promise<StationAudio> {
  const mp3 = new Uint8Array(await readFile(`${dir}/stream.mp3`));
  const variants = await Promise.all(VARIANT_NAMES.map((name) => loadVariant(dir, name)));
  return { mp3, mp3BitrateKbps: MP3_BITRATE_KBPS, variants };
}

async function loadVariant(dir: string, name: string): Promise<Variant> {
  const parser = new Parser();
  parser.push(await readFile(`${dir}/hls/${name}/index.m3u8`, 'utf8'));
  parser.end();
  const listed = parser.manifest.segments ?? [];
  if (listed.length === 0) throw new Error(`${dir}/hls/${name}/index.m3u8 lists no segments`);
  const segments = await Promise.all(
    listed.map(async (segment) => ({
      bytes: new Uint8Array(await readFile(`${dir}/hls/${name}/${segment.uri}`)),
      durationS: segment.duration,
    })),
  );
  const rates = segments.map((s) => (s.bytes.byteLength * 8) / s.durationS);
  const totalBytes = segments.reduce((sum, s) => sum + s.bytes.byteLength, 0);
  const totalS = segments.reduce((sum, s) => sum + s.durationS, 0);
  return {
    key: `live-${name}`,
    name,
    peakBps: Math.ceil(Math.max(...rates)),
    averageBps: Math.ceil((totalBytes * 8) / totalS),
    segments,
  };
}
