import { describe, expect, it } from 'vitest';
import type { AudienceOf } from './audience.js';
import type { ListenEvent } from './event.js';
import type { TrackEvent } from './track.js';
import {
  SOUNDEXCHANGE_COLUMNS,
  soundExchangeRows,
  soundExchangeTsv,
  TRACK_COLUMNS,
  trackCsv,
} from './track-export.js';
import { buildTrackReport, listeningInWindow, spreadMs, trackPlays } from './tracks.js';

const at = (h: number, m: number, s = 0) => Date.UTC(2026, 10, 2, h, m, s); // Monday 2026-11-02

/** A Shoutcast listener ticking every 30 s over `(from, to]`. */
function ticks(session: string, from: number, to: number, extra: Partial<ListenEvent> = {}): ListenEvent[] {
  const events: ListenEvent[] = [];
  for (let t = from + 30_000; t <= to; t += 30_000) {
    events.push({
      id: `${session}-${t}`,
      session,
      stream: 'main',
      output: 'shoutcast',
      time: t,
      duration: 30,
      bytes: 1000,
      ...extra,
    });
  }
  return events;
}

const songA: TrackEvent = {
  id: 'a',
  stream: 'main',
  time: at(8, 0),
  artist: 'Artist A',
  title: 'Song A',
  isrc: 'USRC17607839',
  album: 'Album A',
  label: 'Label A',
  duration: 180,
  kind: 'music',
};
const songB: TrackEvent = {
  id: 'b',
  stream: 'main',
  time: at(8, 3),
  artist: 'Artist B',
  title: 'Song B',
  duration: 200,
  kind: 'music',
};

// s1 listens throughout, s2 leaves mid-song A, s3 joins late in song A and leaves during song B.
const events = [
  ...ticks('s1', at(7, 58), at(8, 10)),
  ...ticks('s2', at(7, 59), at(8, 1, 30)),
  ...ticks('s3', at(8, 2), at(8, 5)),
];
const period = { from: at(8, 0), to: at(9, 0) };

describe('spreadMs (cumulative-floor placement)', () => {
  it('spreads D ms over an L ms interval so that adjacent windows add up to D exactly', () => {
    // D = 10 over (0, 3]: cum(x) = floor(10x / 3): 3, 6, 10.
    expect([spreadMs(3, 3, 10, 0, 1), spreadMs(3, 3, 10, 1, 2), spreadMs(3, 3, 10, 2, 3)]).toEqual([3, 3, 4]);
    expect(spreadMs(3, 3, 10, -5, 100)).toBe(10);
    expect(spreadMs(3, 3, 10, 3, 10)).toBe(0);
    let sum = 0;
    for (let a = 0; a < 7_000; a += 7) sum += spreadMs(7_000, 7_000, 2_999, a, a + 7);
    expect(sum).toBe(2_999);
  });

  it('is the overlap for a listen event, whose audio fills its interval', () => {
    const event = ticks('x', at(8, 0), at(8, 0, 30))[0]!;
    expect(listeningInWindow([event], at(8, 0, 10), at(8, 0, 25))).toBe(15_000);
    expect(listeningInWindow([event], at(8, 0, 25), at(9, 0))).toBe(5_000);
  });
});

