import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isIpv4, isIpv6, normalizeIp, proxyHops, resolveClientIp } from './ip.js';

// Addresses and non-addresses, checked against node:net (which ingest uses) so that the logger
// never sends an `ip` that ingest refuses, and never drops one it would take.
const SAMPLES = [
  '0.0.0.0',
  '127.0.0.1',
  '255.255.255.255',
  '203.0.113.5',
  '256.1.1.1',
  '1.2.3',
  '1.2.3.4.5',
  '01.2.3.4',
  '1.2.3.04',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '::',
  '::1',
  '1::',
  '2001:db8::1',
  '2001:DB8:0:0:0:0:0:1',
  '2001:db8:0:0:0:0:0:0:1',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1::2:3:4:5:6:7',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1::2::3',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:',
  '12345::1',
  'g::1',
  '::ffff:203.0.113.5',
  '::203.0.113.5',
  '1::203.0.113.5',
  '1:2:3:4:5:6:203.0.113.5',
  '1:2:3:4:5:6:7:203.0.113.5',
  '1:2:3:4:5::203.0.113.5',
  '::ffff:256.1.1.1',
  '::ffff:1.2.3',
  '2001:db8::1.2.3.4:5',
  ':',
  ':::',
  '',
  'unknown',
  '_hidden',
  'localhost',
  '1.2.3.4:80',
  '[::1]',
];

describe('isIpv4 and isIpv6', () => {
  it('agree with node:net on every sample', () => {
    for (const sample of SAMPLES) {
      expect([sample, isIpv4(sample)]).toEqual([sample, isIP(sample) === 4]);
      expect([sample, isIpv6(sample)]).toEqual([sample, isIP(sample) === 6]);
    }
  });
});

describe('normalizeIp', () => {
  it('returns only addresses that node:net reads as IPv4 or IPv6', () => {
    for (const sample of SAMPLES) {
      const ip = normalizeIp(sample);
      if (ip !== undefined) expect([sample, isIP(ip)]).not.toEqual([sample, 0]);
    }
  });

  it('strips ports, brackets, zones and blanks, unmaps IPv4-mapped IPv6, lower-cases IPv6', () => {
    expect(normalizeIp(' 203.0.113.5 ')).toBe('203.0.113.5');
    expect(normalizeIp('203.0.113.5:5678')).toBe('203.0.113.5');
    expect(normalizeIp('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(normalizeIp('[2001:db8::1]')).toBe('2001:db8::1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(normalizeIp('0:0:0:0:0:FFFF:203.0.113.5')).toBe('203.0.113.5');
    expect(normalizeIp('::ffff:cb00:7105')).toBe('203.0.113.5');
    expect(normalizeIp('2001:DB8::A')).toBe('2001:db8::a');
    // Eight groups: the last one is part of the address, not a port.
    expect(normalizeIp('2001:db8::1:80')).toBe('2001:db8::1:80');
  });

  it('drops what is not an address', () => {
    for (const value of [
      'unknown',
      '_hidden',
      'localhost',
      '',
      '   ',
      '1.2.3.4:port',
      '[::1',
      '999.1.1.1:80',
      null,
      undefined,
    ]) {
      expect(normalizeIp(value)).toBeUndefined();
    }
  });
});

describe('resolveClientIp', () => {
  const socket = '10.0.0.2'; // the proxy

  it('takes the socket address and ignores X-Forwarded-For unless a proxy is trusted', () => {
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor: '198.51.100.7' }, false)).toBe(socket);
    expect(resolveClientIp({ remoteAddress: `::ffff:${socket}` }, false)).toBe(socket);
  });

  it('behind one proxy takes the rightmost entry, the one the proxy appended, not what the client sent', () => {
    const forwardedFor = '6.6.6.6, 198.51.100.7';
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor }, true)).toBe('198.51.100.7');
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor }, 1)).toBe('198.51.100.7');
  });

  it('behind a chain of proxies counts that many hops from the right, the leftmost at most', () => {
    const forwardedFor = '6.6.6.6, 198.51.100.7, 192.0.2.10';
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor }, 2)).toBe('198.51.100.7');
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor }, 5)).toBe('6.6.6.6');
  });

  it("validates the chosen entry: a port is stripped, garbage gives no ip rather than the proxy's", () => {
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor: '198.51.100.7:5678' }, true)).toBe(
      '198.51.100.7',
    );
    expect(
      resolveClientIp({ remoteAddress: socket, forwardedFor: '198.51.100.7, unknown' }, true),
    ).toBeUndefined();
    expect(
      resolveClientIp({ remoteAddress: socket, forwardedFor: '"[2001:db8::1]:80"' }, true),
    ).toBeUndefined();
  });

  it('falls back to the socket address when the header is missing or empty', () => {
    expect(resolveClientIp({ remoteAddress: socket }, true)).toBe(socket);
    expect(resolveClientIp({ remoteAddress: socket, forwardedFor: ' , ' }, true)).toBe(socket);
  });

  it('reads trustProxy as a hop count', () => {
    expect([false, true, 0, 1, 2, 2.5, -1, Number.NaN, undefined].map(proxyHops)).toEqual([
      0, 1, 0, 1, 2, 2, 0, 0, 0,
    ]);
  });
});
