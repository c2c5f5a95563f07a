import { createHmac } from 'node:crypto';
import { ipv6Groups, isIpv4, normalizeIp } from '@earshot/core';

/** Hex characters kept of the HMAC: 128 bits, plenty to keep listeners apart, short in storage. */
const LISTENER_HEX = 32;

/**
 * The part of a client IP that identifies a listener: an IPv4 address whole; an IPv6 address cut to
 * its /64 (the rest changes with privacy extensions); an IPv4-mapped IPv6 address as IPv4. The
 * address is read as core's `normalizeIp` reads it (the logger's reading too). Returns undefined for
 * something that is not an IP address.
 */
export function listenerNetwork(ip: string): string | undefined {
  const address = normalizeIp(ip);
  if (address === undefined || isIpv4(address)) return address;
  const groups = ipv6Groups(address)!;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/**
 * The privacy-safe listener key (DESIGN section 2): HMAC-SHA256 with the secret salt over the
 * listener network of the IP and the user agent, hex, truncated to 128 bits. Without the salt
 * nobody can test a guessed IP against it. Undefined if `ip` is not an IP address.
 */
export function listenerKey(ip: string, ua: string | undefined, salt: string): string | undefined {
  const network = listenerNetwork(ip);
  if (network === undefined) return undefined;
  return createHmac('sha256', salt)
    .update(`${network}\n${ua ?? ''}`)
    .digest('hex')
    .slice(0, LISTENER_HEX);
}
