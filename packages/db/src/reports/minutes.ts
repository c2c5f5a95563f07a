import { isoTime, MINUTE_MS, periodMinuteRanges, type ReportMinute } from '@earshot/core';
import type { Queryable } from '../client.js';
import type { ResolvedReport } from './options.js';
import { byText } from './sql.js';

/** The report's minute series from `stream_minutes`, by stream, minute. */
export async function queryMinutes(db: Queryable, r: ResolvedReport): Promise<ReportMinute[]> {
  const ranges = periodMinuteRanges(r.from, r.to, r.tz, r.daypart);
  if (ranges.from.length === 0) return [];
  // One row per stream with the series as one text of `minute,ms,sessions,...` (minute as whole
  // minutes after the period's first): far cheaper to produce, transfer and parse than a row per
  // minute or three arrays. stream_minutes has one row per (stream, minute): only a group of streams
  // needs summing. (date_part of a whole-second interval is an exact float8.)
  const inPeriod = `m.minute >= $5::timestamptz and m.minute < $6::timestamptz
    and m.minute <@ (select range_agg(tstzrange(lo, hi, '[)'))
      from unnest(($1::text[])::timestamptz[], ($2::text[])::timestamptz[]) as r(lo, hi))
    and ($3::text[] is null or m.stream = any($3::text[]))`;
  const offset = (column: string) => `(date_part('epoch', ${column} - $5::timestamptz)::bigint / 60)`;
  const sql =
    r.groupAs === undefined
      ? `select m.stream, string_agg(${offset('m.minute')} || ',' || m.ms || ',' || m.sessions, ',' order by m.minute) as series
          from stream_minutes m where ${inPeriod} and $4::text is null group by m.stream`
      : `select $4::text as stream, string_agg(${offset('minute')} || ',' || ms || ',' || sessions, ',' order by minute) as series
          from (select m.minute, sum(m.ms) as ms, sum(m.sessions) as sessions
            from stream_minutes m where ${inPeriod} group by m.minute) x`;
  const firstMs = ranges.from[0]!;
  const rows = (
    await db.query<{ stream: string | null; series: string | null }>(sql, [
      ranges.from.map(isoTime),
      ranges.to.map(isoTime),
      r.streams,
      r.groupAs ?? null,
      isoTime(firstMs),
      isoTime(ranges.to[ranges.to.length - 1]!),
    ])
  ).filter((row): row is { stream: string; series: string } => row.series !== null);
  rows.sort((a, b) => byText(a.stream, b.stream));
  const out: ReportMinute[] = [];
  for (const row of rows) {
    const values = row.series.split(',');
    for (let i = 0; i + 2 < values.length; i += 3) {
      out.push({
        stream: row.stream,
        minute: isoTime(firstMs + Number(values[i]) * MINUTE_MS),
        listeners: Number(values[i + 1]) / MINUTE_MS,
        sessions: Number(values[i + 2]),
      });
    }
  }
  return out;
}
