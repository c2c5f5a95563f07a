import { originOnlyAudience } from './audience.js';
import { bucketStart, isoTime, MINUTE_MS } from './clock.js';
import { type Daypart, DEFAULT_DAYPARTS, inDaypart } from './daypart.js';
import { durationMsOf, type ListenEvent } from './event.js';
import { quarterHourExtent, resolvePeriod } from './period.js';
import { type ReportConfig, type ReportOptions, reportConfig, resolveSettings } from './report.js';
import { isCounted, type SessionRun, splitSessions } from './sessions.js';
import type { TrackEvent, TrackKind } from './track.js';
import { type LocalTime, localTime } from './zone.js';

/** One hour, in milliseconds: listening hours are listening ms / this. */
const HOUR_MS = 3_600_000;

/**
 * Milliseconds of one event's audio that fall in the window `[a, b)`. The event covers
 * `(time - intervalMs, time]` and its `audioMs` are spread evenly over it by the cumulative-floor
 * rule: `cum(x) = floor(audioMs * (x - (time - intervalMs)) / intervalMs)` for `x` clamped to the
 * interval, and the window gets `cum(min(b, time)) - cum(max(a, time - intervalMs))`. Integer ms;
 * adjacent windows add up exactly to `audioMs`, whatever the cut points. A listen event's audio fills
 * its interval (`audioMs = intervalMs = duration`), so this is the overlap's length, the same
 * placement as the minute and quarter-hour series (DESIGN section 4).
 */
export function spreadMs(time: number, intervalMs: number, audioMs: number, a: number, b: number): number {
  if (intervalMs <= 0 || audioMs <= 0) return 0;
  const begin = time - intervalMs;
  const lo = Math.max(a, begin);
  const hi = Math.min(b, time);
  if (hi <= lo) return 0;
  const cum = (x: number) => Math.floor((audioMs * (x - begin)) / intervalMs);
  return cum(hi) - cum(lo);
}

/** Listening milliseconds of some events inside the window `[a, b)` (see {@link spreadMs}). */
export function listeningInWindow(events: Iterable<ListenEvent>, a: number, b: number): number {
  let ms = 0;
  for (const event of events) {
    const d = durationMsOf(event);
    ms += spreadMs(event.time, d, d, a, b);
  }
  return ms;
}

/** A track event as one play on the clock: what it covers, `[start, end)` in epoch ms. */
export interface PlayWindow {
  track: TrackEvent;
  /** The track's `time`, epoch ms. */
  start: number;
  /** The next track's `time` on the stream, else `time + duration`, else the period's `to`; clipped to `to`. */
  end: number;
}

/** Sorted by (time, id): the order plays follow each other on a stream. */
function compareTracks(a: TrackEvent, b: TrackEvent): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The plays of some track events in the period `[from, to)`, by stream key then start (DESIGN
 * section 9). Track events are deduplicated by `id`; of several with one id (a correction), the one
 * that comes last in `tracks` wins. Per stream they are sorted by (time, id) and play `i` covers
 * `[time_i, end_i)`: `end_i` is the next track's `time`; for the last one `time + duration` when the
 * duration is known, else `to`. Ends are clipped to `to`. A play is in the period when its start is
 * in `[from, to)`. Streams outside `streams` (when given) are left out.
 */
