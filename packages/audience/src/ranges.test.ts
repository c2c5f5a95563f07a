import { describe, expect, it } from 'vitest';
import { createOriginOf, parseIpRanges } from './ranges.js';

describe('parseIpRanges', () => {
  it('splits on commas and whitespace, dropping blanks', () => {
    expect(parseIpRanges(' 10.0.0.0/8, 203.0.113.7\n2001:db8::/32 ,, ::ffff:10.1.0.0/112 ')).toEqual([
      '10.0.0.0/8',
      '203.0.113.7',
      '2001:db8::/32',
      '::ffff:10.1.0.0/112',
    ]);
  });

  it('reads nothing from undefined or blank text', () => {
    expect(parseIpRanges(undefined)).toEqual([]);
    expect(parseIpRanges('')).toEqual([]);
    expect(parseIpRanges(' , ')).toEqual([]);
  });

  it('throws naming the bad entry', () => {
    for (const bad of [
      '10.0.0.0/33',
      '2001:db8::/129',
      '10.0.0/8',
      '10.0.0.0/',
      '10.0.0.0/8/9',
      '10.0.0.0/x',
      'relay.example.org',
      '300.1.1.1',
      '010.1.1.1',
      '[2001:db8::1]',
      '203.0.113.7:8000',
    ]) {
      expect(() => parseIpRanges(`192.0.2.1, ${bad}`), bad).toThrow(`"${bad}"`);
    }
  });

  it('names the variable it read when told', () => {
    expect(() => parseIpRanges('nope', 'EARSHOT_RELAY_IPS')).toThrow(
      /Invalid IP range "nope" in EARSHOT_RELAY_IPS/,
    );
  });
});

describe('createOriginOf', () => {
  const originOf = createOriginOf({
    relay: ['203.0.113.0/24', '2001:db8:aa::/48', '198.51.100.9'],
    monitor: ['10.1.0.0/16', '2001:db8:bb::1', '203.0.113.0/24'],
  });

  it('matches IPv4 CIDR ranges and single addresses', () => {
    expect(originOf('203.0.113.1')).toBe('relay');
    expect(originOf('203.0.113.255')).toBe('relay');
    expect(originOf('203.0.114.1')).toBeNull();
    expect(originOf('198.51.100.9')).toBe('relay');
    expect(originOf('198.51.100.10')).toBeNull();
    expect(originOf('10.1.2.3')).toBe('monitor');
    expect(originOf('10.2.0.1')).toBeNull();
  });

  it('matches IPv6 CIDR ranges and single addresses, however the address is written', () => {
    expect(originOf('2001:db8:aa::1')).toBe('relay');
    expect(originOf('2001:0DB8:00AA:ffff::9')).toBe('relay');
    expect(originOf('2001:db8:ab::1')).toBeNull();
    expect(originOf('2001:db8:bb::1')).toBe('monitor');
    expect(originOf('2001:db8:bb:0:0:0:0:1')).toBe('monitor');
    expect(originOf('2001:db8:bb::2')).toBeNull();
  });

  it('matches an IPv4-mapped IPv6 address as IPv4', () => {
    expect(originOf('::ffff:10.1.2.3')).toBe('monitor');
    expect(originOf('::FFFF:203.0.113.4')).toBe('relay');
  });

  it('reads addresses as proxies write them (port, brackets, zone)', () => {
    expect(originOf('10.1.2.3:5555')).toBe('monitor');
    expect(originOf('[2001:db8:aa::1]:443')).toBe('relay');
    expect(originOf('2001:db8:bb::1%eth0')).toBe('monitor');
  });

  it('takes an IPv4-mapped IPv6 range for the IPv4 range it stands for', () => {
    const mapped = createOriginOf({ relay: ['::ffff:10.1.0.0/112'], monitor: ['::ffff:192.0.2.1'] });
    expect(mapped('10.1.9.9')).toBe('relay');
    expect(mapped('::ffff:10.1.9.9')).toBe('relay');
    expect(mapped('10.2.0.1')).toBeNull();
    expect(mapped('192.0.2.1')).toBe('monitor');
  });

  it('checks relay ranges before monitor ranges', () => {
    expect(originOf('203.0.113.50')).toBe('relay');
  });

  it('gives null for anything that is not an IP, and with no ranges', () => {
    expect(originOf('unknown')).toBeNull();
    expect(originOf('')).toBeNull();
    expect(createOriginOf({ relay: [], monitor: [] })('10.1.2.3')).toBeNull();
  });

  it('never matches an IPv4 address against an IPv6 range or back', () => {
    const wide = createOriginOf({ relay: ['::/0'], monitor: ['0.0.0.0/0'] });
    expect(wide('2001:db8::1')).toBe('relay');
    expect(wide('192.0.2.1')).toBe('monitor');
  });

  it('throws on a bad range given directly', () => {
    expect(() => createOriginOf({ relay: ['10.0.0.0/40'], monitor: [] })).toThrow('"10.0.0.0/40"');
  });
});
