import type { ListenEvent } from '@earshot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../client.js';
import { insertEvents } from '../events.js';
import { type Driver, openTestDb, type TestDb } from '../testing/index.js';
import { liveListeners } from './live.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const S = 1000;

const event = (e: Partial<ListenEvent> & Pick<ListenEvent, 'session' | 'stream' | 'time' | 'duration'>) =>
  ({ output: 'shoutcast', bytes: Math.round(e.duration * 16_000), ...e }) as ListenEvent;

/** A Shoutcast listener connected at `from`: a tick every `tickS` until `to`, then the remainder. */
function shoutcast(session: string, from: number, to: number, tickS = 30): ListenEvent[] {
  const events: ListenEvent[] = [];
  let t = from;
  while (t + tickS * S <= to) {
    t += tickS * S;
    events.push(event({ session, stream: 'live-mp3', time: t, duration: tickS }));
  }
  if (to > t) events.push(event({ session, stream: 'live-mp3', time: to, duration: (to - t) / S }));
  return events;
}

/**
 * An HLS player from `from`: the master playlist's zero-duration event, three 6 s segments at once
 * (the start of its buffer), then one per segment with the jitter of a playlist reload, `segments`
 * in all.
 */
function hls(session: string, from: number, segments: number): ListenEvent[] {
  const base = { session, output: 'hls' as const };
  const events: ListenEvent[] = [event({ ...base, stream: 'live', time: from, duration: 0, bytes: 0 })];
  const jitterMs = [0, 2900, 400, 1500, 2000, 100];
  for (let i = 0; i < segments; i++) {
    const time = i < 3 ? from + 300 * (i + 1) : from + (i - 2) * 6 * S + (jitterMs[i % jitterMs.length] ?? 0);
    events.push(event({ ...base, stream: 'live-64k', time, duration: 6 }));
  }
  return events;
}

/** `count` moments from `from` (inclusive) to `to` (exclusive), a step that falls on every phase of a tick. */
function moments(from: number, to: number, stepMs: number): number[] {
  const out: number[] = [];
  for (let t = from; t < to; t += stepMs) out.push(t);
  return out;
}

async function peopleAt(db: Db, now: number, options = {}): Promise<Record<string, number>> {
  const rows = await liveListeners(db, now, options);
  return Object.fromEntries(rows.filter((r) => r.listeners > 0).map((r) => [r.stream, r.listeners]));
}

