import { describe, expect, it } from 'vitest';
import { summarizeTotals } from './metrics.js';

describe('summarizeTotals', () => {
  it('computes the README example: five AM drives, one listener qualified in two QHs for 1,200 s', () => {
    expect(
      summarizeTotals({
        stream: 'main',
        listeningMs: 1_200_000,
        qualified: 2,
        quarterHours: 80,
        activeSessions: 1,
        sessionStarts: 1,
        cume: 1,
        excluded: { bot: 2, relay: 1, monitor: 0 },
        leftRunning: 0,
      }),
    ).toEqual({
      stream: 'main',
      quarterHours: 80,
      aqh: 2 / 80,
      aas: 1200 / (80 * 900),
      tlh: 1200 / 3600,
      cume: 1,
      activeSessions: 1,
      sessionStarts: 1,
      atsl: 1200,
      tsl: 1200 / 3600,
      tslNielsen: 0.5,
      excludedBot: 2,
      excludedRelay: 1,
      excludedMonitor: 0,
      leftRunning: 0,
    });
  });
});