describe('buildTrackReport', () => {
  it('works out a 3-minute song with one listener leaving mid-song and one joining late', () => {
    const report = buildTrackReport(events, [songB, songA], period);
    const [a, b] = report.plays;
    expect(a).toMatchObject({
      id: 'a',
      start: '2026-11-02T08:00:00.000Z',
      end: '2026-11-02T08:03:00.000Z',
      daypart: 'AM drive',
      listenersAtStart: 2, // s1, s2
      performances: 3, // s1 180 s, s2 90 s, s3 60 s
      tuneOuts: 1, // s2
    });
    expect(a!.tlh).toBeCloseTo(330 / 3600, 12);
    expect(b).toMatchObject({
      id: 'b',
      start: '2026-11-02T08:03:00.000Z',
      end: '2026-11-02T08:06:20.000Z', // its duration: the stream's last track
      listenersAtStart: 2, // s1, s3
      performances: 2, // s1 200 s, s3 120 s
      tuneOuts: 1, // s3
    });
    expect(b!.tlh).toBeCloseTo(320 / 3600, 12);
    // Expected: 3 sessions end in the period's AM drive, over 600 + 90 + 180 s of listening.
    const expected = 3 / (870 / 3600);
    expect(a!.expectedTuneOutRate).toBeCloseTo(expected, 9);
    expect(a!.tuneOutRate).toBeCloseTo(1 / (330 / 3600), 9);
    expect(a!.tuneOutIndex).toBeCloseTo(870 / (3 * 330), 9);
    expect(b!.tuneOutIndex).toBeCloseTo(870 / (3 * 320), 9);
    expect(report.ath).toEqual([{ stream: 'main', month: '2026-11', ath: 870 / 3600 }]);
    expect(report.songs.map((s) => [s.key, s.plays, s.performances])).toEqual([
      ['USRC17607839', 1, 3],
      ['artist b - song b', 1, 2],
    ]);
    expect(report.config).toMatchObject({
      from: '2026-11-02T08:00:00.000Z',
      performanceMin: 0,
      basis: 'net',
    });
  });

  it('counts a performance only from performanceMinS of listening', () => {
    const report = buildTrackReport(events, [songA, songB], { ...period, performanceMinS: 61 });
    expect(report.plays.map((p) => p.performances)).toEqual([2, 2]); // s3's 60 s in song A is too little
    expect(report.plays[0]!.tlh).toBeCloseTo(270 / 3600, 12);
    expect(report.config.performanceMin).toBe(61);
  });

  it('counts short sessions too (any portion heard is a performance)', () => {
    const short = ticks('s9', at(8, 0), at(8, 0, 30)); // 30 s, under minSession
    const report = buildTrackReport([...events, ...short], [songA, songB], period);
    expect(report.plays[0]!.performances).toBe(4);
  });

  it('ends the last track at the period end when its duration is unknown, and clips to the period', () => {
    const { duration: _, ...noDuration } = songB;
    const plays = trackPlays([songA, noDuration], period).get('main')!;
    expect(plays.map((p) => [p.start, p.end])).toEqual([
      [at(8, 0), at(8, 3)],
      [at(8, 3), at(9, 0)],
    ]);
    const clipped = trackPlays([songA], { from: at(7, 0), to: at(8, 1) }).get('main')!;
    expect(clipped[0]!.end).toBe(at(8, 1));
    expect(trackPlays([songA], { from: at(8, 0, 1), to: at(9, 0) }).size).toBe(0);
  });

  it('takes a correction (same id, other content) from the later track event', () => {
    const { isrc: _isrc, ...withoutIsrc } = songA;
    const wrong: TrackEvent = { ...withoutIsrc, title: 'Wrong title' };
    const later = buildTrackReport(events, [wrong, songB, songA, songA], period);
    expect(later.plays.map((p) => p.title)).toEqual(['Song A', 'Song B']);
    const earlier = buildTrackReport(events, [songA, songB, wrong], period);
    expect(earlier.plays.map((p) => p.title)).toEqual(['Wrong title', 'Song B']);
  });

  it('lets a track on a group key cover the sessions of its variants', () => {
    // An HLS session: the master-playlist start event on the group key, then segments of a variant.
    const hls: ListenEvent[] = [
      { id: 'h0', session: 'h', stream: 'main', output: 'hls', time: at(8, 0), duration: 0, bytes: 0 },
      ...[1, 2, 3, 4, 5, 6].map(
        (k): ListenEvent => ({
          id: `h${k}`,
          session: 'h',
          stream: 'main-128k',
          output: 'hls',
          time: at(8, 0) + k * 30_000,
          duration: 30,
          bytes: 1000,
        }),
      ),
    ];
    const onVariant = { ...songA, id: 'v', stream: 'main-128k' };
    const report = buildTrackReport(hls, [songA, onVariant], period);
    expect(report.plays.find((p) => p.stream === 'main')!.performances).toBe(1);
    expect(report.plays.find((p) => p.stream === 'main-128k')!.performances).toBe(0);
  });

  it('leaves bots out of net figures and counts them in gross', () => {
    const audience: AudienceOf = (client) => ({
      class: client.ua?.includes('bot') ? 'bot' : 'human',
      device: 'unknown',
      os: 'unknown',
      player: 'unknown',
    });
    const bot = ticks('bot', at(7, 55), at(8, 20), { ua: 'Googlebot/2.1' });
    const all = [...events, ...bot];
    const net = buildTrackReport(all, [songA, songB], { ...period, audience });
    const gross = buildTrackReport(all, [songA, songB], { ...period, audience, basis: 'gross' });
    expect(net.plays.map((p) => p.performances)).toEqual([3, 2]);
    expect(gross.plays.map((p) => p.performances)).toEqual([4, 3]);
    expect(gross.plays[0]!.tlh).toBeCloseTo(510 / 3600, 12);
    expect(gross.config.basis).toBe('gross');
    expect(net.ath[0]!.ath).toBeCloseTo(870 / 3600, 12);
    expect(gross.ath[0]!.ath).toBeCloseTo((870 + 1200) / 3600, 12);
  });

  it('groups a song by artist and title case-insensitively when it has no ISRC, music only by default', () => {
    const again = { ...songB, id: 'b2', time: at(8, 30), artist: 'ARTIST B ', title: 'song b' };
    const talk: TrackEvent = {
      id: 't',
      stream: 'main',
      time: at(8, 40),
      artist: '',
      title: 'News',
      kind: 'talk',
    };
    const report = buildTrackReport(events, [songA, songB, again, talk], period);
    const b = report.songs.find((s) => s.key === 'artist b - song b')!;
    expect(b.plays).toBe(2);
    expect(b.title).toBe('song b'); // from the latest play
    expect(report.songs.some((s) => s.kind === 'talk')).toBe(false);
    expect(report.plays.some((p) => p.kind === 'talk')).toBe(true);
    const withTalk = buildTrackReport(events, [songA, talk], { ...period, kinds: ['music', 'talk'] });
    expect(withTalk.songs.map((s) => s.kind).sort()).toEqual(['music', 'talk']);
  });

  it('counts no tune-out for a session that ends less than idle before the period ends (it may still be running)', () => {
    const toEnd = [...events, ...ticks('s4', at(8, 50), at(8, 58))];
    const late: TrackEvent = { ...songB, id: 'late', time: at(8, 45), duration: 900 };
    const report = buildTrackReport(toEnd, [songA, songB, late], period);
    const play = report.plays.find((p) => p.id === 'late')!;
    expect(play.performances).toBe(1);
    expect(play.tuneOuts).toBe(0); // s4 ends at 08:58, 2 min before the period's end, idle 5 min
    const longer = buildTrackReport(toEnd, [songA, songB, late], { ...period, to: at(9, 30) });
    expect(longer.plays.find((p) => p.id === 'late')!.tuneOuts).toBe(1);
  });

  it('sums the plays of each stream and daypart into shows, talk and music alike', () => {
    // 2026-11-02 is a Monday: 08:00 UTC is AM drive (06:00-10:00) in UTC, 03:00 Overnight in New York.
    const talk: TrackEvent = {
      id: 't',
      stream: 'main',
      time: at(8, 40),
      artist: '',
      title: 'News',
      kind: 'talk',
    };
    const report = buildTrackReport(events, [songA, songB, talk], period);
    expect(report.shows).toEqual([
      {
        stream: 'main',
        show: 'AM drive',
        plays: 3,
        performances: report.plays.reduce((n, p) => n + p.performances, 0),
        tlh: expect.closeTo(
          report.plays.reduce((n, p) => n + p.tlh, 0),
          12,
        ),
        tuneOuts: report.plays.reduce((n, p) => n + p.tuneOuts, 0),
        tuneOutIndex: expect.any(Number),
      },
    ]);
    const ny = buildTrackReport(events, [songA, songB, talk], { ...period, tz: 'America/New_York' });
    expect(ny.shows.map((x) => [x.show, x.plays])).toEqual([['Overnight', 3]]);
  });

  it('defaults the period to the quarter-hours around the counted sessions, as the listen report does', () => {
    const report = buildTrackReport(events, [songA, songB]);
    expect(report.config.from).toBe('2026-11-02T07:45:00.000Z');
    expect(report.config.to).toBe('2026-11-02T08:15:00.000Z');
  });
});

