import { parseTrack } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { generateTracks } from './tracks.js';

describe('generateTracks', () => {
  const options = { seed: 'programme', start: '2026-11-03T05:00:00-05:00', hours: 5 };

  it('makes a valid programme: songs back to back, news on the hour, ads at half past, on each stream', () => {
    const tracks = generateTracks(options);
    for (const t of tracks)
      expect(parseTrack({ ...t, time: new Date(t.time).toISOString() })).toEqual({ ok: true, track: t });
    const mp3 = tracks.filter((t) => t.stream === 'main-mp3');
    expect(tracks.filter((t) => t.stream === 'main').map(({ id: _i, stream: _s, ...rest }) => rest)).toEqual(
      mp3.map(({ id: _i, stream: _s, ...rest }) => rest),
    );
    for (let i = 1; i < mp3.length; i++)
      expect(mp3[i]!.time).toBe(mp3[i - 1]!.time + mp3[i - 1]!.duration! * 1000);
    // The news follows the song playing when the hour strikes, within its length (at most 5 min).
    const news = mp3.filter((t) => t.kind === 'talk').map((t) => t.time);
    expect(news.map((t) => new Date(t).toISOString().slice(11, 13))).toEqual(['10', '11', '12', '13', '14']);
    for (const t of news) expect(t % 3_600_000).toBeLessThan(300_000);
    expect(mp3.filter((t) => t.kind === 'ad')).toHaveLength(5);
    expect(mp3.filter((t) => t.kind === 'music').length).toBeGreaterThan(60);
  });

  it('is the same for the same seed', () => {
    expect(generateTracks(options)).toEqual(generateTracks(options));
    expect(generateTracks({ ...options, seed: 'other' })).not.toEqual(generateTracks(options));
  });
});
