// Client IP addresses as text, checked without `node:net` (core runs in browsers and edge workers
// too): the logger cleans the `ip` it sends with these, and ingest reads it with them.

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
// `203.0.113.5:41234`: a port some proxies append to an IPv4 entry.
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
// `[2001:db8::1]` or `[2001:db8::1]:443`.
const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;

/** Whether `text` is a dotted-quad IPv4 address (no leading zeros, as `node:net` reads them). */
export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

/** Whether `text` is an IPv6 address (RFC 4291 text form, an embedded IPv4 tail allowed, no zone). */
export function isIpv6(text: string): boolean {
  return ipv6Groups(text) !== undefined;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when `text` is not one (no zone, no brackets). */
export function ipv6Groups(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  let head = text;
  const tail: number[] = [];
  if (text.includes('.')) {
    const at = text.lastIndexOf(':');
    const v4 = text.slice(at + 1);
    if (at < 0 || !isIpv4(v4)) return undefined;
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
    tail.push(a * 256 + b, c * 256 + d);
    head = text.slice(0, at + 1);
    // Keep a `::` that ends right before the IPv4 tail; drop the single separator colon otherwise.
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((group) => HEX_GROUP.test(group))
      ? groups.map((group) => Number.parseInt(group, 16))
      : undefined;
  };
  const before = parse(halves[0] as string);
  const after = halves.length === 2 ? parse(halves[1] as string) : [];
  if (!before || !after) return undefined;
  const zeros = 8 - tail.length - before.length - after.length;
  // `::` stands for at least one group of zeros; without it there must be exactly eight groups.
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return undefined;
  return [...before, ...new Array<number>(zeros).fill(0), ...after, ...tail];
}

/**
 * A client IP fit for a listen event, or `undefined` when `value` is not an IP address (`unknown`,
 * `_hidden`, a host name, garbage). Accepts what sockets and proxies write: surrounding spaces, an
 * IPv4 `:port`, a bracketed IPv6 with or without a port, an IPv6 zone (`%eth0`, dropped). IPv6 is
 * lower-cased and an IPv4-mapped one (`::ffff:203.0.113.5`) is given as IPv4, so one client has one
 * listener key whichever stack it came in on.
 */
export function normalizeIp(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  let text = value.trim();
  if (text === '' || text.length > 64) return undefined;
  const bracketed = BRACKETED.exec(text);
  if (bracketed) text = bracketed[1] as string;
  else {
    const withPort = IPV4_WITH_PORT.exec(text);
    if (withPort) text = withPort[1] as string;
  }
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIpv4(text)) return text;
  const groups = ipv6Groups(text);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high, low] = groups.slice(6) as [number, number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return text.toLowerCase();
}
