/**
 * A jail's network: its address from the configured range, the arguments
 * that give `bastille create` either a VNET jail with an epair (egress) or an
 * address on the loopback interface (none), the host side of the epair as
 * jail.conf names it, and its byte counters through netstat(1).
 *
 * What the counters mean (BastilleBSD/bastille 1.4.4 common.sh
 * `generate_vnet_jail_netblock`, VNET_JAIL_STANDARD): `jib addm` creates an
 * epair at every jail start, puts the host side `e0a_X` into a bridge with the
 * physical interface, and `exec.poststop` destroys it. So the host side's
 * `received-bytes` is every byte the jail sent on its link — to the internet,
 * but also to the host, to other jails on the bridge, ARP and broadcasts — not
 * only traffic leaving the host; the adapter reports it as `egressBytes` with
 * exactly that meaning. The counters start at 0 with each new epair; an epair
 * left behind by a jail that vanished keeps counting until the adapter
 * destroys it (leftovers.ts). The metering loop treats a drop as a reset.
 *
 * Routing: the default vnet template (templates/default/vnet/Bastillefile)
 * sets `defaultrouter` to `-g`, else bastille_network_gateway, else the host's
 * own default route (`netstat -4rn`) — usually not in the jails' range, so
 * those jails have no egress. The `gateway` option passes `-g`.
 */
import { formatIpv4Address, formatIpv4Cidr, parseIpv4Cidr, pickFreeSlot, type Ipv4Cidr } from '../../../bus-schemas/units/ipv4-cidr.js';
import type { UnitNetwork } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { hostLinkFromJailConf, parseNetstatJson } from './parse.js';
import type { UnitRecords } from './unit-records.js';

/** The jails' address range (bus-schemas/units/ipv4-cidr.ts): /8 … /29, no host bits set. */
export function parseRange(cidr: string): Ipv4Cidr {
  const r = parseIpv4Cidr(cidr, { minPrefix: 8, maxPrefix: 29 });
  if (!r.ok) throw new BastilleError('config', 'ipRange', r.reason);
  return r.cidr;
}

/** An address for `name` that no other unit's record holds nor the gateway is (a hash of the name, probing past taken ones). */
export function allocateIp(records: UnitRecords, range: Ipv4Cidr, name: string, gateway: string | undefined): string {
  const used = new Set<string>(gateway === undefined ? [] : [gateway]);
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
  /** `-g` of VNET jails */
  gateway: string | undefined;
  /** the interface holding the address of network=none jails */
  loopbackInterface: string;
}

/** An egress unit needs a VNET jail, and a VNET jail the configured physical interface: refused before anything is written. */
export function checkVnetInterface(name: string, network: UnitNetwork, vnetInterface: string | undefined): void {
  if (network === 'egress' && vnetInterface === undefined) {
    throw new BastilleError('config', 'interface', `unit ${name} has network=egress but the adapter has no VNET interface configured`);
  }
}

/** Egress units need Bastille's if_bridge VNET (an epair whose host side the adapter can read); netgraph is refused up front. */
export function checkVnetType(name: string, network: UnitNetwork, vnetType: string): void {
  if (network === 'egress' && vnetType !== 'if_bridge') {
    throw new BastilleError(
      'refused',
      `create ${name}`,
      `bastille.conf sets bastille_network_vnet_type="${vnetType}": Bastille would give the jail ng0_<NAME> through jng(8) instead of an epair; only if_bridge VNET jails are supported`,
    );
  }
}

/** `bastille create` arguments: `-V [-g GW] JAIL RELEASE IP/BITS IFACE` (egress) or `JAIL RELEASE IP LOOPIF` (none). */
export function createArgs(jail: string, a: JailAddress): string[] {
  if (a.network === 'egress') {
    checkVnetInterface(jail, a.network, a.vnetInterface);
    return ['create', '-V', ...(a.gateway === undefined ? [] : ['-g', a.gateway]), jail, a.release, `${a.ip}/${a.range.prefix}`, a.vnetInterface as string];
  }
  return ['create', jail, a.release, a.ip, a.loopbackInterface];
}

/**
 * After `bastille create`: the host link jail.conf names — `e0a_<jail>`, or `e0a_bastilleN` when `e0a_<jail>` would not fit
 * in IFNAMSIZ (15 characters) — or none for network=none. Anything else (netgraph's `ng0_…`) is refused.
 */
export function hostLinkOf(jail: string, jailConf: string, network: UnitNetwork): string | undefined {
  const link = hostLinkFromJailConf(jailConf);
  const fits = link === `e0a_${jail}` || (link !== undefined && /^e0a_bastille[0-9]+$/.test(link));
  if (network === 'none' ? link === undefined : fits) return link;
  throw new BastilleError('state', `bastille create ${jail}`, `jail.conf names host link ${String(link)}; expected ${network === 'none' ? 'none' : `e0a_${jail} or e0a_bastilleN`}`);
}

/** Bytes through the unit's link, seen from the host side of the epair: what it received, the unit sent (to anywhere). */
export async function linkCounters(tool: Tool, jail: string, link: string): Promise<{ egressBytes: number; ingressBytes: number }> {
  const ns = await tool('netstat', ['-I', link, '-bn', '--libxo', 'json'], `netstat -I ${link}`);
  const c = parseNetstatJson(ns.stdout, link);
  if (c === undefined) throw new BastilleError('state', `netstat -I ${link}`, `jail ${jail} runs but its host link ${link} is not listed`);
  return { egressBytes: c.receivedBytes, ingressBytes: c.sentBytes };
}

