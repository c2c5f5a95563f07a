import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudienceOf, createEnricher, NO_AGENT_RULES, openGeoDatabase } from '@earshot/audience';
import {
  buildReport,
  buildTrackReport,
  type ListenEvent,
  parseEvent,
  type Report,
  SOUNDEXCHANGE_COLUMNS,
  type TrackReport,
} from '@earshot/core';
import { readTracks } from '@earshot/db';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSalt, type RunningAllInOne, startAllInOne } from '../src/start.js';

const SETTINGS = { idleS: 2, minSessionS: 60, maxSessionS: 86_400, aqhQualifierS: 300 };
const RANGES = { relay: ['198.51.100.0/24'], monitor: [] };
const INGEST = 'ingest-token-for-tests';
const READ = 'read-token-for-tests';

/**
 * Two Shoutcast listeners (one under the 60 s minimum) and one HLS session from a German address,
 * ending now; and two that are no people: a crawler (a bot by its user agent) and the station's
 * relay (by its address, in RANGES). Events are 1 s apart so that a 2 s idle keeps each session
 * whole and the test waits seconds, not minutes.
 */
function events(now: number): ListenEvent[] {
  const out: ListenEvent[] = [];
  const start = now - 100_000;
  for (let i = 1; i <= 90; i++) {
    out.push({
      id: `a-${i}`,
      session: 'a',
      stream: 'live-mp3',
      output: 'shoutcast',
      time: start + i * 1000,
      duration: 1,
      bytes: 8000,
      listener: 'L1',
    });
  }
  for (let i = 1; i <= 30; i++) {
    out.push({
      id: `b-${i}`,
      session: 'b',
      stream: 'live-mp3',
      output: 'shoutcast',
      time: start + i * 1000,
      duration: 1,
      bytes: 8000,
      listener: 'L2',
    });
  }
  out.push({
    id: 'c-0',
    session: 'c',
    stream: 'live',
    output: 'hls',
    time: start,
    duration: 0,
    bytes: 0,
    ip: '80.156.1.2',
    ua: 'VLC/3.0',
  });
  for (let i = 1; i <= 75; i++) {
    out.push({
      id: `c-${i}`,
      session: 'c',
      stream: 'live-64k',
      output: 'hls',
      time: start + i * 1000,
      duration: 1,
      bytes: 8000,
      ip: '80.156.1.2',
      ua: 'VLC/3.0',
    });
  }
  const tick = (session: string, i: number, extra: Partial<ListenEvent>): ListenEvent => ({
    id: `${session}-${i}`,
    session,
    stream: 'live-mp3',
    output: 'shoutcast',
    time: start + i * 1000,
    duration: 1,
    bytes: 8000,
    ...extra,
  });
  for (let i = 1; i <= 80; i++) {
    out.push(tick('bot', i, { ip: '66.249.66.1', ua: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }));
    out.push(tick('relay', i, { ip: '198.51.100.7', ua: 'Liquidsoap/2.1.3 (Unix; OCaml 4.14.0)' }));
  }
  return out;
}

