import { type AgentRules, createAudienceOf, NO_AGENT_RULES } from '@earshot/audience';
import { DEFAULT_SESSION_SETTINGS, isoTime, MINUTE_MS } from '@earshot/core';
import type { Queryable } from '../client.js';
import { byText, epochMs } from './sql.js';

/** Listening right now on one stream. */
export interface LiveStream {
  stream: string;
  /** People: sessions whose next event is still expected (see {@link liveListeners}). */
  listeners: number;
  /** Listening seconds placed in the last minute / 60 (average concurrent listeners over that minute). */
  listeningNow: number;
}

/** How long a session stays live after its last event (DESIGN section 4). */
export interface LiveGapOptions {
  /** The bound, seconds: no session is live `idle` or more after its last event. Default 300 s. */
  idleS?: number;
  /** The expected gap is `gapFactor` x the longer duration of the last two events + `gapSlackS`. Default 1.5. */
  gapFactor?: number;
  /** Seconds added to the expected gap (the sink's batching, ingest, jitter). Default 5 s. */
  gapSlackS?: number;
  /**
   * The worker's user-agent rules: live counts people, so sessions whose user agent is a bot's, a
   * relay's or a monitor's (or whose IP was in a relay or monitor range) are left out. Default: no
   * station patterns (isbot's list alone).
   */
  agents?: AgentRules;
}

export const DEFAULT_LIVE_GAP: Readonly<Required<Omit<LiveGapOptions, 'agents'>>> = {
  idleS: DEFAULT_SESSION_SETTINGS.idleS,
  gapFactor: 1.5,
  gapSlackS: 5,
};

/** The window of `listeningNow`, ms. */
const WINDOW_MS = MINUTE_MS;

/**
 * Live listeners (DESIGN section 4), per session stream, at `now`, from raw listen_events (counted
 * or not, finalized or not):
 *
 * - `listeners`: people. A session id is live when its last event at or before `now` (in event
 *   order) is recent enough that its next one is still expected: `now - time <= min(idle,
 *   gapFactor x d + gapSlack)`, `d` the longer duration of its last two events. An event reports
 *   the audio delivered since the previous one, so a full one's duration is the output's cadence as
 *   this session sees it: the tick for Shoutcast (30 s by default), the segment's duration for HLS.
 *   The last two, not the last alone: one short event (a segment cut off, a player's probe of
 *   another variant credited 0 s, a Shoutcast close's remainder) does not end the expectation
 *   (ffmpeg probes the other variant right after its first segment: with the last event alone it
 *   read 0 six seconds in). A stalled Shoutcast connection emits no tick and drops out after its
 *   gap; an HLS master playlist's zero-duration event alone gives the slack, its segments follow at
 *   once.
 * - `listeningNow`: the listening seconds placed in `(now - 60 s, now]`, / 60 (each event's seconds
 *   spread evenly over `(time - duration, time]`, as everywhere else).
 *
 * Both are net, as reports are by default: a session whose last events came from a relay or
 * monitor IP range (ingest's `origin`), or whose user agent the rules (`agents`, isbot's list)
 * take for a bot, relay or monitor, is not a person listening and is left out.
 *
 * Both count for the session's stream as reports do: the stream of the session id's first event
 * (in the last day), so HLS segments of variants count for the group key of the master playlist's
 * event. (A session resumed after a pause over `idle` is its own session in reports, with its own
 * first event; live still files it under the id's first stream.)
 */
export async function liveListeners(
  db: Queryable,
  now: number | Date = Date.now(),
  options: LiveGapOptions = {},
): Promise<LiveStream[]> {
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const { idleS, gapFactor, gapSlackS } = { ...DEFAULT_LIVE_GAP, ...options };
  const classify = createAudienceOf(options.agents ?? NO_AGENT_RULES);
  if (!(idleS > 0) || !(gapFactor >= 0) || !(gapSlackS >= 0))
    throw new TypeError('liveListeners: idleS must be > 0, gapFactor and gapSlackS >= 0');
  const idleMs = idleS * 1000;
  const firstStream = (alias: string) => `join lateral (select stream from listen_events s
        where s.session = ${alias}.session and s.time > $2::timestamptz - interval '1 day' and s.time <= $2::timestamptz + interval '1 day'
        order by s.time, (s.duration_ms > 0), s.id collate "C" limit 1) f on true`;
  // The BRIN index on time finds the last idle of events; an id's last two events are the last in
  // DESIGN's order (time, zero-duration first, id).
  // Grouped by user agent too, so that bots' sessions can be left out by the same rules as reports
  // (the user agent of a session's last events; one from a relay or monitor range is left out by
  // its origin in SQL).
  const rows = await db.query<{ stream: string; ua: string | null; people: number; ms: number }>(
    `with recent as (
      select session, ${epochMs('time')} as t_ms, duration_ms, ua, origin,
        row_number() over (partition by session order by time desc, (duration_ms > 0) desc, id collate "C" desc) as rn
        from listen_events where time >= $5::timestamptz and time <= $2::timestamptz
    ), last_events as (
      select session, max(t_ms) as t_ms, max(duration_ms) as duration_ms, max(ua) as ua,
        bool_or(origin is not null) as from_range
        from recent where rn <= 2 group by session
    ), people as (
      select f.stream, l.ua, count(*)::float8 as people from last_events l
      ${firstStream('l')}
      where not l.from_range and $3::float8 - l.t_ms <= least($4::float8, $6::float8 * l.duration_ms + $7::float8)
      group by f.stream, l.ua
    ), seconds as (
      select f.stream, e.ua,
        sum(greatest(0, least(e.t_ms, $3::float8) - greatest(e.t_ms - e.duration_ms, $3::float8 - ${WINDOW_MS})))::float8 as ms
        from (select session, ${epochMs('time')} as t_ms, duration_ms, ua from listen_events
          where time > $1::timestamptz and time < $2::timestamptz + interval '1 day' and duration_ms > 0
            and origin is null) e
        ${firstStream('e')}
        group by f.stream, e.ua
    )
    select coalesce(p.stream, s.stream) as stream, coalesce(p.ua, s.ua) as ua, coalesce(p.people, 0)::float8 as people,
      coalesce(s.ms, 0)::float8 as ms
      from people p full join seconds s on s.stream = p.stream and s.ua is not distinct from p.ua`,
    [
      isoTime(nowMs - WINDOW_MS),
      isoTime(nowMs),
      nowMs,
      idleMs,
      isoTime(nowMs - idleMs),
      gapFactor,
      gapSlackS * 1000,
    ],
  );
  const byStream = new Map<string, { people: number; ms: number }>();
  for (const row of rows) {
    if (classify({ ua: row.ua, origin: null }).class !== 'human') continue;
    const total = byStream.get(row.stream) ?? { people: 0, ms: 0 };
    total.people += row.people;
    total.ms += row.ms;
    byStream.set(row.stream, total);
  }
  return [...byStream]
    .filter(([, t]) => t.people > 0 || t.ms > 0)
    .map(([stream, t]) => ({ stream, listeners: t.people, listeningNow: t.ms / WINDOW_MS }))
    .sort((a, b) => byText(a.stream, b.stream));
}
