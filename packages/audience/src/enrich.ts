import type { ListenEvent } from '@earshot/core';
import type { GeoDatabase } from './geo.js';
import { createOriginOf, type IpRanges } from './ranges.js';

/**
 * Sets an event's `country` and `origin` from its `ip` (leaving either unset when nothing is
 * known). It does not remove `ip`: the caller does, once it has made the listener key.
 */
export interface Enricher {
  (event: ListenEvent): void;
  /** The IP database in use, or null when country lookups are off. */
  geo: GeoDatabase | null;
}

/** An enricher over an IP database (or none) and the configured relay and monitor ranges. */
export function createEnricher(options: { geo: GeoDatabase | null; ranges: IpRanges }): Enricher {
  const { geo } = options;
  const originOf = createOriginOf(options.ranges);
  const enrich = (event: ListenEvent): void => {
    const ip = event.ip;
    if (ip === undefined || ip === '') return;
    const country = geo ? geo.country(ip) : null;
    if (country !== null) event.country = country;
    const origin = originOf(ip);
    if (origin !== null) event.origin = origin;
  };
  return Object.assign(enrich, { geo }) as Enricher;
}
