import { isoTime, QUARTER_HOUR_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import { addMonthBits, bitText, utcMonth } from '../months.js';
import type { ResolvedReport } from './options.js';
import { withWorkMem } from './sql.js';

/**
 * Periods that span more than three days count cume from the listener months (see
 * {@link DbReportOptions.cume}), and several reports of one period (its dayparts) more than one
 * day, all in one pass. By span, not by the number of quarter-hours: a daypart of four hours on
 * weekdays over a month has fewer quarter-hours than a week, but the runs of its sessions are spread
 * over the month's rows, which the months hold in far fewer. (On the 3M-session bench, one report's
 * cume from the runs took 0.2 s for a day, 0.5 s for three and 1.3 s for seven; from the months
 * 0.55 to 0.7 s whatever the span within a month.)
 */
export const CUME_MONTHS_FROM_QHS = 3 * 96;
/** The same for several reports of a period counted together ({@link monthsCumeOfMany}). */
export const CUME_MONTHS_TOGETHER_FROM_QHS = 4 * 96;

/** Where a report's cume is counted from (see {@link DbReportOptions.cume}); `together`: with that many reports of its period. */
export const cumeSource = (r: ResolvedReport, together = 1): 'runs' | 'months' =>
  r.cume === 'auto'
    ? spanQuarterHours(r) > (together > 1 ? CUME_MONTHS_TOGETHER_FROM_QHS : CUME_MONTHS_FROM_QHS)
      ? 'months'
      : 'runs'
    : r.cume;

/** Quarter-hours from the period's first to its last, both counted. */
const spanQuarterHours = (r: ResolvedReport) =>
  r.qhList.length === 0 ? 0 : (r.qhList[r.qhList.length - 1]! - r.qhList[0]!) / QUARTER_HOUR_MS + 1;

/**
 * Cume by stream (or group) of several reports over the same streams (the dayparts of a period), from
 * the listener months in one pass: each key's months are read once and tested against every
 * report's quarter-hours. Equal to {@link cumeOf} with months for each.
 */
export async function monthsCumeOfMany(
  db: Queryable,
  rs: readonly ResolvedReport[],
  /** The reports' streams when the caller has them (else `first.streams`, or every stream in the rollup). */
  knownStreams?: readonly string[],
): Promise<Map<string, number>[]> {
  const first = rs[0];
  if (!first) return [];
  const streams =
    knownStreams ??
    first.streams ??
    (await db.query<{ stream: string }>('select distinct stream from stream_quarter_hours')).map(
      (x) => x.stream,
    );
  const perReport = rs.map((r) => addMonthBits(new Map(), r.qhList));
  const monthStarts = [...new Set(perReport.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const masks = perReport.map((m) =>
    monthStarts.map((month) => {
      const bits = m.get(month);
      if (bits) return bitText(bits.bits);
      const { end } = utcMonth(month);
      return '0'.repeat((end - month) / QUARTER_HOUR_MS);
    }),
  );
  const columns = rs.map((_, i) => `$${i + 4}::varbit[]`).join(', ');
  const names = rs.map((_, i) => `m${i}`).join(', ');
  // Within one month a key has one row per stream: counted as it is read, with no grouping by key.
  const oneMonth = monthStarts.length === 1 && first.groupAs === undefined;
  // The month is a join key, never a filter beside a mask: PostgreSQL may test a filter's
  // conditions in any order, and a mask ANDed with another month's bits of another length is an
  // error. One report's test is a filter (a row that fails it counts nowhere); several are tested
  // row by row.
  const only = rs.length === 1;
  const hit = (i: number) => (only ? 'true' : `bit_count(t.qhs & p.m${i}) > 0`);
  const onlyHits = only ? 'and bit_count(t.qhs & p.m0) > 0' : '';
  const rows = await withWorkMem(db, (q) =>
    q.query<Record<string, unknown> & { stream: string }>(
      oneMonth
        ? `select t.stream, ${rs.map((_, i) => `(count(*) filter (where ${hit(i)}))::float8 as c${i}`).join(', ')}
          from stream_listener_months t
          join unnest(($2::text[])::timestamptz[], ${columns}) as p(month, ${names}) on t.month = p.month
          where t.stream = any($1::text[]) and $3::text is null ${onlyHits}
          group by 1`
        : // The bits are tested before the grouping by key (OFFSET 0 keeps it so): grouped with the
          // bit strings as its input, the hash aggregate spilled them to disk (600 MB for a month).
          `select stream, ${rs.map((_, i) => `(count(*) filter (where a${i}))::float8 as c${i}`).join(', ')} from (
        select stream, key_id, ${rs.map((_, i) => `bool_or(h${i}) as a${i}`).join(', ')} from (
          select coalesce($3::text, t.stream) as stream, t.key_id,
            ${rs.map((_, i) => `${hit(i)} as h${i}`).join(', ')}
          from stream_listener_months t
          join unnest(($2::text[])::timestamptz[], ${columns}) as p(month, ${names}) on t.month = p.month
          where t.stream = any($1::text[]) ${onlyHits}
          offset 0
        ) h group by 1, 2
      ) k group by stream`,
      [streams, monthStarts.map(isoTime), first.groupAs ?? null, ...masks],
    ),
  );
  return rs.map(
    (_, i) =>
      new Map(
        rows.map((row) => [row.stream, Number(row[`c${i}`])]).filter(([, n]) => n !== 0) as [
          string,
          number,
        ][],
      ),
  );
}

/**
 * Cume by stream (or one figure for `groupAs`): distinct cume keys with listening in the period.
 * Both sources give the same numbers; which is cheaper depends on the period's length.
 */
export async function cumeOf(
  db: Queryable,
  r: ResolvedReport,
  streams: readonly string[],
  runStarts: readonly string[],
  lo: string,
  hi: string,
): Promise<Map<string, number>> {
  const source = cumeSource(r);
  if (source === 'runs') {
    // Each active session's first row in the period is a row that does not continue, or one in a QH
    // that starts a run of the period.
    const rows = await withWorkMem(db, (q) =>
      q.query<{ stream: string; cume: number }>(
        `select stream, count(*)::float8 as cume from (
          select coalesce($3::text, t.stream) as stream, coalesce(t.listener, 'session:' || t.session) as key
            from session_quarter_hours t
            where not t.continues and t.quarter_hour >= $5::timestamptz and t.quarter_hour < $6::timestamptz
              and t.quarter_hour in (select unnest(($1::text[])::timestamptz[]))
              and ($2::text[] is null or t.stream = any($2::text[])) and (t.class = 'human' or $7::boolean)
          union
          select coalesce($3::text, t.stream), coalesce(t.listener, 'session:' || t.session)
            from session_quarter_hours t
            where t.continues and t.quarter_hour in (select unnest(($4::text[])::timestamptz[]))
              and ($2::text[] is null or t.stream = any($2::text[])) and (t.class = 'human' or $7::boolean)
        ) k group by stream`,
        [r.qhList.map(isoTime), streams, r.groupAs ?? null, runStarts, lo, hi, r.basis === 'gross'],
      ),
    );
    return new Map(rows.map((c) => [c.stream, c.cume]));
  }
  // Listener months: keys whose month bits meet the period's, every stream in one pass.
  const [cume] = await monthsCumeOfMany(db, [r], streams);
  return cume!;
}
