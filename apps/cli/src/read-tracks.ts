import { stat } from 'node:fs/promises';
import { parseTrack, type TrackEvent } from '@earshot/core';
import { DataError, UsageError } from './errors.js';
import { describeIssue, LineError, openSource, type ReadStats, readNdjson } from './ndjson.js';

/** What reading an NDJSON track-event file found. */
export interface ReadTracksResult {
  /** The valid track events, in file order (a later correction of an id wins). */
  tracks: TrackEvent[];
  stats: ReadStats;
  /** The first `maxInvalid` malformed lines (`FILE:LINE: field: reason`); all are counted in stats. */
  invalid: string[];
}

/**
 * Size of the file an option names (0 for stdin), or a {@link UsageError} naming the option when it
 * is not a readable file.
 */
export async function fileSize(option: string, path: string): Promise<number> {
  if (path === '-') return 0;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`--${option}: ${path} is not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

/**
 * Reads an NDJSON file of track events (DESIGN section 9; gzip recognized, `-` for stdin), each line
 * parsed with core's `parseTrack`. A malformed line fails with a {@link DataError} naming the file and
 * line, as for listen events, or with `skipInvalid` is counted and the first `maxInvalid` listed.
 */
export async function readTracks(o: {
  path: string;
  skipInvalid: boolean;
  maxInvalid: number;
}): Promise<ReadTracksResult> {
  await fileSize('tracks', o.path);
  const name = o.path === '-' ? '<stdin>' : o.path;
  const tracks: TrackEvent[] = [];
  const invalid: string[] = [];
  const source = openSource(o.path);
  try {
    const stats = await readNdjson(
      source,
      (value) => {
        const parsed = parseTrack(value);
        if (!parsed.ok) return parsed.issues.map((i) => describeIssue(i.field, i.reason, 'track')).join('; ');
        tracks.push(parsed.track);
        return undefined;
      },
      {
        skipInvalid: o.skipInvalid,
        onInvalid: ({ line, detail }) => {
          if (invalid.length < o.maxInvalid) invalid.push(`${name}:${line}: ${detail}`);
        },
      },
    );
    return { tracks, stats, invalid };
  } catch (error) {
    if (error instanceof LineError)
      throw new DataError(
        `${name}:${error.line}: ${error.detail}${o.skipInvalid ? '' : ' (--skip-invalid skips bad lines)'}`,
        error.line,
      );
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR')
      throw new DataError(`${name}: not valid gzip (${(error as Error).message})`);
    throw error;
  } finally {
    source.close();
  }
}
