import type { TrackEvent } from '@earshot/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from './client.js';
import { type Driver, openTestDb } from './testing/index.js';
import { insertTracks, readTracks } from './tracks.js';

const T0 = Date.UTC(2026, 10, 2, 9, 0);
const MIN = 60_000;

const track = (id: string, stream: string, time: number, over: Partial<TrackEvent> = {}): TrackEvent => ({
  id,
  stream,
  time,
  artist: 'Artist',
  title: `Title ${id}`,
  kind: 'music',
  ...over,
});

describe.each<Driver>(['postgres', 'pglite'])('stream_tracks on %s', (driver) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb(driver));
  });
  afterAll(async () => {
    await dispose?.();
  });
  beforeEach(async () => {
    await db.query('truncate stream_tracks');
  });

  it('stores every field, and reads them back as core track events', async () => {
    const full = track('a', 'rock', T0, {
      album: 'Album',
      isrc: 'USRC17607839',
      label: 'Label',
      duration: 213.5,
    });
    const talk = track('b', 'rock', T0 + 4 * MIN, { artist: '', title: 'News', kind: 'talk' });
    expect(await insertTracks(db, [full, talk])).toEqual({ inserted: 2, replaced: 0, unchanged: 0 });
    expect(await readTracks(db, { from: T0, to: T0 + 10 * MIN })).toEqual([full, talk]);
  });

  it('adds nothing on a retry, and replaces a stored row on a changed event with its id', async () => {
    const first = [track('a', 'rock', T0), track('b', 'rock', T0 + MIN)];
    await insertTracks(db, first, { receivedAt: T0 });
    expect(await insertTracks(db, first)).toEqual({ inserted: 0, replaced: 0, unchanged: 2 });
    const [{ received }] = (await db.query<{ received: string }>(
      `select (extract(epoch from received_at) * 1000)::bigint::text as received from stream_tracks where id = 'a'`,
    )) as [{ received: string }];
    expect(Number(received)).toBe(T0); // the retry wrote nothing

    const corrected = track('b', 'rock', T0 + 2 * MIN, { title: 'Corrected', duration: 180 });
    expect(await insertTracks(db, [corrected, track('c', 'rock', T0 + 5 * MIN)])).toEqual({
      inserted: 1,
      replaced: 1,
      unchanged: 0,
    });
    const read = await readTracks(db, { from: T0, to: T0 + 10 * MIN });
    expect(read.map((t) => [t.id, t.time, t.title])).toEqual([
      ['a', T0, 'Title a'],
      ['b', T0 + 2 * MIN, 'Corrected'],
      ['c', T0 + 5 * MIN, 'Title c'],
    ]);
    // A field dropped in the correction is dropped from the row.
    await insertTracks(db, [track('b', 'rock', T0 + 2 * MIN, { title: 'Corrected' })]);
    expect((await readTracks(db, { from: T0, to: T0 + 10 * MIN }))[1]).not.toHaveProperty('duration');
  });

  it('keeps the last event of an id repeated in one batch', async () => {
    const result = await insertTracks(db, [
      track('a', 'rock', T0),
      track('a', 'rock', T0, { title: 'Later' }),
    ]);
    expect(result).toEqual({ inserted: 1, replaced: 0, unchanged: 1 });
    expect((await readTracks(db, { from: T0, to: T0 + MIN })).map((t) => t.title)).toEqual(['Later']);
  });

  it('reads the period in (stream, time, id) order with the track still playing at its start', async () => {
    await insertTracks(db, [
      track('r1', 'rock', T0 - 30 * MIN),
      track('r2', 'rock', T0 - 3 * MIN), // playing at T0 on rock
      track('r3', 'rock', T0 + 2 * MIN),
      track('r4z', 'rock', T0 + 5 * MIN),
      track('r4a', 'rock', T0 + 5 * MIN),
      track('r5', 'rock', T0 + 10 * MIN), // at `to`: outside
      track('j1', 'jazz', T0 - 60 * MIN), // playing at T0 on jazz
      track('j2', 'jazz', T0), // starts at `from`: in the period
      track('n1', 'news', T0 - 120 * MIN), // playing at T0 on news
      track('x1', 'talk', T0 + 20 * MIN), // after the period only
    ]);
    const ids = async (streams?: string[]) =>
      (await readTracks(db, { streams, from: T0, to: T0 + 10 * MIN })).map((t) => t.id);
    expect(await ids()).toEqual(['j1', 'j2', 'n1', 'r2', 'r3', 'r4a', 'r4z']);
    expect(await ids(['rock', 'talk'])).toEqual(['r2', 'r3', 'r4a', 'r4z']);
    expect(await ids(['news'])).toEqual(['n1']);
    expect(await ids([])).toEqual([]);
    expect(await readTracks(db, { from: T0 + 10 * MIN, to: T0 })).toEqual([]);
  });

  it('writes nothing for an empty batch and refuses U+0000', async () => {
    expect(await insertTracks(db, [])).toEqual({ inserted: 0, replaced: 0, unchanged: 0 });
    await expect(insertTracks(db, [track('a', 'rock', T0, { title: 'a\u0000b' })])).rejects.toThrow(
      /U\+0000 in title/,
    );
  });
});
