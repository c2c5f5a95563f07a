import { isIpv4, isIpv6, normalizeIp, type Origin } from '@earshot/core';
import type ipaddr from 'ipaddr.js';
import { loadIpaddr } from './commonjs.js';

/** The configured IP ranges: relays (EARSHOT_RELAY_IPS) and the station's monitoring (EARSHOT_MONITOR_IPS). */
export interface IpRanges {
  relay: readonly string[];
  monitor: readonly string[];
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

const PREFIX = /^\d{1,3}$/;

function invalid(entry: string, source: string | undefined): Error {
  const where = source ? ` in ${source}` : '';
  return new Error(
    `Invalid IP range "${entry}"${where}: expected an IPv4 or IPv6 address or CIDR range ` +
      '(such as 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32)',
  );
}

/**
 * One range spec as an address and prefix length. An IPv4-mapped IPv6 spec (`::ffff:10.0.0.0/104`)
 * becomes the IPv4 range it stands for, since addresses are matched as IPv4 when mapped.
 */
function compileRange(entry: string, source?: string): Range {
  const slash = entry.indexOf('/');
  const text = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  const v4 = isIpv4(text);
  if (!v4 && !isIpv6(text)) throw invalid(entry, source);
  const bits = v4 ? 32 : 128;
  if (prefixText !== undefined && !PREFIX.test(prefixText)) throw invalid(entry, source);
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) throw invalid(entry, source);
  let address: Address;
  try {
    address = loadIpaddr().parse(text);
  } catch {
    throw invalid(entry, source);
  }
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [address, prefix];
}

/**
 * The entries of an IP range list from an environment variable: addresses or CIDR ranges, IPv4 or
 * IPv6, separated by commas and/or whitespace. Undefined or blank text is an empty list. Throws an
 * Error naming the first bad entry (and `source`, e.g. the variable's name, when given).
 */
export function parseIpRanges(text: string | undefined, source?: string): string[] {
  if (text === undefined) return [];
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  for (const entry of entries) compileRange(entry, source);
  return entries;
}

function matcher(specs: readonly string[]): (address: Address) => boolean {
  const ranges = specs.map((spec) => compileRange(spec.trim()));
  if (ranges.length === 0) return () => false;
  return (address) => {
    const kind = address.kind();
    for (const range of ranges) {
      if (range[0].kind() === kind && address.match(range)) return true;
    }
    return false;
  };
}

/**
 * Where an IP comes from: `relay` when it is in a relay range, else `monitor` when it is in a
 * monitor range, else null (also for anything that is not an IP). Throws on a bad range spec.
 */
export function createOriginOf(ranges: IpRanges): (ip: string) => Origin | null {
  const relay = matcher(ranges.relay);
  const monitor = matcher(ranges.monitor);
  if (ranges.relay.length === 0 && ranges.monitor.length === 0) return () => null;
  const ipaddr = loadIpaddr();
  return (ip) => {
    const text = normalizeIp(ip);
    if (text === undefined) return null;
    let address: Address;
    try {
      address = ipaddr.parse(text);
    } catch {
      return null;
    }
    if (relay(address)) return 'relay';
    if (monitor(address)) return 'monitor';
    return null;
  };
}
