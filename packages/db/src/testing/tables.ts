import type { Queryable } from '../client.js';
import { epochMs as ms } from '../finalize/sql-time.js';
import type { InEpochMs, StoredSessionRow, StoredShortRow } from '../finalize/types.js';
import type {
  sessionQuarterHours,
  streamAudienceQuarterHours,
  streamMinutes,
  streamQuarterHours,
} from '../schema.js';

/** Every row finalization writes, in numbers (times epoch ms), the schema's columns by table. */
export interface Tables {
  sessions: StoredSessionRow[];
  quarterHours: InEpochMs<
    typeof sessionQuarterHours.$inferSelect,
    'sessionStart' | 'quarterHour' | 'prevQuarterHour'
  >[];
  minutes: InEpochMs<typeof streamMinutes.$inferSelect, 'minute'>[];
  shorts: StoredShortRow[];
  /** The quarter-hour rollup (stream_quarter_hours). */
  rollup: InEpochMs<typeof streamQuarterHours.$inferSelect, 'quarterHour'>[];
  /** stream_listener_months, with the cume key's text instead of its number. */
  listenerMonths: { stream: string; month: number; key: string; qhs: string }[];
  /** The audience rollup (stream_audience_quarter_hours). */
  audienceRollup: InEpochMs<typeof streamAudienceQuarterHours.$inferSelect, 'quarterHour'>[];
  /** stream_audience_months, with the cume key's text. */
  audienceMonths: {
    stream: string;
    month: number;
    key: string;
    country: string;
    device: string;
    os: string;
    player: string;
    output: string;
    qhs: string;
  }[];
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Tables with no rows. */
export function emptyTables(): Tables {
  return {
    sessions: [],
    quarterHours: [],
    minutes: [],
    shorts: [],
    rollup: [],
    listenerMonths: [],
    audienceRollup: [],
    audienceMonths: [],
  };
}

/** Sorts every table of `t` in place into one order, so two sets of tables compare with toEqual. */
export function sortTables(t: Tables): Tables {
  t.sessions.sort((a, b) => byKey(a.session, b.session) || a.start - b.start);
  t.quarterHours.sort(
    (a, b) => byKey(a.session, b.session) || a.sessionStart - b.sessionStart || a.quarterHour - b.quarterHour,
  );
  t.minutes.sort((a, b) => byKey(a.stream, b.stream) || a.minute - b.minute);
  t.shorts.sort((a, b) => byKey(a.session, b.session) || a.start - b.start);
  t.rollup.sort((a, b) => byKey(a.stream, b.stream) || a.quarterHour - b.quarterHour);
  t.listenerMonths.sort((a, b) => byKey(a.stream, b.stream) || a.month - b.month || byKey(a.key, b.key));
  const audience = (a: Tables['audienceMonths'][number] | Tables['audienceRollup'][number]) =>
    `${a.country}\u0000${a.device}\u0000${a.os}\u0000${a.player}\u0000${a.output}`;
  t.audienceRollup.sort(
    (a, b) => byKey(a.stream, b.stream) || a.quarterHour - b.quarterHour || byKey(audience(a), audience(b)),
  );
  t.audienceMonths.sort(
    (a, b) =>
      byKey(a.stream, b.stream) ||
      a.month - b.month ||
      byKey(a.key, b.key) ||
      byKey(audience(a), audience(b)),
  );
  return t;
}

/** Every row finalization writes, read back in numbers and sorted (compare with `expectedTables`). */
export async function readTables(db: Queryable): Promise<Tables> {
  // Columns are aliased to the schema's field names, so rows come back in the Tables shapes.
  const [sessions, quarterHours, rollup, minutes, shorts, listenerMonths, audienceRollup, audienceMonths] =
    await Promise.all([
      db.query<Tables['sessions'][number]>(
        `select session, ${ms('start')} as start, ${ms('first_time')} as "firstTime", stream, output, ${ms('"end"')} as "end",
        elapsed_ms::float8 as "elapsedMs", duration_ms::float8 as "durationMs", bytes::float8 as bytes, listener, ua,
        country, class, device, os, player, ${ms('first_minute')} as "firstMinute", minute_ms::float8[] as "minuteMs"
        from sessions`,
      ),
      db.query<Tables['quarterHours'][number]>(
        `select session, ${ms('session_start')} as "sessionStart", stream, ${ms('quarter_hour')} as "quarterHour",
        ms::float8 as ms, listener, ${ms('prev_quarter_hour')} as "prevQuarterHour", continues, class
        from session_quarter_hours`,
      ),
      db.query<Tables['rollup'][number]>(
        `select stream, ${ms('quarter_hour')} as "quarterHour", ms::float8 as ms, sessions, continuing, starts, qualified,
        lengths, short_starts as "shortStarts"
        from stream_quarter_hours`,
      ),
      db.query<Tables['minutes'][number]>(
        `select stream, ${ms('minute')} as minute, ms::float8 as ms, sessions from stream_minutes`,
      ),
      db.query<Tables['shorts'][number]>(
        `select session, ${ms('start')} as start, ${ms('first_time')} as "firstTime", ${ms('"end"')} as "end", stream,
        duration_ms::float8 as "durationMs", class
        from short_sessions`,
      ),
      db.query<Tables['listenerMonths'][number]>(
        `select t.stream, ${ms('t.month')} as month, k.key, t.qhs::text as qhs
        from stream_listener_months t join listener_keys k on k.id = t.key_id`,
      ),
      db.query<Tables['audienceRollup'][number]>(
        `select stream, ${ms('quarter_hour')} as "quarterHour", country, device, os, player, output, ms::float8 as ms,
        sessions, continuing, starts, qualified
        from stream_audience_quarter_hours`,
      ),
      db.query<Tables['audienceMonths'][number]>(
        `select t.stream, ${ms('t.month')} as month, k.key, t.country, t.device, t.os, t.player, t.output, t.qhs::text as qhs
        from stream_audience_months t join listener_keys k on k.id = t.key_id`,
      ),
    ]);
  return sortTables({
    sessions,
    quarterHours,
    minutes,
    shorts,
    rollup,
    listenerMonths,
    audienceRollup,
    audienceMonths,
  });
}
