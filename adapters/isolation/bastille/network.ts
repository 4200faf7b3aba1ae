/**
 * A jail's network: its address from the configured range, the arguments
 * that give `bastille create` either a VNET jail with an epair (egress) or an
 * address on the loopback interface (none), the check that the epair
 * Bastille made is `e0a_<unit>` (names.ts), and the epair's byte counters
 * through netstat(1).
 */
import { formatIpv4Address, formatIpv4Cidr, parseIpv4Cidr, pickFreeSlot, type Ipv4Cidr } from '../../../bus-schemas/units/ipv4-cidr.js';
import type { UnitNetwork } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { hostEpairFromJailConf, parseNetstatJson } from './parse.js';
import type { UnitRecords } from './unit-records.js';

/** The jails' address range (bus-schemas/units/ipv4-cidr.ts): /8 … /29, no host bits set. */
export function parseRange(cidr: string): Ipv4Cidr {
  const r = parseIpv4Cidr(cidr, { minPrefix: 8, maxPrefix: 29 });
  if (!r.ok) throw new BastilleError('config', 'ipRange', r.reason);
  return r.cidr;
}

/** An address for `name` that no other unit's record holds (a hash of the name, probing past taken ones). */
export function allocateIp(records: UnitRecords, range: Ipv4Cidr, name: string): string {
  const used = new Set<string>();
  for (const n of records.list()) {
    if (n === name) continue;
    const r = records.read(n);
    if (r !== undefined) used.add(r.ip);
  }
  // Leave the network address, .1 (the host side: gateway / loopback address of the host) and the broadcast address.
  const addressAt = (i: number): string => formatIpv4Address(range.base + 2 + i);
  const index = pickFreeSlot(name, 2 ** (32 - range.prefix) - 3, (i) => !used.has(addressAt(i)));
  if (index === undefined) throw new BastilleError('refused', `create ${name}`, `no free address left in ${formatIpv4Cidr(range)}`);
  return addressAt(index);
}

export interface JailAddress {
  network: UnitNetwork;
  release: string;
  ip: string;
  range: Ipv4Cidr;
  /** the physical interface of VNET jails (egress) */
  vnetInterface: string | undefined;
  /** the interface holding the address of network=none jails */
  loopbackInterface: string;
}

/** An egress unit needs a VNET jail, and a VNET jail the configured physical interface: refused before anything is written. */
export function checkVnetInterface(name: string, network: UnitNetwork, vnetInterface: string | undefined): void {
  if (network === 'egress' && vnetInterface === undefined) {
    throw new BastilleError('config', 'interface', `unit ${name} has network=egress but the adapter has no VNET interface configured`);
  }
}

/** `bastille create` arguments: `-V NAME RELEASE IP/BITS IFACE` (egress) or `NAME RELEASE IP LOOPIF` (none). */
export function createArgs(name: string, a: JailAddress): string[] {
  if (a.network === 'egress') {
    checkVnetInterface(name, a.network, a.vnetInterface);
    return ['create', '-V', name, a.release, `${a.ip}/${a.range.prefix}`, a.vnetInterface as string];
  }
  return ['create', name, a.release, a.ip, a.loopbackInterface];
}

/** After `bastille create`: the host link jail.conf names is the one names.ts derived (or none for network=none). */
export function checkHostLink(name: string, jailConf: string, expected: string | undefined): void {
  const actual = hostEpairFromJailConf(jailConf);
  if (expected !== actual) {
    throw new BastilleError('state', `bastille create ${name}`, `jail.conf names host link ${String(actual)}, expected ${String(expected)}`);
  }
}

/** Bytes through the unit's link, seen from the host side of the epair: what it received, the unit sent. */
export async function linkCounters(tool: Tool, name: string, link: string): Promise<{ egressBytes: number; ingressBytes: number }> {
  const ns = await tool('netstat', ['-I', link, '-bn', '--libxo', 'json'], `netstat -I ${link}`);
  const c = parseNetstatJson(ns.stdout, link);
  if (c === undefined) throw new BastilleError('state', `netstat -I ${link}`, `jail ${name} runs but its host link ${link} is not listed`);
  return { egressBytes: c.receivedBytes, ingressBytes: c.sentBytes };
}