export function trackPlays(
  tracks: Iterable<TrackEvent>,
  period: { from: number; to: number; streams?: readonly string[] | undefined },
): Map<string, PlayWindow[]> {
  const byId = new Map<string, TrackEvent>();
  for (const track of tracks) {
    byId.delete(track.id); // a correction takes the place of what it corrects
    byId.set(track.id, track);
  }
  const wanted = period.streams && period.streams.length > 0 ? new Set(period.streams) : undefined;
  const byStream = new Map<string, TrackEvent[]>();
  for (const track of byId.values()) {
    if (wanted && !wanted.has(track.stream)) continue;
    const list = byStream.get(track.stream);
    if (list) list.push(track);
    else byStream.set(track.stream, [track]);
  }
  const plays = new Map<string, PlayWindow[]>();
  for (const stream of [...byStream.keys()].sort()) {
    const list = byStream.get(stream)!.sort(compareTracks);
    const windows: PlayWindow[] = [];
    for (let i = 0; i < list.length; i++) {
      const track = list[i]!;
      if (track.time < period.from || track.time >= period.to) continue;
      const next = list[i + 1];
      const natural = next
        ? next.time
        : track.duration !== undefined
          ? track.time + Math.round(track.duration * 1000)
          : period.to;
      windows.push({ track, start: track.time, end: Math.min(natural, period.to) });
    }
    if (windows.length > 0) plays.set(stream, windows);
  }
  return plays;
}

/**
 * The daypart a play is judged in: the most specific (shortest weekly span) of `dayparts` holding
 * the local time, or null when none does (the defaults cover every hour of the week).
 */
export function mostSpecificDaypart(
  local: Pick<LocalTime, 'weekday' | 'minuteOfDay'>,
  dayparts: readonly Daypart[] = DEFAULT_DAYPARTS,
): Daypart | null {
  let best: Daypart | null = null;
  let bestSpan = Number.POSITIVE_INFINITY;
  for (const daypart of dayparts) {
    if (!inDaypart(local, daypart)) continue;
    const span = daypart.weekdays.length * (daypart.endMin - daypart.startMin);
    if (span < bestSpan) {
      best = daypart;
      bestSpan = span;
    }
  }
  return best;
}

/** One play of a track with its audience figures (DESIGN section 9); times ISO-8601 UTC. */
export type TrackPlay = TrackEvent & {
  /** The track's `time`, ISO-8601 UTC with milliseconds. */
  start: string;
  /** End of the play (see {@link trackPlays}), ISO-8601 UTC with milliseconds. */
  end: string;
  /** Name of the most specific default daypart holding the play's local start (report `tz`). */
  daypart: string | null;
  /** Sessions with `start <= play start < end`: listening when the track began. */
  listenersAtStart: number;
  /**
   * Sessions with listening inside the play (at least `performanceMin` seconds; with 0, any ms):
   * SoundExchange's performances, "each instance in which any portion of a sound recording is
   * transmitted to a listener". Short sessions count too.
   */
  performances: number;
  /** The performing sessions' listening inside the play, hours. */
  tlh: number;
  /** Sessions whose `end` lies inside the play (and at least `idle` before the period ends: a session ending later may still be running). */
  tuneOuts: number;
  /** Tune-outs per listening hour inside the play; null when `tlh` is 0. */
  tuneOutRate: number | null;
  /** The stream's tune-outs per listening hour over the period within the play's daypart; null without listening. */
  expectedTuneOutRate: number | null;
  /** `tuneOutRate / expectedTuneOutRate`: above 1, listeners left more than usual; null when either is null or expected is 0. */
  tuneOutIndex: number | null;
};

/** One song (sound recording) over the period: its plays' figures summed. */
export interface TrackSong {
  /** The ISRC when known, else `artist` and `title`, trimmed, lower case, joined with ` - `. */
  key: string;
  /** Artist, title, album, label, ISRC and kind of its latest play. */
  artist: string;
  title: string;
  album?: string;
  label?: string;
  isrc?: string;
  kind: TrackKind;
  /** Plays in the period. */
  plays: number;
  /** Sum of the plays' performances (SoundExchange's actual total performances). */
  performances: number;
  /** Sum of the plays' listening hours. */
  tlh: number;
  /** Sum of the plays' tune-outs. */
  tuneOuts: number;
  /** Mean of the plays' defined tune-out indexes, or null. */
  tuneOutIndex: number | null;
}

