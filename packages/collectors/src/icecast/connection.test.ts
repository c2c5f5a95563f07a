import { describe, expect, it } from 'vitest';
import { type Connection, closeEvents, sessionIdOf, tickEvents } from './connection.js';

const T = 30_000;
const start = Date.UTC(2026, 11, 3, 6, 0, 7);

function connection(over: Partial<Connection> = {}): Connection {
  return {
    session: sessionIdOf('radio', 1_796_000_000, '17'),
    idBase: 'icecast\u001fradio\u001f1796000000\u001f17',
    epochS: 1_796_000_000,
    clientId: '17',
    mount: '/live.mp3',
    stream: 'live-mp3',
    startMs: start,
    bytesPerS: 16_000,
    tickedMs: start,
    lastSeenMs: start,
    ip: '203.0.113.5',
    ua: 'VLC/3.0.18',
    ...over,
  };
}

describe('Icecast connection events', () => {
  it('ticks on the shared clock boundaries, the first one partial', () => {
    const c = connection();
    const events = tickEvents(c, start + 70_000, T);
    expect(events.map((e) => [e.time - start, e.duration, e.bytes])).toEqual([
      [23_000, 23, 368_000],
      [53_000, 30, 480_000],
    ]);
    expect(c.tickedMs).toBe(start + 53_000);
    expect(events[0]).toMatchObject({
      session: 'icecast:radio:1796000000:17',
      stream: 'live-mp3',
      output: 'shoutcast',
    });
    expect(events[0]?.ip).toBe('203.0.113.5');
    // Nothing new until the next boundary.
    expect(tickEvents(c, start + 80_000, T)).toEqual([]);
  });

  it('makes the same ids and times again for the same connection (a restart adds nothing)', () => {
    const a = tickEvents(connection(), start + 100_000, T);
    const b = tickEvents(connection(), start + 100_000, T);
    expect(b).toEqual(a);
    expect(new Set(a.map((e) => e.id)).size).toBe(a.length);
  });

  it('closes with the remainder: durations add up to the seconds connected, bytes to the logged total', () => {
    const c = connection();
    const live = tickEvents(c, start + 60_000, T);
    const close = closeEvents(c, start + 95_000, T, 1_600_123);
    const all = [...live, ...close];
    expect(all.reduce((s, e) => s + e.duration, 0)).toBe(95);
    expect(all.reduce((s, e) => s + e.bytes, 0)).toBe(1_600_123);
    // The ticks the collector missed are made at close; the close covers (last boundary, end].
    expect(close.map((e) => [e.time - start, e.duration])).toEqual([
      [83_000, 30],
      [95_000, 12],
    ]);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.time - all[i]!.duration * 1000).toBeGreaterThanOrEqual(all[i - 1]!.time);
    }
  });

  it('never gives the close fewer than 0 bytes when the estimate ran ahead', () => {
    const c = connection();
    const close = closeEvents(c, start + 40_000, T, 10);
    expect(close.at(-1)?.bytes).toBe(0);
  });

  it('keeps the logged total when the rate changes mid-connection, and caps a close ingest would refuse', () => {
    const c = connection({ bytesPerS: 0 });
    const early = tickEvents(c, start + 60_000, T);
    c.bytesPerS = 8000; // the source's rate became known
    const close = closeEvents(c, start + 100_000, T, 900_000);
    expect([...early, ...close].reduce((s, e) => s + e.bytes, 0)).toBe(900_000);
    // Two hours with no rate known, then 115 MB in a 17 s close: over 1 MB/s + 1 MiB, so capped.
    const blind = connection({ bytesPerS: 0 });
    tickEvents(blind, start + 7_200_000, T);
    const last = closeEvents(blind, start + 7_210_000, T, 115_000_000).at(-1);
    expect(last?.duration).toBe(17);
    expect(last?.bytes).toBe(17 * 1_000_000 + 1024 * 1024 - 1);
  });

  it('keeps session ids within 128 characters', () => {
    expect(sessionIdOf('x'.repeat(200), 1_796_000_000, '123456').length).toBeLessThanOrEqual(128);
  });
});
