import { createDb, type Db } from '@earshot/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, makeEvents, post } from '../test/helpers.js';
import { createApp, type IngestApp } from './app.js';

// The embedded path (no DATABASE_URL): the same service on in-memory PGlite, no server needed.
describe('ingest on embedded PGlite', () => {
  let db: Db;
  let ingest: IngestApp;

  beforeAll(async () => {
    db = await createDb({ url: 'memory:' });
    ingest = createApp({ db, tokens: ['t'], idleS: 300 });
  });
  afterAll(async () => {
    await ingest?.drain();
    await db?.close();
  });

  it('writes batches once, groups concurrent ones, and bumps session_state', async () => {
    const events = makeEvents(200, 'pg');
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => post(ingest.app, events, { token: 't' })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
      accepted: number;
      duplicates: number;
    }[];
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(bodies.reduce((s, b) => s + b.accepted, 0)).toBe(200);
    expect(await countRows(db)).toBe(200);
    expect(await db.query(`select count(*)::int as n from session_state`)).toEqual([{ n: 7 }]);
    expect(ingest.committer.groupsStarted).toBeLessThan(5);
  });

  it('writes nothing of a rejected batch', async () => {
    const res = await post(ingest.app, [...makeEvents(3, 'pgbad'), { session: 'x' }], {
      token: 't',
      ndjson: true,
    });
    expect(res.status).toBe(400);
    expect(await countRows(db, `id like 'pgbad-%'`)).toBe(0);
    expect(await (await ingest.app.request('/readyz')).json()).toEqual({
      ok: true,
      status: 'ready',
      db: 'ok',
      redis: 'off',
    });
  });
});
