/**
 * @earshot/audience: who a listening session was. Country from the IP (an MMDB database that ships
 * as an npm package, read once from disk), relay or monitor origin from configured IP ranges, the
 * bot/relay/monitor/human class and the device, OS and player from the user agent. Node only; every
 * function is synchronous once constructed, and nothing is ever downloaded at run time.
 */
export {
  type AgentRules,
  AUDIENCE_CACHE_SIZE,
  createAudienceOf,
  NO_AGENT_RULES,
  parseAgentPatterns,
} from './agents.js';
export { type ClientDescription, describeClient } from './client.js';
export { createEnricher, type Enricher } from './enrich.js';
export { GEO_DATABASE_PACKAGE, type GeoDatabase, type GeoInfo, geoInfo, openGeoDatabase } from './geo.js';
export { createOriginOf, type IpRanges, parseIpRanges } from './ranges.js';
