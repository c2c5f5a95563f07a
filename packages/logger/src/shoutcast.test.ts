import type { ListenEvent } from '@earshot/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCallbackSink } from './callback-sink.js';
import { createListenLogger } from './listen-logger.js';
import { createSegmentLedger } from './shoutcast.js';

const T0 = Date.parse('2026-11-28T10:00:00.000Z');

function setup() {
  const events: ListenEvent[] = [];
  let n = 0;
  const listen = createListenLogger({
    sink: createCallbackSink((event) => {
      events.push(event);
    }),
    newId: () => `id-${++n}`,
  });
  return { events, listen };
}

describe('Shoutcast tracker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('emits the bytes and seconds of each 30 s tick, and the remainder on close', () => {
    const { events, listen } = setup();
    // 128 kbit/s = 16 000 bytes per second.
    const tracker = listen.shoutcast({
      stream: 'live-mp3',
      session: 'S',
      bitrateKbps: 128,
      ua: 'VLC/3',
      ip: '203.0.113.5',
    });
    tracker.accepted(16_000 * 2); // a 2 s burst on connect
    vi.advanceTimersByTime(10_000);
    tracker.accepted(16_000 * 28);
    vi.advanceTimersByTime(20_000);
    expect(events).toEqual([
      {
        id: 'id-1',
        session: 'S',
        stream: 'live-mp3',
        output: 'shoutcast',
        time: T0 + 30_000,
        duration: 30,
        bytes: 480_000,
        ua: 'VLC/3',
        ip: '203.0.113.5',
      },
    ]);
    tracker.accepted(16_000 * 30);
    vi.advanceTimersByTime(30_000);
    tracker.accepted(8_000); // half a second more, then the listener leaves
    vi.advanceTimersByTime(12_000);
    tracker.close();
    expect(events.map((e) => [e.time - T0, e.duration, e.bytes])).toEqual([
      [30_000, 30, 480_000],
      [60_000, 30, 480_000],
      [72_000, 0.5, 8_000],
    ]);
    expect(tracker.seconds).toBe(60.5);
  });

  it('skips ticks with nothing delivered and emits nothing more after close', () => {
    const { events, listen } = setup();
    const tracker = listen.shoutcast({ stream: 'live-mp3', bitrateKbps: 64, tickMs: 5000 });
    vi.advanceTimersByTime(15_000);
    expect(events).toEqual([]);
    tracker.accepted(8_000);
    tracker.close();
    tracker.close();
    tracker.accepted(8_000);
    vi.advanceTimersByTime(15_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ session: 'id-1', duration: 1, bytes: 8_000, time: T0 + 15_000 });
    expect(events[0]).not.toHaveProperty('ua');
  });

  it('turns bytes into seconds from the running total, so a non-linear secondsOf never drifts', () => {
    const { events, listen } = setup();
    // 1000-byte frames of 0.026 s each; a partial frame counts nothing yet.
    const tracker = listen.shoutcast({
      stream: 's',
      secondsOf: (bytes) => Math.floor(bytes / 1000) * 0.026,
      tickMs: 1000,
    });
    for (let i = 0; i < 10; i++) {
      tracker.accepted(1500);
      vi.advanceTimersByTime(1000);
    }
    tracker.close();
    expect(events.reduce((sum, e) => sum + e.bytes, 0)).toBe(15_000);
    expect(events.reduce((sum, e) => sum + e.duration, 0)).toBeCloseTo(0.39, 6);
    expect(events[0]).toMatchObject({ bytes: 1500, duration: 0.026 });
  });

  it('replaces a session id ingest would refuse (control characters, too long, empty) with a new one', () => {
    const { events, listen } = setup();
    for (const session of ['tab\there', 'x'.repeat(129), '', 'new\nline']) {
      const tracker = listen.shoutcast({ stream: 'live-mp3', session, bitrateKbps: 64 });
      expect(tracker.session).toMatch(/^id-\d+$/);
      tracker.accepted(8000);
      tracker.close();
    }
    expect(new Set(events.map((e) => e.session)).size).toBe(4);
    for (const e of events) expect(e.session).toMatch(/^id-\d+$/);
  });

  it('refuses to start without a way to turn bytes into seconds', () => {
    const { listen } = setup();
    expect(() => listen.shoutcast({ stream: 's' })).toThrow(/bitrateKbps/);
  });
});

describe('segment ledger', () => {
  it('credits a segment once, forgets the least recently used past its size, and restores from its entries', () => {
    const ledger = createSegmentLedger(10);
    expect(ledger.claim('s\n1', 6)).toBe(6);
    expect(ledger.claim('s\n1', 6)).toBe(0);
    expect(ledger.claim('s\n1', 8)).toBe(2);
    for (let i = 2; i <= 10; i++) ledger.claim(`s\n${i}`, 6);
    // Re-used: 1 is now the most recent; the 11th claim forgets the oldest tenth (2), not 1.
    ledger.claim('s\n1', 8);
    ledger.claim('s\n11', 6);
    const kept = ledger.entries().map(([k]) => k);
    expect(kept).toHaveLength(9);
    expect(kept).not.toContain('s\n2');
    expect(kept.slice(-2)).toEqual(['s\n1', 's\n11']);
    expect(ledger.entries(2)).toEqual([
      ['s\n1', 8],
      ['s\n11', 6],
    ]);
    const restored = createSegmentLedger(10, ledger.entries());
    expect(restored.claim('s\n11', 6)).toBe(0);
    expect(restored.claim('s\n2', 6)).toBe(6);
  });
});
