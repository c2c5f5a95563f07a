import { DEFAULT_SESSION_SETTINGS, type ListenEvent, splitSessions } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { tickWithinIdle } from './tick.js';

describe('tickWithinIdle', () => {
  it('keeps a tick of at most half of idle', () => {
    expect(tickWithinIdle(30, 300)).toEqual({ tickS: 30, lowered: false });
    expect(tickWithinIdle(30, 60)).toEqual({ tickS: 30, lowered: false });
  });

  it('lowers a tick above half of idle to idle / 2', () => {
    expect(tickWithinIdle(30, 40)).toEqual({ tickS: 20, lowered: true });
    expect(tickWithinIdle(30, 10)).toEqual({ tickS: 5, lowered: true });
  });

  it('keeps an MP3 listen in one session, which a tick at idle would split', () => {
    const idleS = 20;
    const eventsEvery = (tickS: number): ListenEvent[] =>
      Array.from({ length: 10 }, (_, i) => ({
        session: 'S',
        stream: 'live-mp3',
        output: 'shoutcast' as const,
        // A timer a little late, as under load.
        time: 1_790_000_000_000 + (i + 1) * (tickS * 1000 + 50),
        duration: tickS,
        bytes: tickS * 8000,
      }));
    const settings = { ...DEFAULT_SESSION_SETTINGS, idleS };
    expect(splitSessions(eventsEvery(30), settings)).toHaveLength(10);
    expect(splitSessions(eventsEvery(tickWithinIdle(30, idleS).tickS), settings)).toHaveLength(1);
  });

  it('refuses nonsense', () => {
    expect(() => tickWithinIdle(0, 300)).toThrow(RangeError);
    expect(() => tickWithinIdle(30, Number.NaN)).toThrow(RangeError);
  });
});
