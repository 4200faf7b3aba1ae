/**
 * IPv4 pools for unit networks, in one place: the Linux adapter's egress
 * pool (a /30 per unit) and the Bastille adapter's jail address range (one
 * address per jail) are parsed, split and allocated by these functions.
 *
 * - a CIDR is `a.b.c.d/n` with the dotted quad of NetworkAddressV1 (no
 *   leading zeros: `010.0.0.0` is octal to some tools), a prefix within the
 *   caller's bounds, and no host bits set (`10.0.0.5/24` is refused rather
 *   than silently read as `10.0.0.0/24`);
 * - addresses are unsigned 32-bit numbers;
 * - a slot is chosen from SHA-256(seed), then the next free one in order,
 *   wrapping: the same unit gets the same slot while it is free, and units
 *   spread over the pool.
 */
import { createHash } from 'node:crypto';
import { IPV4_PATTERN } from '../v1/network-address.js';

export interface Ipv4Cidr {
  /** network address as an unsigned 32-bit number */
  base: number;
  prefix: number;
}

export type Ipv4CidrCheck = { ok: true; cidr: Ipv4Cidr } | { ok: false; reason: string };

/** The netmask of a prefix length, as an unsigned 32-bit number. */
export function ipv4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** A dotted quad (no leading zeros) as a number, or undefined. */
export function parseIpv4Address(text: string): number | undefined {
  if (!IPV4_PATTERN.test(text)) return undefined;
  return text.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

export function formatIpv4Address(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  return `${formatIpv4Address(c.base)}/${c.prefix}`;
}

/** Parse `a.b.c.d/n` with minPrefix ≤ n ≤ maxPrefix and no host bits set, or say why not. */
export function parseIpv4Cidr(text: unknown, bounds: { minPrefix: number; maxPrefix: number }): Ipv4CidrCheck {
  const want = `an IPv4 CIDR with a prefix between /${bounds.minPrefix} and /${bounds.maxPrefix}`;
  const shown = JSON.stringify(String(text).slice(0, 64));
  if (typeof text !== 'string') return { ok: false, reason: `must be ${want}, got ${shown}` };
  const slash = text.indexOf('/');
  const base = slash < 0 ? undefined : parseIpv4Address(text.slice(0, slash));
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  const prefix = /^(0|[1-9][0-9]?)$/.test(prefixText) ? Number(prefixText) : NaN;
  if (base === undefined || !(prefix >= bounds.minPrefix && prefix <= bounds.maxPrefix)) return { ok: false, reason: `must be ${want}, got ${shown}` };
  const network = (base & ipv4Mask(prefix)) >>> 0;
  if (network !== base) return { ok: false, reason: `${text} has host bits set (the network is ${formatIpv4Cidr({ base: network, prefix })})` };
  return { ok: true, cidr: { base, prefix } };
}

/** How many blocks of `/blockPrefix` the pool holds (blockPrefix ≥ the pool's prefix). */
export function ipv4BlockCount(pool: Ipv4Cidr, blockPrefix: number): number {
  return 2 ** (blockPrefix - pool.prefix);
}

/** The network address of the `index`-th `/blockPrefix` block of the pool. */
export function ipv4BlockAt(pool: Ipv4Cidr, blockPrefix: number, index: number): number {
  return (pool.base + index * 2 ** (32 - blockPrefix)) >>> 0;
}

/** Whether two networks (address and mask) share an address: compared under the wider of the two masks. */
export function ipv4Overlaps(a: { network: number; mask: number }, b: { network: number; mask: number }): boolean {
  const m = (a.mask & b.mask) >>> 0;
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/** The first free slot of `count`, probing from SHA-256(seed) mod count and wrapping; undefined when none is free. */
export function pickFreeSlot(seed: string, count: number, isFree: (index: number) => boolean): number | undefined {
  if (!(Number.isSafeInteger(count) && count > 0)) return undefined;
  const start = createHash('sha256').update(seed).digest().readUInt32BE(0) % count;
  for (let i = 0; i < count; i++) {
    const index = (start + i) % count;
    if (isFree(index)) return index;
  }
  return undefined;
}