describe.each<Driver>(['postgres', 'pglite'])('live listeners on %s', (driver) => {
  let test: TestDb;
  let db: Db;

  beforeAll(async () => {
    test = await openTestDb(driver);
    db = test.db;
  });
  afterAll(() => test?.dispose());

  it('reads one steady Shoutcast listener (30 s ticks) as 1 at every moment', async () => {
    const from = T0;
    const to = T0 + 10 * 60 * S;
    await insertEvents(db, shoutcast('mp3-steady', from, to), { idleS: 300 });
    // Before its first tick nothing is known of it yet.
    expect(await peopleAt(db, from + 29 * S)).toEqual({});
    const sampled = moments(from + 30 * S, to, 1700);
    expect(sampled.length).toBeGreaterThan(300);
    for (const now of sampled)
      expect({ now, live: await peopleAt(db, now) }).toEqual({ now, live: { 'live-mp3': 1 } });
    // Beside it, the seconds of the last minute / 60 (all of this listener's ticks are stored).
    expect(await liveListeners(db, from + 5 * 60 * S)).toEqual([
      { stream: 'live-mp3', listeners: 1, listeningNow: 1 },
    ]);
  });

  it('reads one HLS listener (6 s segments) as 1 under its group key at every moment', async () => {
    const from = T0 + 3600 * S;
    const events = hls('hls-steady', from, 100);
    await insertEvents(db, events, { idleS: 300 });
    const last = Math.max(...events.map((e) => e.time));
    const sampled = moments(from, last, 700);
    expect(sampled.length).toBeGreaterThan(800);
    for (const now of sampled)
      expect({ now, live: await peopleAt(db, now) }).toEqual({ now, live: { live: 1 } });
  });

  it('drops a listener who stopped once its gap has passed: 1.5 x the longer of its last two durations + 5 s', async () => {
    const from = T0 + 2 * 3600 * S;
    // Shoutcast: ticks, then a close 8 s after the last tick (8 s of remainder): gap 50 s from the tick's 30 s.
    const mp3 = shoutcast('mp3-stops', from, from + 128 * S);
    // HLS: the last segment's 6 s: gap 14 s.
    const segs = hls('hls-stops', from, 20);
    await insertEvents(db, [...mp3, ...segs], { idleS: 300 });
    const mp3End = from + 128 * S;
    const hlsEnd = Math.max(...segs.map((e) => e.time));
    expect(await peopleAt(db, mp3End + 50 * S)).toMatchObject({ 'live-mp3': 1 });
    expect(await peopleAt(db, mp3End + 50 * S + 1)).not.toHaveProperty('live-mp3');
    expect(await peopleAt(db, hlsEnd + 14 * S)).toMatchObject({ live: 1 });
    expect(await peopleAt(db, hlsEnd + 14 * S + 1)).not.toHaveProperty('live');
    expect(await peopleAt(db, Math.max(mp3End, hlsEnd) + 60 * S)).toEqual({});
    // The seconds figure goes on for its minute after they left.
    const rows = await liveListeners(db, mp3End + 55 * S);
    expect(rows.find((r) => r.stream === 'live-mp3')).toMatchObject({ listeners: 0 });
    expect(rows.find((r) => r.stream === 'live-mp3')?.listeningNow).toBeGreaterThan(0);
  });

  it('keeps a listener whose last event is short: a probe of another variant, a segment cut off', async () => {
    const from = T0 + 4 * 3600 * S;
    const base = { output: 'hls' as const, session: 'hls-probe' };
    await insertEvents(
      db,
      [
        event({ ...base, stream: 'live', time: from, duration: 0, bytes: 0 }),
        event({ ...base, stream: 'live-32k', time: from + 30, duration: 6 }),
        // ffmpeg's probe of the other variant, credited 0 s (as the station's players test shows).
        event({ ...base, stream: 'live-64k', time: from + 35, duration: 0, bytes: 0 }),
        event({ ...base, stream: 'live-32k', time: from + 6 * S, duration: 6 }),
        // Cut off after 0.5 s (pro rata), the player switching variants.
        event({ ...base, stream: 'live-64k', time: from + 12 * S, duration: 0.5 }),
      ],
      { idleS: 300 },
    );
    // Its last event 5.5 s ago is the probe (0 s), the segment before it gives the 6 s cadence.
    expect(await peopleAt(db, from + 5.5 * S)).toEqual({ live: 1 });
    expect(await peopleAt(db, from + 12 * S + 14 * S)).toEqual({ live: 1 });
    expect(await peopleAt(db, from + 12 * S + 14 * S + 1)).toEqual({});
  });

  it('counts people, one per session, and bounds the gap by idle', async () => {
    const from = T0 + 3 * 3600 * S;
    await insertEvents(
      db,
      [
        ...shoutcast('mp3-a', from, from + 300 * S),
        ...shoutcast('mp3-b', from + 7 * S, from + 300 * S),
        ...hls('hls-a', from, 50),
        ...hls('hls-b', from + 2 * S, 50),
        ...hls('hls-c', from + 4 * S, 50),
        // A 10-minute tick: its next event would be 10 minutes on, but live ends idle after it.
        event({ session: 'slow', stream: 'slow-tick', time: from + 600 * S, duration: 600 }),
      ],
      { idleS: 300 },
    );
    expect(await peopleAt(db, from + 200 * S)).toEqual({ 'live-mp3': 2, live: 3 });
    expect(await peopleAt(db, from + 900 * S)).toEqual({ 'slow-tick': 1 });
    expect(await peopleAt(db, from + 900 * S + 1)).toEqual({});
    // A shorter idle bounds it sooner; a larger slack keeps a quiet session longer.
    expect(await peopleAt(db, from + 700 * S, { idleS: 60 })).toEqual({});
    const hlsEnd = from + 4 * S + 47 * 6 * S + 2900;
    expect(await peopleAt(db, hlsEnd + 20 * S)).not.toHaveProperty('live');
    expect(await peopleAt(db, hlsEnd + 20 * S, { gapSlackS: 30 })).toMatchObject({ live: 3 });
  });

  it('counts people only: bots by user agent, relays and monitors by IP range or agent are left out', async () => {
    const from = T0 + 5 * 3600 * S;
    const to = from + 300 * S;
    const as = (events: ListenEvent[], extra: Partial<ListenEvent>) =>
      events.map((e) => ({ ...e, ...extra }));
    await insertEvents(
      db,
      [
        ...as(shoutcast('person', from, to), { ua: 'VLC/3.0.21 LibVLC/3.0.21' }),
        ...as(shoutcast('crawler', from, to), { ua: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }),
        ...as(shoutcast('relay-ip', from, to), { ua: 'VLC/3.0.21 LibVLC/3.0.21', origin: 'relay' }),
        ...as(shoutcast('probe', from, to), {
          ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 StationProbe',
        }),
      ],
      { idleS: 300 },
    );
    const now = from + 200 * S;
    // The station's probe looks like a browser to isbot: the station names it as its monitoring.
    expect(await peopleAt(db, now)).toEqual({ 'live-mp3': 2 });
    expect(
      await peopleAt(db, now, {
        agents: { botAgents: [], relayAgents: [], monitorAgents: ['StationProbe'] },
      }),
    ).toEqual({
      'live-mp3': 1,
    });
    expect(
      await liveListeners(db, now, {
        agents: { botAgents: [], relayAgents: [], monitorAgents: ['stationprobe'] },
      }),
    ).toEqual([{ stream: 'live-mp3', listeners: 1, listeningNow: 1 }]);
  });
});
