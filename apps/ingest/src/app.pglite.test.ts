import { createEnricher, openGeoDatabase } from '@earshot/audience';
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

  it("looks up each event's country and relay/monitor range from its ip, then drops the ip", async () => {
    const app = createApp({
      db,
      tokens: ['t'],
      idleS: 300,
      listenerSalt: 'a-salt-of-at-least-16-chars',
      enrich: createEnricher({
        geo: openGeoDatabase(),
        ranges: { relay: ['198.51.100.0/24'], monitor: ['2001:db8::/32'] },
      }),
    });
    const base = { stream: 'geo', output: 'shoutcast', time: Date.now() - 1000, duration: 30, bytes: 1000 };
    const res = await post(
      app.app,
      [
        { ...base, id: 'geo-de', session: 'geo-de', ip: '80.156.1.2' },
        { ...base, id: 'geo-relay', session: 'geo-relay', ip: '198.51.100.7' },
        { ...base, id: 'geo-monitor', session: 'geo-monitor', ip: '2001:db8::5' },
        { ...base, id: 'geo-private', session: 'geo-private', ip: '10.1.2.3' },
        { ...base, id: 'geo-none', session: 'geo-none' },
      ],
      { token: 't' },
    );
    expect(res.status).toBe(200);
    await app.drain();
    expect(
      await db.query(`select session, country, origin, listener is not null as keyed from listen_events
        where stream = 'geo' order by session`),
    ).toEqual([
      { session: 'geo-de', country: 'DE', origin: null, keyed: true },
      { session: 'geo-monitor', country: null, origin: 'monitor', keyed: true },
      { session: 'geo-none', country: null, origin: null, keyed: false },
      { session: 'geo-private', country: null, origin: null, keyed: true },
      { session: 'geo-relay', country: null, origin: 'relay', keyed: true },
    ]);
    // No column holds an address.
    const columns = await db.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_name = 'listen_events'`,
    );
    expect(columns.map((c) => c.column_name)).not.toContain('ip');
    // The IP database is named on /metrics.
    const metrics = await (
      await app.app.request('/metrics', { headers: { authorization: 'Bearer t' } })
    ).text();
    expect(metrics).toMatch(
      /earshot_geo_database_info\{package="@ip-location-db\/iptoasn-country-mmdb",version="[\d.]+",built_at="\d{4}-[^"]+"\} 1/,
    );
  });

  it('refuses country and origin from a client: ingest sets them', async () => {
    const res = await post(
      ingest.app,
      [
        {
          session: 'x',
          stream: 'geo',
          output: 'shoutcast',
          time: Date.now(),
          duration: 1,
          bytes: 1,
          country: 'US',
        },
      ],
      { token: 't' },
    );
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('country');
  });
});
