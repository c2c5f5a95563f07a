import { SOUNDEXCHANGE_CATEGORIES, soundExchangeTsv } from '@earshot/core';
import type { Env } from './env.js';
import { UsageError } from './errors.js';
import { parseRequest } from './report-args.js';
import { type Io, reportFromFile } from './report-command.js';

export const SOUNDEXCHANGE_HELP = `Usage: earshot soundexchange --events FILE.ndjson --tracks FILE.ndjson --service NAME [options]

SoundExchange report of use (census reporting, 37 CFR 370): tab-separated, a header row, then one
row per sound recording (music tracks) played in [--from, --to), with its actual total performances:
the sessions that heard any part of a play (or --performance-min seconds), summed over its plays.
Columns, in SoundExchange's template order (https://www.soundexchange.com/service-provider/reporting-requirements/):
NAME_OF_SERVICE, TRANSMISSION_CATEGORY, FEATURED_ARTIST, SOUND_RECORDING_TITLE, ISRC, ALBUM_TITLE,
MARKETING_LABEL, ACTUAL_TOTAL_PERFORMANCES. Reports are monthly: give the month as --from/--to.

Options:
  --events FILE         NDJSON listen events (.gz read as gzip, - for stdin)
  --tracks FILE         NDJSON track events (.gz read as gzip)
  --service NAME        name of the service, with the station's call letters if any ("WXYZ-FM")
  --category C          transmission category (37 CFR 370): ${SOUNDEXCHANGE_CATEGORIES.join(', ')} (default A:
                        webcasts other than broadcast simulcasts; B: broadcast simulcasts)
  --from TIME, --to TIME  the period (ISO-8601; without a zone read in --tz), e.g. a month
  --tz ZONE             IANA time zone (env EARSHOT_TZ, default UTC)
  --stream KEY          only this stream (repeatable)
  --performance-min S   listening inside a play that makes a performance, seconds (default 0: any)
  --gross               count bots, relays and monitoring too (default: humans only)
  --idle S, --max-session S, --bot-agents, --relay-ips ...  as for earshot report
  --skip-invalid        skip malformed lines (counted on stderr) instead of failing
  -h, --help            this help

Exit codes: 0 done, 1 bad input data, 2 bad options.
Example: earshot soundexchange --events nov.ndjson.gz --tracks nov-tracks.ndjson --from 2026-11-01 --to 2026-12-01 --tz America/New_York --service "WXYZ-FM" --category B`;

/** `earshot soundexchange`: resolves to the TSV to print on stdout. */
export async function runSoundExchange(args: readonly string[], env: Env, io: Io): Promise<string> {
  const { request, values } = parseRequest(args, env, 'soundexchange');
  if (request.help) return `${SOUNDEXCHANGE_HELP}\n`;
  for (const option of ['format', 'part', 'by', 'daypart'] as const) {
    if (values[option] !== undefined)
      throw new UsageError(
        `--${option}: does not apply to a report of use (see earshot soundexchange --help)`,
      );
  }
  if (request.events === undefined) throw new UsageError('--events: required (NDJSON listen events)');
  if (request.tracks === undefined) throw new UsageError('--tracks: required (NDJSON track events)');
  const service = values.service?.trim();
  if (service === undefined || service === '')
    throw new UsageError('--service: required, the name of the service ("WXYZ-FM")');
  const text = values.category?.trim() ?? 'A';
  const category = SOUNDEXCHANGE_CATEGORIES.find((c) => c === text.toUpperCase());
  if (!category)
    throw new UsageError(`--category: "${text}" is not one of ${SOUNDEXCHANGE_CATEGORIES.join(', ')}`);
  const { tracks } = await reportFromFile(request, request.events, io);
  return soundExchangeTsv(tracks!.songs, { service, category });
}
