import { createRequire } from 'node:module';
import type IpAddr from 'ipaddr.js';
import type * as MaxMind from 'maxmind';

// ipaddr.js and maxmind are CommonJS. Importing one from this ESM package makes Node start its
// CommonJS loader and module lexer, about 40 ms of CPU and 10 MB in every process that imports
// the package, whether or not it ever looks at an IP (an offline report of a file without IPs does
// not). So they are required at their first use: parsing an IP range, opening the IP database.
const require = createRequire(import.meta.url);

let ipaddr: typeof IpAddr | undefined;
let maxmind: typeof MaxMind | undefined;

/** The ipaddr.js module, loaded by the first call. */
export function loadIpaddr(): typeof IpAddr {
  ipaddr ??= require('ipaddr.js') as typeof IpAddr;
  return ipaddr;
}

/** The maxmind module (the MMDB reader), loaded by the first call. */
export function loadMaxmind(): typeof MaxMind {
  maxmind ??= require('maxmind') as typeof MaxMind;
  return maxmind;
}
