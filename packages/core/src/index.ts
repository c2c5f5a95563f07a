/**
 * @earshot/core: the pure math of listener analytics for internet radio. Listen events in; sessions,
 * minutes, quarter-hours, AQH, cume, TLH, AAS, ATSL and TSL out, by daypart and in any IANA time zone.
 * No I/O, no dependencies, no Node APIs: it runs in Node, a browser or an edge worker unchanged.
 */
export * from './clock.js';
export * from './csv.js';
export * from './daypart.js';
export * from './event.js';
export * from './event-store.js';
export * from './ip.js';
export * from './report.js';
export * from './sessions.js';
export * from './zone.js';
