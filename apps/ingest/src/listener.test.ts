import { describe, expect, it } from 'vitest';
import { listenerKey, listenerNetwork } from './listener.js';

describe('listenerNetwork', () => {
  it('keeps an IPv4 address whole', () => {
    expect(listenerNetwork('203.0.113.9')).toBe('203.0.113.9');
  });

  it('cuts IPv6 to its /64, however it is written', () => {
    expect(listenerNetwork('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3:8d3::/64');
    expect(listenerNetwork('2001:0db8:85a3:08d3::1')).toBe('2001:db8:85a3:8d3::/64');
    expect(listenerNetwork('[2001:db8::1]')).toBe('2001:db8:0:0::/64');
    expect(listenerNetwork('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(listenerNetwork('::1')).toBe('0:0:0:0::/64');
    expect(listenerNetwork('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });

  it('reads IPv4-mapped IPv6 as IPv4', () => {
    expect(listenerNetwork('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(listenerNetwork('::ffff:cb00:7109')).toBe('203.0.113.9');
  });

  it('rejects what is not an address', () => {
    expect(listenerNetwork('example.com')).toBeUndefined();
    expect(listenerNetwork('1.2.3')).toBeUndefined();
    expect(listenerNetwork('')).toBeUndefined();
  });
});

describe('listenerKey', () => {
  const salt = 'a-secret-salt-of-some-length';

  it('is a 32-hex HMAC that depends on the /64, the user agent and the salt', () => {
    const key = listenerKey('2001:db8:1:2:aaaa::1', 'VLC/3.0', salt)!;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(listenerKey('2001:db8:1:2:bbbb::9', 'VLC/3.0', salt)).toBe(key);
    expect(listenerKey('2001:db8:1:3::1', 'VLC/3.0', salt)).not.toBe(key);
    expect(listenerKey('2001:db8:1:2::1', 'Safari', salt)).not.toBe(key);
    expect(listenerKey('2001:db8:1:2::1', 'VLC/3.0', `${salt}x`)).not.toBe(key);
    expect(listenerKey('203.0.113.9', undefined, salt)).not.toBe(
      listenerKey('203.0.113.10', undefined, salt),
    );
  });
});
