import { readFile } from 'node:fs/promises';
import { type Daypart, isValidTimeZone, parseDaypart } from '@earshot/core';
import { z } from 'zod';

/**
 * Stations (EARSHOT_STATIONS_FILE): a station groups stream keys (its Shoutcast streams and HLS
 * groups) under one key, with its own IANA zone and extra dayparts. `station=KEY` in a query reports
 * the group as one stream.
 *
 * ```json
 * { "stations": [ { "key": "wxyz", "name": "WXYZ 101.5", "tz": "America/New_York",
 *     "streams": ["main-mp3", "main"], "dayparts": [ { "name": "Morning show", "spec": "Mon-Fri 05:00-09:00" } ] } ] }
 * ```
 */
const keyText = z.string().min(1).max(128);

export const stationsFileSchema = z
  .object({
    stations: z
      .array(
        z
          .object({
            key: keyText,
            name: z.string().min(1).max(200).optional(),
            tz: z.string().refine(isValidTimeZone, 'is not an IANA time zone').default('UTC'),
            streams: z.array(keyText).min(1),
            dayparts: z
              .array(
                z
                  .object({ name: z.string().min(1).max(100), spec: z.string().min(1) })
                  .superRefine((d, ctx) => {
                    const parsed = parseDaypart(d.spec, d.name);
                    if (!parsed.ok) ctx.addIssue({ code: 'custom', path: ['spec'], message: parsed.reason });
                  }),
              )
              .default([]),
          })
          .strict(),
      )
      .superRefine((stations, ctx) => {
        const seen = new Set<string>();
        stations.forEach((s, i) => {
          if (seen.has(s.key))
            ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate station key "${s.key}"` });
          seen.add(s.key);
        });
      }),
  })
  .strict();

/** One configured station, dayparts parsed. */
export interface Station {
  key: string;
  name: string;
  tz: string;
  streams: string[];
  dayparts: Daypart[];
}

/** Validates a stations document; throws one error naming every bad field. */
export function parseStations(input: unknown, source = 'stations'): Station[] {
  const result = stationsFileSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data.stations.map((s) => ({
    key: s.key,
    name: s.name ?? s.key,
    tz: s.tz,
    streams: [...new Set(s.streams)],
    dayparts: s.dayparts.map((d) => {
      const parsed = parseDaypart(d.spec, d.name);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.daypart;
    }),
  }));
}

/** Reads and validates EARSHOT_STATIONS_FILE (none configured: no stations). */
export async function loadStations(path: string | undefined): Promise<Station[]> {
  if (path === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`EARSHOT_STATIONS_FILE ${path}: ${(error as Error).message}`);
  }
  return parseStations(json, `EARSHOT_STATIONS_FILE ${path}`);
}