describe('track exports', () => {
  const report = buildTrackReport(events, [songA, songB], period);

  it('writes each part as CSV with its columns', () => {
    const csv = trackCsv(report, 'plays').trimEnd().split('\n');
    expect(csv[0]).toBe(TRACK_COLUMNS.plays.join(','));
    expect(csv).toHaveLength(3);
    expect(trackCsv(report, 'ath')).toBe(`stream,month,ath\nmain,2026-11,${870 / 3600}\n`);
  });

  it('writes a SoundExchange report of use: one row per recording, the template columns', () => {
    const songs = [
      ...report.songs,
      { ...report.songs[0]!, key: 'x', kind: 'talk' as const },
      { ...report.songs[1]!, key: 'y', title: 'Tab\there\nnewline' },
    ];
    const rows = soundExchangeRows(songs, { service: 'WXYZ-FM', category: 'B' });
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({
      NAME_OF_SERVICE: 'WXYZ-FM',
      TRANSMISSION_CATEGORY: 'B',
      FEATURED_ARTIST: 'Artist A',
      SOUND_RECORDING_TITLE: 'Song A',
      ISRC: 'USRC17607839',
      ALBUM_TITLE: 'Album A',
      MARKETING_LABEL: 'Label A',
      ACTUAL_TOTAL_PERFORMANCES: '3',
    });
    const lines = soundExchangeTsv(songs, { service: 'WXYZ-FM', category: 'B' }).trimEnd().split('\n');
    expect(lines[0]!.split('\t')).toEqual([...SOUNDEXCHANGE_COLUMNS]);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line.split('\t')).toHaveLength(SOUNDEXCHANGE_COLUMNS.length);
    expect(lines[3]).toContain('Tab here newline');
  });
});
