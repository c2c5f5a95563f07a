import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MINUTE_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import { MIGRATIONS_FOLDER } from '../migrate.js';
import { QUALIFIER_MINUTES, SESSION_LENGTH_BOUNDS_S } from '../schema.js';

/**
 * The quarter-hour rollup (`stream_quarter_hours`, with `session_quarter_hours.prev_quarter_hour`
 * and `continues`): the QH series, AQH, TLH, AAS, ATSL, active sessions and session starts come
 * from one row per stream and QH instead of one per session and QH, and cume from the sessions'
 * first rows in each run of the period. Same figures, bit for bit (tested against core).
 *
 * The worker keeps it current in each finalization transaction (see finalize.ts): for every counted
 * session row it inserts (+1) or removes (-1), `ms`, `sessions`, `continuing` and `qualified[k]`
 * at each (stream, QH) with listening, and `starts` and its `lengths` bin at the QH of its start
 * (and `short_starts` there for a short row). This rebuilds all of it
 * from the human rows of `sessions` and `session_quarter_hours` (the rollup holds net figures; a repair, and the reference the tests compare the
 * worker's deltas with); the migration that added the rollup ran the same backfill.
 */
export async function rebuildQuarterHourRollup(db: Queryable): Promise<void> {
  await db.query(`update session_quarter_hours t set prev_quarter_hour = p.prev,
      continues = coalesce(p.prev = t.quarter_hour - interval '15 minutes', false)
    from (select session, session_start, quarter_hour,
        lag(quarter_hour) over (partition by session, session_start order by quarter_hour) as prev
      from session_quarter_hours) p
    where p.session = t.session and p.session_start = t.session_start and p.quarter_hour = t.quarter_hour
      and (t.prev_quarter_hour is distinct from p.prev
        or t.continues <> coalesce(p.prev = t.quarter_hour - interval '15 minutes', false))`);
  await db.query('delete from stream_quarter_hours');
  const qualified = Array.from(
    { length: QUALIFIER_MINUTES },
    (_, k) => `count(*) filter (where ms >= ${(k + 1) * MINUTE_MS})`,
  ).join(', ');
  // Bin i of the session lengths: from the i-th bound on, under the next.
  const bounds = SESSION_LENGTH_BOUNDS_S.map((b) => b * 1000);
  const lengths = [0, ...bounds]
    .map((lo, i) => {
      const hi = bounds[i];
      return `count(*) filter (where duration_ms >= ${lo}${hi === undefined ? '' : ` and duration_ms < ${hi}`})`;
    })
    .join(', ');
  await db.query(`insert into stream_quarter_hours (stream, quarter_hour, ms, sessions, continuing, starts, qualified, lengths)
    select coalesce(a.stream, b.stream), coalesce(a.qh, b.qh), coalesce(a.ms, 0), coalesce(a.n, 0), coalesce(a.c, 0),
      coalesce(b.starts, 0), coalesce(a.q, array_fill(0, array[${QUALIFIER_MINUTES}])),
      coalesce(b.lengths, array_fill(0, array[${bounds.length + 1}]))
    from (select stream, quarter_hour as qh, sum(ms) as ms, count(*) as n, count(*) filter (where continues) as c,
        array[${qualified}]::int[] as q
      from session_quarter_hours where class = 'human' group by 1, 2) a
    full join (select stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') as qh, count(*) as starts,
        array[${lengths}]::int[] as lengths
      from sessions where class = 'human' group by 1, 2) b on a.stream = b.stream and a.qh = b.qh`);
  await db.query(`insert into stream_quarter_hours as t (stream, quarter_hour, ms, sessions, continuing, starts, qualified, short_starts)
    select stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00'), 0, 0, 0, 0,
      array_fill(0, array[${QUALIFIER_MINUTES}]), count(*)
    from short_sessions where class = 'human' group by 1, 2
    on conflict (stream, quarter_hour) do update set short_starts = excluded.short_starts`);
}

/**
 * The audience rollups (`stream_audience_quarter_hours`, `stream_audience_months`) rebuilt from the
 * human rows of `sessions` and `session_quarter_hours` with the backfill statements of the
 * migration that added them (0008): a repair, and the reference the tests compare the worker's
 * deltas with. Needs `listener_keys` to hold every human cume key (the worker's and 0002's do).
 */
export async function rebuildAudienceRollups(db: Queryable): Promise<void> {
  const text = await readFile(join(MIGRATIONS_FOLDER, '0008_audience_rollups.sql'), 'utf8');
  await db.query('delete from stream_audience_quarter_hours');
  await db.query('delete from stream_audience_months');
  for (const statement of text.split('--> statement-breakpoint')) {
    const sql = statement.replace(/^--.*$/gm, '').trim();
    if (sql.startsWith('INSERT')) await db.query(sql);
  }
}