/**
 * One show over the period: the plays of a stream in one daypart (the most specific default
 * daypart of each play's start, as `TrackPlay.daypart`), summed like songs.
 */
export interface TrackShow {
  stream: string;
  /** The daypart's name (`AM drive`, `Overnight`...); `other` for a play in none. */
  show: string;
  plays: number;
  performances: number;
  tlh: number;
  tuneOuts: number;
  /** Mean of the plays' defined tune-out indexes, or null. */
  tuneOutIndex: number | null;
}

/**
 * Aggregate tuning hours (SoundExchange, 37 CFR 370: the total hours of programming transmitted to
 * all listeners) of one stream in one local month of the report's zone, inside the period.
 */
export interface TrackAth {
  stream: string;
  /** Local month, `YYYY-MM`. */
  month: string;
  /** Listening hours of the stream's sessions (basis applied, short ones too) in the month. */
  ath: number;
}

/** The settings of a track report: the listen report's, and what makes a performance. */
export type TrackReportConfig = ReportConfig & {
  /** Listening a session needs inside a play to be a performance, seconds; 0: any listening. */
  performanceMin: number;
  /** Kinds of track the song list holds. */
  kinds: TrackKind[];
};

/** Track figures of a period (DESIGN section 9). */
export interface TrackReport {
  config: TrackReportConfig;
  /** Plays starting in the period, every kind, by stream then start then id. */
  plays: TrackPlay[];
  /** Songs of the `kinds` asked for (music by default), by performances (most first), then key. */
  songs: TrackSong[];
  /** Shows (every kind of play), by stream then show name. */
  shows: TrackShow[];
  /** ATH per stream and local month, by stream then month. */
  ath: TrackAth[];
}

/** Options of a track report: the listen report's, and what makes a performance. */
export type TrackReportOptions = ReportOptions & {
  /** Seconds of listening inside a play that make a performance. Default 0: any listening (SoundExchange). */
  performanceMinS?: number;
  /** Kinds of track in the song list. Default `['music']`. */
  kinds?: readonly TrackKind[];
};

interface PlayTally {
  window: PlayWindow;
  atStart: number;
  performances: number;
  ms: number;
  tuneOuts: number;
}

interface StreamTally {
  /** Listening in the period by UTC minute start (integer ms). */
  minutes: Map<number, number>;
  /** `end`s of the sessions that end in the period. */
  ends: number[];
}

