import { type Db, readTracks } from '@earshot/db';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type IngestApp } from '../src/app.js';
import { makeTracks, post, T0, TOKEN } from './helpers.js';

const logger = pino({ level: 'silent' });
const tracksPath = { path: '/v1/tracks' };
const readAll = (db: Db) => readTracks(db, { from: T0 - 86_400_000, to: T0 + 86_400_000 });

/** POST /v1/tracks against a migrated database `open` makes (PostgreSQL or PGlite). */
export function describeTracksRoute(name: string, open: () => Promise<{ db: Db; dispose(): Promise<void> }>) {
  describe(`POST /v1/tracks on ${name}`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let ingest: IngestApp;

    beforeAll(async () => {
      ({ db, dispose } = await open());
      ingest = createApp({ db, tokens: [TOKEN], idleS: 300, maxBodyBytes: 64 * 1024, maxBatch: 50, logger });
    });
    afterAll(async () => {
      await ingest?.drain();
      await dispose?.();
    });
    beforeEach(async () => {
      await db.query('truncate stream_tracks');
    });

    it('stores a batch once: a retry adds nothing, a changed event with a stored id replaces it', async () => {
      const tracks = makeTracks(3, 'a', (i) => (i === 0 ? { isrc: 'us-rc1-76-07839', album: 'LP' } : {}));
      const first = await post(ingest.app, tracks, tracksPath);
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ accepted: 3, replaced: 0, duplicates: 0 });
      const retry = await post(ingest.app, tracks, { ...tracksPath, ndjson: true, gzip: true });
      expect(await retry.json()).toEqual({ accepted: 0, replaced: 0, duplicates: 3 });
      const corrected = {
        ...tracks[1],
        title: 'Tone 1 (corrected)',
        time: new Date(T0 + 90_000).toISOString(),
      };
      const third = await post(ingest.app, [corrected, ...makeTracks(1, 'b')], tracksPath);
      expect(await third.json()).toEqual({ accepted: 1, replaced: 1, duplicates: 0 });
      const stored = await readAll(db);
      expect(stored.map((t) => [t.id, t.time, t.title])).toEqual([
        ['a-0', T0, 'Tone 0'],
        ['b-0', T0, 'Tone 0'],
        ['a-1', T0 + 90_000, 'Tone 1 (corrected)'],
        ['a-2', T0 + 120_000, 'Tone 2'],
      ]);
      expect(stored[0]).toEqual({ ...tracks[0], isrc: 'USRC17607839' });

      const metrics = await (
        await ingest.app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      expect(metrics).toMatch(/^earshot_ingest_tracks_accepted_total 4$/m);
      expect(metrics).toMatch(/^earshot_ingest_tracks_replaced_total 1$/m);
      expect(metrics).toMatch(/^earshot_ingest_tracks_duplicate_total 3$/m);
      expect(metrics).toContain('earshot_ingest_requests_total{route="/v1/tracks",status="200"} 3');
    });

    it('refuses a batch with bad tracks with 400 naming index, field and reason, and writes none of it', async () => {
      const tracks = makeTracks(4, 'bad');
      tracks[1] = { ...tracks[1], kind: 'song', extra: 1 };
      tracks[3] = { ...tracks[3], artist: '', time: Date.now() + 3_600_000 };
      const res = await post(ingest.app, tracks, tracksPath);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; issues: unknown[] };
      expect(body.error).toBe('invalid batch: 2 of 4 track events are bad; nothing was written');
      expect(body.issues).toEqual([
        { index: 1, field: 'extra', reason: 'is not a track-event field' },
        { index: 1, field: 'kind', reason: 'must be one of music, talk, ad, other' },
        { index: 3, field: 'artist', reason: 'must be 1..512 characters' },
      ]);
      const ahead = await post(
        ingest.app,
        makeTracks(1, 'ahead', () => ({ time: Date.now() + 3_600_000 })),
        tracksPath,
      );
      expect(await ahead.json()).toMatchObject({
        issues: [
          { index: 0, field: 'time', reason: "is more than 300 s in the future (check the sender's clock)" },
        ],
      });
      expect(await readAll(db)).toEqual([]);
    });

    it('takes the bodies, tokens and limits of /v1/events', async () => {
      expect((await post(ingest.app, makeTracks(1), { ...tracksPath, token: 'wrong' })).status).toBe(401);
      expect((await post(ingest.app, makeTracks(1), { ...tracksPath, token: null })).status).toBe(401);
      expect(
        (await post(ingest.app, makeTracks(1), { ...tracksPath, contentType: 'text/plain' })).status,
      ).toBe(415);
      const notArray = await post(ingest.app, makeTracks(1)[0], tracksPath);
      expect(notArray.status).toBe(400);
      expect(await notArray.json()).toMatchObject({ error: 'body must be a JSON array of track events' });
      const badLine = await post(ingest.app, `${JSON.stringify(makeTracks(1)[0])}\n{nope`, {
        ...tracksPath,
        contentType: 'application/x-ndjson',
      });
      expect(badLine.status).toBe(400);
      expect(await badLine.json()).toMatchObject({ issues: [{ index: 1, field: '' }] });
      expect((await post(ingest.app, makeTracks(51), tracksPath)).status).toBe(413);
      expect(await readAll(db)).toEqual([]);
      const doc = (await (await ingest.app.request('/openapi.json')).json()) as { paths: object };
      expect(Object.keys(doc.paths)).toContain('/v1/tracks');
    });

    it('answers 503 after drain began and writes nothing', async () => {
      const app = createApp({ db, tokens: [TOKEN], idleS: 300, logger });
      const inFlight = post(app.app, makeTracks(2, 'late'), tracksPath);
      await app.drain();
      expect((await inFlight).status).toBe(200); // drain waited for it
      const res = await post(app.app, makeTracks(1, 'after'), tracksPath);
      expect(res.status).toBe(503);
      expect((await readAll(db)).map((t) => t.id)).toEqual(['late-0', 'late-1']);
    });
  });
}
