import type { ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { createEnricher } from './enrich.js';
import { openGeoDatabase } from './geo.js';

const event = (ip?: string): ListenEvent => ({
  session: 's1',
  stream: 'main',
  output: 'shoutcast',
  time: 1_767_225_600_000,
  duration: 10,
  bytes: 160_000,
  ...(ip === undefined ? {} : { ip }),
});

describe('createEnricher', () => {
  const ranges = { relay: ['8.8.4.0/24'], monitor: ['10.0.0.0/8'] };
  const enrich = createEnricher({ geo: openGeoDatabase(), ranges });

  it('sets the country and origin from the IP, and keeps the IP', () => {
    const e = event('8.8.4.4');
    enrich(e);
    expect(e).toMatchObject({ ip: '8.8.4.4', country: 'US', origin: 'relay' });
  });

  it('sets only what it knows', () => {
    const listener = event('193.0.6.139');
    enrich(listener);
    expect(listener.country).toBe('NL');
    expect('origin' in listener).toBe(false);

    const monitor = event('10.20.30.40');
    enrich(monitor);
    expect(monitor.origin).toBe('monitor');
    expect('country' in monitor).toBe(false);

    const none = event();
    enrich(none);
    expect(none).toEqual(event());

    const garbage = event('unknown');
    enrich(garbage);
    expect(garbage).toEqual(event('unknown'));
  });

  it('exposes its database, and works without one', () => {
    expect(enrich.geo).toBe(openGeoDatabase());
    const originOnly = createEnricher({ geo: null, ranges });
    expect(originOnly.geo).toBeNull();
    const e = event('8.8.4.4');
    originOnly(e);
    expect(e.origin).toBe('relay');
    expect('country' in e).toBe(false);
  });
});