describe('all in one process on embedded PGlite, no Redis', () => {
  let dir: string;
  let running: RunningAllInOne;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-aio-'));
    running = await startAllInOne({
      dataDir: join(dir, 'db'),
      host: '127.0.0.1',
      stationPort: 0,
      ingestPort: 0,
      reportsPort: 0,
      ingestTokens: [INGEST],
      readTokens: [READ],
      listenerSalt: 'a-salt-of-at-least-16-chars',
      ...SETTINGS,
      sweepS: 1,
      tz: 'UTC',
      ranges: RANGES,
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await running?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a made listener salt beside the database, private, and reuses it', async () => {
    const first = await loadOrCreateSalt(join(dir, 'salt'), undefined);
    const second = await loadOrCreateSalt(join(dir, 'salt'), undefined);
    expect(first.created).toBe(true);
    expect(second).toEqual({ salt: first.salt, created: false });
    expect((await stat(join(dir, 'salt', 'listener-salt'))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateSalt(join(dir, 'salt'), 'from-the-environment')).toEqual({
      salt: 'from-the-environment',
      created: false,
    });
  });

  it("stores the station's tracks: each tone, announced through its HTTP sink to ingest's /v1/tracks", async () => {
    const tones = ['Tone A (440 Hz)', 'Tone C# (554 Hz)', 'Tone E (659 Hz)'];
    const now = Date.now();
    const stored = async () =>
      (await readTracks(running.db, { from: now - 60_000, to: now + 60_000 })).filter(
        (t) => t.stream === 'live',
      );
    let tracks = await stored();
    // The tone playing at start, then one every 6 s; the sink flushes within a second.
    for (let i = 0; i < 40 && tracks.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 250));
      tracks = await stored();
    }
    expect(tracks.length).toBeGreaterThanOrEqual(1);
    for (const track of tracks) {
      expect(track).toMatchObject({ artist: 'Earshot Demo', kind: 'music', duration: 6 });
      expect(tones).toContain(track.title);
      expect(track.time % 6000).toBe(0);
    }
    const mp3 = await readTracks(running.db, { streams: ['live-mp3'], from: now - 60_000, to: now + 60_000 });
    expect(mp3.length).toBeGreaterThanOrEqual(1);
  });

  it('serves the station, takes events, finalizes them by the sweep and reports what core computes', async () => {
    const station = await fetch(`${running.stationUrl}/hls/live.m3u8`);
    expect(station.status).toBe(200);
    expect(await station.text()).toContain('#EXTM3U');

    const sent = events(Date.now());
    const post = await fetch(`${running.ingestUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
      body: JSON.stringify(sent),
    });
    expect(post.status).toBe(200);
    expect(await post.json()).toMatchObject({ accepted: sent.length, duplicates: 0 });

    const unauthorized = await fetch(`${running.reportsUrl}/v1/report`);
    expect(unauthorized.status).toBe(401);

    // Ingest replaced the ip by a listener key (and looked up its country and range first); the
    // offline report needs the same key, and does the same lookups.
    const stored = await running.db.query<{ session: string; listener: string | null }>(
      'select distinct session, listener from listen_events order by session',
    );
    const keyOf = new Map(stored.map((r) => [r.session, r.listener ?? undefined]));
    expect(keyOf.get('c')).toMatch(/^[0-9a-f]{16,}$/);
    const enrich = createEnricher({ geo: openGeoDatabase(), ranges: RANGES });
    const offlineEvents = sent.map((e) => {
      const copy = { ...e };
      enrich(copy);
      const { ip: _ip, country, origin, ...rest } = copy;
      const parsed = parseEvent({ ...rest, listener: e.listener ?? keyOf.get(e.session) });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      return { ...parsed.event, ...(country ? { country } : {}), ...(origin ? { origin } : {}) };
    });
    const audience = createAudienceOf(NO_AGENT_RULES);
    const offline = buildReport(offlineEvents, { ...SETTINGS, audience });
    const offlineGross = buildReport(offlineEvents, { ...SETTINGS, audience, basis: 'gross' });

    expect(offline.sessions).toHaveLength(2);
    const read = async (query: string): Promise<Report> => {
      const response = await fetch(`${running.reportsUrl}/v1/report?${query}`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      expect(response.status, await response.clone().text()).toBe(200);
      return (await response.json()) as Report;
    };
    const period = `from=${offline.config.from}&to=${offline.config.to}`;
    let report: Report | undefined;
    for (let i = 0; i < 60; i++) {
      report = await read(`${period}&gross=true`);
      if (report.sessions.length === offlineGross.sessions.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(report).toEqual(offlineGross);
    expect(await read(period)).toEqual(offline);
    expect(offline.sessions.map((s) => [s.session, s.stream, s.duration, s.country, s.player])).toEqual([
      ['c', 'live', 75, 'DE', 'VLC'],
      ['a', 'live-mp3', 90, null, 'unknown'],
    ]);
    // Gross and net differ by exactly the crawler's and the relay's sessions.
    const ids = (r: Report) => r.sessions.map((s) => `${s.session}:${s.class}`).sort();
    expect(ids(offlineGross).filter((id) => !ids(offline).includes(id))).toEqual(['bot:bot', 'relay:relay']);
    const mp3 = (r: Report) => r.summary.find((s) => s.stream === 'live-mp3')!;
    expect(mp3(offlineGross).activeSessions - mp3(offline).activeSessions).toBe(2);
    expect(mp3(offlineGross).tlh - mp3(offline).tlh).toBeCloseTo(160 / 3600, 12);
    expect([mp3(offline).excludedBot, mp3(offline).excludedRelay]).toEqual([1, 1]);
    // The breakdown by country, from the database, as offline.
    expect((await read(`${period}&by=country&parts=breakdown`)).breakdown).toEqual(
      buildReport(offlineEvents, { ...SETTINGS, audience, by: 'country' }).breakdown,
    );

    // The track figures of the station's tones over these sessions: the API's (from the stored
    // tracks and the stored sessions' raw events) equal core's offline, net and gross.
    // Two songs on the MP3 stream and a show on HLS while these sessions played, posted as a
    // playout system would (the station's own tones follow them, from its start).
    const start = sent[0]!.time - 1000;
    const posted = [
      {
        id: 'song-1',
        stream: 'live-mp3',
        time: start,
        artist: 'Nina Simone',
        title: 'Feeling Good',
        isrc: 'GBF086500040',
        kind: 'music',
      },
      {
        id: 'song-2',
        stream: 'live-mp3',
        time: start + 40_000,
        artist: 'Miles Davis',
        title: 'So What',
        album: 'Kind of Blue',
        label: 'Columbia',
        kind: 'music',
      },
      { id: 'show-1', stream: 'live', time: start, artist: '', title: 'Morning Show', kind: 'talk' },
    ];
    const postTracks = await fetch(`${running.ingestUrl}/v1/tracks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
      body: JSON.stringify(posted),
    });
    expect(postTracks.status, await postTracks.clone().text()).toBe(200);
    const from = Date.parse(offline.config.from);
    const to = Date.parse(offline.config.to);
    const tracks = await readTracks(running.db, { from, to });
    expect(tracks.map((t) => t.id)).toEqual(expect.arrayContaining(['song-1', 'song-2', 'show-1']));
    const readTrackReport = async (query: string): Promise<TrackReport> => {
      const response = await fetch(`${running.reportsUrl}/v1/tracks?${period}${query}`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      expect(response.status, await response.clone().text()).toBe(200);
      return (await response.json()) as TrackReport;
    };
    const netTracks = buildTrackReport(offlineEvents, tracks, { ...SETTINGS, audience, from, to });
    const grossTracks = buildTrackReport(offlineEvents, tracks, {
      ...SETTINGS,
      audience,
      from,
      to,
      basis: 'gross',
    });
    expect(await readTrackReport('')).toEqual(netTracks);
    expect(await readTrackReport('&gross=true')).toEqual(grossTracks);
    const performances = (r: TrackReport) => r.plays.reduce((n, p) => n + p.performances, 0);
    expect(performances(netTracks)).toBeGreaterThan(0);
    // The crawler and the relay listened to both songs: two performances more each, gross.
    const song = (r: TrackReport, id: string) => r.plays.find((p) => p.id === id)!;
    expect(song(grossTracks, 'song-1').performances - song(netTracks, 'song-1').performances).toBe(2);
    expect(song(grossTracks, 'song-2').performances - song(netTracks, 'song-2').performances).toBe(2);
    expect(song(netTracks, 'song-1').performances).toBe(2); // a and b (b, 30 s, is a short session)
    expect(performances(grossTracks)).toBeGreaterThan(performances(netTracks));
    const tsv = await fetch(
      `${running.reportsUrl}/v1/soundexchange?${period}&service=EARSHOT-DEMO&category=A`,
      { headers: { authorization: `Bearer ${READ}` } },
    );
    expect(tsv.status).toBe(200);
    const rows = (await tsv.text()).trimEnd().split('\n');
    expect(rows[0]!.split('\t')).toEqual([...SOUNDEXCHANGE_COLUMNS]);
    expect(rows.slice(1).map((r) => r.split('\t').length)).toEqual(netTracks.songs.map(() => 8));
  });
});
