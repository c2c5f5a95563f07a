import type { TrackEvent } from '@earshot/core';
import { createRandom, deriveSeed, type Seed, seedOf } from './random.js';

/** What {@link generateTracks} makes a programme for. */
export interface TracksOptions {
  seed: Seed;
  /** Programme start, ISO-8601 with a zone or epoch ms. */
  start: string | number;
  hours: number;
  /** Stream keys that air the programme (a simulcast: the same tracks on each). Default main-mp3 and main. */
  streams?: readonly string[];
}

// A made-up catalogue: artists, titles and ISRCs that belong to no real recording (the QZ prefix
// and registrant EAR are not assigned to Earshot; nothing is filed with them).
const CATALOGUE = Array.from({ length: 40 }, (_, i) => ({
  artist: `The ${['Quiet', 'Bright', 'Late', 'Northern', 'Velvet'][i % 5]} ${['Owls', 'Tides', 'Lanterns', 'Foxes', 'Engines', 'Rivers', 'Kites', 'Hours'][i % 8]}`,
  title: `${['Morning', 'Static', 'Paper', 'Silver', 'Open', 'Slow', 'Radio', 'Harbour'][i % 8]} ${['Light', 'Roads', 'Hearts', 'Signals', 'Rain', 'Town', 'Waves'][i % 7]}`,
  // A recording without an ISRC is identified by its album and label (37 CFR 370).
  album: i % 3 === 0 || i % 5 === 4 ? `${['First', 'Second', 'Third'][i % 3]} Album` : undefined,
  label: i % 4 === 0 || i % 5 === 4 ? 'Earshot Test Records' : undefined,
  isrc: i % 5 !== 4 ? `QZEAR26${String(10_000 + i).slice(-5)}` : undefined,
  durationS: 150 + ((i * 37) % 150),
}));

/**
 * A station's programme as track events (DESIGN section 9), seeded and deterministic: songs of a
 * made-up catalogue back to back, news (talk) after the song playing at the top of each hour and an
 * ad break after the one playing at half past,
 * the same on every stream of a simulcast. Ids are `<stream>-<n>`.
 */
export function generateTracks(options: TracksOptions): TrackEvent[] {
  const startMs = typeof options.start === 'number' ? options.start : Date.parse(options.start);
  if (!Number.isFinite(startMs)) throw new RangeError(`start is not a time: ${String(options.start)}`);
  const endMs = startMs + options.hours * 3_600_000;
  const random = createRandom(deriveSeed(seedOf(options.seed), 6, 0));
  const programme: Omit<TrackEvent, 'id' | 'stream'>[] = [];
  let t = startMs;
  let nextNews = Math.ceil(startMs / 3_600_000) * 3_600_000;
  let nextAds = nextNews - 1_800_000 > startMs ? nextNews - 1_800_000 : nextNews + 1_800_000;
  while (t < endMs) {
    if (t >= nextNews) {
      programme.push({ time: t, artist: '', title: 'News on the hour', duration: 180, kind: 'talk' });
      t += 180_000;
      nextNews += 3_600_000;
      continue;
    }
    if (t >= nextAds) {
      programme.push({ time: t, artist: '', title: 'Ad break', duration: 120, kind: 'ad' });
      t += 120_000;
      nextAds += 3_600_000;
      continue;
    }
    const song = random.pick(CATALOGUE);
    const track: Omit<TrackEvent, 'id' | 'stream'> = {
      time: t,
      artist: song.artist,
      title: song.title,
      duration: song.durationS,
      kind: 'music',
    };
    if (song.album) track.album = song.album;
    if (song.label) track.label = song.label;
    if (song.isrc) track.isrc = song.isrc;
    programme.push(track);
    t += song.durationS * 1000;
  }
  const streams = options.streams ?? ['main-mp3', 'main'];
  return streams.flatMap((stream) => programme.map((p, n) => ({ id: `${stream}-${n}`, stream, ...p })));
}
