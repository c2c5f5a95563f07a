import { createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** Hex characters kept of the HMAC: 128 bits, plenty to keep listeners apart, short in storage. */
const LISTENER_HEX = 32;

// Eight 16-bit groups of an address that isIPv6 accepted.
function expandIPv6(ip: string): number[] | undefined {
  let text = ip;
  const tail: number[] = [];
  if (text.includes('.')) {
    const at = text.lastIndexOf(':');
    const v4 = text.slice(at + 1);
    if (!isIPv4(v4)) return undefined;
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, at);
    if (text.endsWith(':')) text += ':'; // "::1.2.3.4", "1::1.2.3.4"
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const zeros = 8 - tail.length - head.length - rest.length;
  if (zeros < 0 || (halves.length === 1 && zeros !== 0)) return undefined;
  return [...head, ...new Array<number>(zeros).fill(0), ...rest, ...tail];
}

/**
 * The part of a client IP that identifies a listener: an IPv4 address whole; an IPv6 address cut to
 * its /64 (the rest changes with privacy extensions); an IPv4-mapped IPv6 address as IPv4. Returns
 * undefined for something that is not an IP address.
 */
export function listenerNetwork(ip: string): string | undefined {
  const bare = ip
    .trim()
    .replace(/%.*$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return undefined;
  const groups = expandIPv6(bare);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
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
