// Client IPs of requests. The address checks live in @earshot/core (no `node:net`: this module is
// part of the framework-neutral entry point). Ingest refuses a whole batch for one `ip` that is not
// an IPv4 or IPv6 address, so a value that is not one is dropped here, never sent.
import { normalizeIp } from '@earshot/core';

export { isIpv4, isIpv6, normalizeIp } from '@earshot/core';

/**
 * How many proxies in front of the server to trust: `false`/`0` none, `true` one, `n` that many.
 * Anything else counts as none.
 */
export function proxyHops(trustProxy: boolean | number | undefined): number {
  if (trustProxy === true) return 1;
  if (typeof trustProxy === 'number' && Number.isFinite(trustProxy) && trustProxy >= 1) {
    return Math.floor(trustProxy);
  }
  return 0;
}

/**
 * The client IP of a request. Without a trusted proxy: `remoteAddress` (the socket's peer). Behind
 * `trustProxy` proxies: the `X-Forwarded-For` entry that the outermost trusted proxy wrote, counted
 * from the right (each proxy appends the peer it saw, so everything left of that is whatever the
 * client sent and cannot be trusted); the leftmost entry when there are fewer entries than hops.
 * That entry is validated like any other IP: one that is not an address gives `undefined`, not the
 * proxy's own address. Without the header, `remoteAddress` again.
 */
export function resolveClientIp(
  facts: { remoteAddress?: string | null; forwardedFor?: string | null },
  trustProxy: boolean | number | undefined,
): string | undefined {
  const hops = proxyHops(trustProxy);
  if (hops > 0 && facts.forwardedFor) {
    const entries = facts.forwardedFor
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    if (entries.length > 0) return normalizeIp(entries[Math.max(0, entries.length - hops)]);
  }
  return normalizeIp(facts.remoteAddress);
}