/** Index of the first element of a sorted list for which `test` holds (or the length). */
function firstWhere<T>(list: readonly T[], test: (item: T) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(list[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Song key: the ISRC, else artist and title compared case-insensitively. */
export function songKey(track: Pick<TrackEvent, 'artist' | 'title' | 'isrc'>): string {
  if (track.isrc) return track.isrc;
  return `${track.artist.trim().toLowerCase()} - ${track.title.trim().toLowerCase()}`;
}

/**
 * The track figures of a period from session runs (see {@link splitSorted}) and track events, in one
 * pass over the runs (each is read once, so they can be produced one session id at a time).
 * `options.from` and `options.to` are required here ({@link buildTrackReport} finds them from the
 * data when not given). Sessions considered: every run (counted or short: SoundExchange counts any
 * listener who heard any part, so `minSession` does not apply) of a selected stream, of the basis
 * (net: class `human` by `options.audience`; gross: all). Listening is placed by {@link spreadMs}.
 * The result does not depend on the order of the runs. `options.daypart` is echoed in the config
 * only: plays are listed over the whole period (each judged against its own daypart's rate).
 */
export function assembleTrackReport(
  runs: Iterable<SessionRun>,
  tracks: Iterable<TrackEvent>,
  options: TrackReportOptions & { from: number; to: number },
): TrackReport {
  const settings = resolveSettings(options);
  const { from, to } = options;
  const tz = options.tz ?? 'UTC';
  const basis = options.basis ?? 'net';
  const audienceOf = options.audience ?? originOnlyAudience;
  const performanceMinMs = Math.round((options.performanceMinS ?? 0) * 1000);
  const kinds = [...(options.kinds ?? ['music'])];
  // A session that ends less than `idle` before the period's end may still be running (the data
  // stops there, or its next event has not come): not a tune-out, in the plays or in the usual rate.
  const lastTuneOut = to - settings.idleS * 1000;
  const wanted = options.streams && options.streams.length > 0 ? new Set(options.streams) : undefined;

  const windows = trackPlays(tracks, { from, to, streams: options.streams });
  const tallies = new Map<string, PlayTally[]>();
  for (const [stream, list] of windows) {
    tallies.set(
      stream,
      list.map((window) => ({ window, atStart: 0, performances: 0, ms: 0, tuneOuts: 0 })),
    );
  }
  const streams = new Map<string, StreamTally>();

  for (const { session, events } of runs) {
    if (wanted && !wanted.has(session.stream)) continue;
    if (basis === 'net' && audienceOf({ ua: session.ua, origin: session.origin }).class !== 'human') continue;
    let stream = streams.get(session.stream);
    if (!stream) {
      stream = { minutes: new Map(), ends: [] };
      streams.set(session.stream, stream);
    }
    const tunedOut = session.end < lastTuneOut;
    if (session.end >= from && tunedOut) stream.ends.push(session.end);
    for (const event of events) {
      const d = durationMsOf(event);
      if (d <= 0) continue;
      const lo = Math.max(event.time - d, from);
      const hi = Math.min(event.time, to);
      for (let minute = bucketStart(lo, MINUTE_MS); minute < hi; minute += MINUTE_MS) {
        const ms = spreadMs(event.time, d, d, Math.max(minute, from), Math.min(minute + MINUTE_MS, to));
        if (ms > 0) stream.minutes.set(minute, (stream.minutes.get(minute) ?? 0) + ms);
      }
    }

    const plays = tallies.get(session.stream);
    if (!plays) continue;
    for (let i = firstWhere(plays, (p) => p.window.start >= session.start); i < plays.length; i++) {
      const play = plays[i]!;
      if (play.window.start >= session.end) break;
      play.atStart += 1;
    }
    const last = firstWhere(plays, (p) => p.window.start > session.end) - 1;
    if (tunedOut && last >= 0 && session.end < plays[last]!.window.end) plays[last]!.tuneOuts += 1;
    const heard = new Map<number, number>();
    for (const event of events) {
      const d = durationMsOf(event);
      if (d <= 0) continue;
      for (let i = firstWhere(plays, (p) => p.window.end > event.time - d); i < plays.length; i++) {
        const { start, end } = plays[i]!.window;
        if (start >= event.time) break;
        const ms = spreadMs(event.time, d, d, start, end);
        if (ms > 0) heard.set(i, (heard.get(i) ?? 0) + ms);
      }
    }
    for (const [i, ms] of heard) {
      if (ms < performanceMinMs) continue;
      plays[i]!.performances += 1;
      plays[i]!.ms += ms;
    }
  }

  // Local facts of each minute with listening or a tune-out, once.
  const locals = new Map<number, LocalTime>();
  const localOf = (minute: number) => {
    let local = locals.get(minute);
    if (!local) {
      local = localTime(minute, tz);
      locals.set(minute, local);
    }
    return local;
  };
  // The stream's tune-outs and listening per default daypart, over the period.
  const expected = new Map<string, Map<Daypart, number | null>>();
  const ath: TrackAth[] = [];
  for (const stream of [...streams.keys()].sort()) {
    const tally = streams.get(stream)!;
    const ms = new Map<Daypart, number>();
    const outs = new Map<Daypart, number>();
    const months = new Map<string, number>();
    for (const [minute, value] of tally.minutes) {
      const local = localOf(minute);
      for (const daypart of DEFAULT_DAYPARTS)
        if (inDaypart(local, daypart)) ms.set(daypart, (ms.get(daypart) ?? 0) + value);
      const month = `${local.year}-${String(local.month).padStart(2, '0')}`;
      months.set(month, (months.get(month) ?? 0) + value);
    }
    for (const end of tally.ends) {
      const local = localOf(bucketStart(end, MINUTE_MS));
      for (const daypart of DEFAULT_DAYPARTS)
        if (inDaypart(local, daypart)) outs.set(daypart, (outs.get(daypart) ?? 0) + 1);
    }
    const rates = new Map<Daypart, number | null>();
    for (const daypart of DEFAULT_DAYPARTS) {
      const listened = ms.get(daypart) ?? 0;
      rates.set(daypart, listened > 0 ? (outs.get(daypart) ?? 0) / (listened / HOUR_MS) : null);
    }
    expected.set(stream, rates);
    for (const month of [...months.keys()].sort()) {
      const value = months.get(month)!;
      if (value > 0) ath.push({ stream, month, ath: value / HOUR_MS });
    }
  }

  const plays: TrackPlay[] = [];
  for (const [stream, list] of tallies) {
    for (const play of list) {
      const daypart = mostSpecificDaypart(localOf(bucketStart(play.window.start, MINUTE_MS)));
      const tlh = play.ms / HOUR_MS;
      const tuneOutRate = play.ms > 0 ? play.tuneOuts / tlh : null;
      const expectedRate = daypart ? (expected.get(stream)?.get(daypart) ?? null) : null;
      plays.push({
        ...play.window.track,
        start: isoTime(play.window.start),
        end: isoTime(play.window.end),
        daypart: daypart ? daypart.name : null,
        listenersAtStart: play.atStart,
        performances: play.performances,
        tlh,
        tuneOuts: play.tuneOuts,
        tuneOutRate,
        expectedTuneOutRate: expectedRate,
        tuneOutIndex:
          tuneOutRate === null || expectedRate === null || expectedRate === 0
            ? null
            : tuneOutRate / expectedRate,
      });
    }
  }

  return {
    config: {
      ...reportConfig(
        { from, to, tz, daypart: options.daypart ?? null, basis, by: options.by ?? null },
        settings,
      ),
      performanceMin: performanceMinMs / 1000,
      kinds,
    },
    plays,
    songs: trackSongs(plays, kinds),
    shows: trackShows(plays),
    ath,
  };
}

/** What songs and shows sum over their plays (listening in integer ms, so the order of plays does not matter). */
interface PlaySums {
  plays: number;
  performances: number;
  ms: number;
  tuneOuts: number;
  indexSum: number;
  indexCount: number;
}

const newSums = (): PlaySums => ({
  plays: 0,
  performances: 0,
  ms: 0,
  tuneOuts: 0,
  indexSum: 0,
  indexCount: 0,
});

function addPlay(sums: PlaySums, play: TrackPlay): void {
  sums.plays += 1;
  sums.performances += play.performances;
  sums.ms += Math.round(play.tlh * HOUR_MS);
  sums.tuneOuts += play.tuneOuts;
  if (play.tuneOutIndex !== null) {
    sums.indexSum += play.tuneOutIndex;
    sums.indexCount += 1;
  }
}

/** The summed figures: plays, performances, listening hours, tune-outs, the mean defined tune-out index. */
function playFigures(
  sums: PlaySums,
): Pick<TrackShow, 'plays' | 'performances' | 'tlh' | 'tuneOuts' | 'tuneOutIndex'> {
  return {
    plays: sums.plays,
    performances: sums.performances,
    tlh: sums.ms / HOUR_MS,
    tuneOuts: sums.tuneOuts,
    tuneOutIndex: sums.indexCount > 0 ? sums.indexSum / sums.indexCount : null,
  };
}

/**
 * Shows over some plays: per stream and daypart of the play's start (every kind), plays,
 * performances, listening hours and tune-outs summed, the tune-out index the mean of the plays'
 * defined ones. By stream, then show.
 */
export function trackShows(plays: readonly TrackPlay[]): TrackShow[] {
  const groups = new Map<string, { stream: string; show: string; sums: PlaySums }>();
  for (const play of plays) {
    const show = play.daypart ?? 'other';
    const key = `${play.stream}\u0000${show}`;
    let group = groups.get(key);
    if (!group) {
      group = { stream: play.stream, show, sums: newSums() };
      groups.set(key, group);
    }
    addPlay(group.sums, play);
  }
  return [...groups.values()]
    .map(({ stream, show, sums }) => ({ stream, show, ...playFigures(sums) }))
    .sort((a, b) =>
      a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.show < b.show ? -1 : a.show > b.show ? 1 : 0,
    );
}

/**
 * Songs over some plays (DESIGN section 9): plays of the given kinds grouped by {@link songKey};
 * plays, performances, listening hours and tune-outs summed; the tune-out index the mean of the
 * plays' defined ones. Text fields come from the latest play. By performances (most first), then key.
 */
export function trackSongs(
  plays: readonly TrackPlay[],
  kinds: readonly TrackKind[] = ['music'],
): TrackSong[] {
  const groups = new Map<string, { latest: TrackPlay; sums: PlaySums }>();
  for (const play of plays) {
    if (!kinds.includes(play.kind)) continue;
    const key = songKey(play);
    let group = groups.get(key);
    if (!group) {
      group = { latest: play, sums: newSums() };
      groups.set(key, group);
    }
    if (compareTracks(play, group.latest) > 0) group.latest = play;
    addPlay(group.sums, play);
  }
  const songs: TrackSong[] = [];
  for (const [key, { latest, sums }] of groups) {
    const song: TrackSong = {
      key,
      artist: latest.artist,
      title: latest.title,
      kind: latest.kind,
      ...playFigures(sums),
    };
    if (latest.album !== undefined) song.album = latest.album;
    if (latest.label !== undefined) song.label = latest.label;
    if (latest.isrc !== undefined) song.isrc = latest.isrc;
    songs.push(song);
  }
  return songs.sort(
    (a, b) => b.performances - a.performances || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/**
 * The period of a track report: as given, else the listen report's default (whole quarter-hours
 * around the counted sessions of the selected streams; see `resolvePeriod`), so both reports of
 * the same options cover the same period.
 */
export function trackReportPeriod(
  runs: readonly SessionRun[],
  options: ReportOptions,
): { from: number; to: number } {
  if (options.from !== undefined && options.to !== undefined) return { from: options.from, to: options.to };
  const settings = resolveSettings(options);
  const wanted = options.streams && options.streams.length > 0 ? new Set(options.streams) : undefined;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const { session, events } of runs) {
    if ((wanted && !wanted.has(session.stream)) || !isCounted(session, settings)) continue;
    min = Math.min(min, session.start);
    max = Math.max(max, session.end);
    for (const event of events) {
      const d = durationMsOf(event);
      if (d > 0) min = Math.min(min, bucketStart(event.time - d, MINUTE_MS));
    }
  }
  return resolvePeriod(options, min === Number.POSITIVE_INFINITY ? undefined : quarterHourExtent(min, max));
}

/**
 * Track figures (DESIGN section 9) of listen events (any order, duplicates allowed) and track events
 * (any order, exact duplicates allowed; of two with one id, the later in `tracks` wins): plays with
 * their audience, songs, and ATH per stream and month. See {@link assembleTrackReport}.
 */
export function buildTrackReport(
  events: Iterable<ListenEvent>,
  tracks: Iterable<TrackEvent>,
  options: TrackReportOptions = {},
): TrackReport {
  const runs = splitSessions(events, resolveSettings(options));
  return assembleTrackReport(runs, tracks, { ...options, ...trackReportPeriod(runs, options) });
}
