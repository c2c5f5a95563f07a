// Shoutcast DNAS 2 is proprietary and not installable here: these tests replay RECORDINGS written
// from the DNAS's documented XML format (fixtures/README.md), served over real HTTP. They have not
// been run against a live DNAS.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShoutcastCollector } from './collector.js';
import { parseDnasBitrate, parseDnasListeners } from './dnas.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const T0 = Date.UTC(2026, 11, 3, 7, 0, 10, 400);

describe('Shoutcast DNAS 2 (recorded responses, not a live DNAS)', () => {
  let server: Server;
  let url: string;
  let page3 = 'page3-a.xml';
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      if (req.headers.authorization !== `Basic ${Buffer.from('admin:dnas-admin').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      const page = new URL(req.url ?? '/', 'http://x').searchParams.get('page');
      res.writeHead(200, { 'content-type': 'text/xml' }).end(fixture(page === '1' ? 'page1.xml' : page3));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('parses the documented listener list and bitrate', () => {
    const parsed = parseDnasListeners(fixture('page3-a.xml'));
    expect(parsed).toEqual({
      ok: true,
      value: [
        { uid: '12', ip: '203.0.113.7', ua: 'WinampMPEG/5.66, Ultravox/2.1', connectedS: 95 },
        { uid: '15', ip: '198.51.100.23', ua: 'VLC/3.0.18 LibVLC/3.0.18', connectedS: 14 },
      ],
    });
    expect(parseDnasBitrate(fixture('page1.xml'))).toBe(128);
    expect(parseDnasListeners('<icestats/>').ok).toBe(false);
  });

  it('ticks every listener, closes the one that left at its last sighting, ids stable across a restart', async () => {
    let clock = T0;
    const events: ListenEvent[] = [];
    const make = () =>
      createShoutcastCollector({
        url,
        adminPassword: 'dnas-admin',
        stream: 'dnas-128',
        server: 'dnas1',
        tickS: 30,
        sink: createCallbackSink((e) => {
          events.push(e);
        }),
        now: () => clock,
      });
    const first = make();
    const a = await first.runOnce();
    expect(a).toMatchObject({ polled: true, listeners: 2, closed: 0 });
    // UID 12 connected at 06:58:35 (95 s before 07:00:10): ticks at 06:59:00, 06:59:30, 07:00:00.
    const uid12 = events.filter((e) => e.session === `shoutcast:dnas1:1:12:${(T0 - 400) / 1000 - 95}`);
    expect(uid12.map((e) => [new Date(e.time).toISOString(), e.duration, e.bytes])).toEqual([
      ['2026-12-03T06:59:00.000Z', 25, 400_000],
      ['2026-12-03T06:59:30.000Z', 30, 480_000],
      ['2026-12-03T07:00:00.000Z', 30, 480_000],
    ]);
    expect(uid12[0]).toMatchObject({ stream: 'dnas-128', output: 'shoutcast', ip: '203.0.113.7' });

    // 30 s later UID 15 is gone, UID 16 is new.
    clock = T0 + 30_000;
    page3 = 'page3-b.xml';
    const b = await first.runOnce();
    expect(b).toMatchObject({ polled: true, listeners: 2, closed: 1 });
    const uid15 = events.filter((e) => e.session.includes(':15:'));
    expect(uid15.reduce((s, e) => s + e.duration, 0)).toBe(14);

    // A collector started afresh makes the same ids and times for what is still listed.
    const before = new Map(events.map((e) => [e.id, e.time]));
    const count = events.length;
    await make().runOnce();
    const again = events.slice(count).filter((e) => e.session.includes(':12:'));
    expect(again.length).toBeGreaterThan(0);
    for (const e of again) expect(before.get(e.id as string)).toBe(e.time);
    expect(seen.every((s) => s.includes('mode=viewxml'))).toBe(true);
  });

  it('runs a cycle at start() and after every tick boundary until stop()', async () => {
    page3 = 'page3-a.xml';
    let cycles = 0;
    const c = createShoutcastCollector({
      url,
      adminPassword: 'dnas-admin',
      stream: 'dnas-128',
      tickS: 1,
      sink: createCallbackSink(() => {}),
      now: () => {
        cycles++;
        return Date.now();
      },
    });
    c.start();
    const until = Date.now() + 5000;
    while (cycles < 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await c.stop();
    // Two clock readings per page, two pages per cycle: at least two cycles ran.
    expect(cycles).toBeGreaterThanOrEqual(6);
    expect(c.connections().length).toBe(2);
  });
});
