/**
 * The unit's network: a named network namespace (`/run/netns/holon-<name>`)
 * and, for `egress`, a veth pair whose host side (`hv` + 12 hex digits of
 * SHA-256(name), 14 characters) has the first address of a /30 from the
 * adapter's pool and whose unit side (`eth0` in the namespace) has the second
 * one and a default route via the host side. No NAT, no forwarding change:
 * the unit reaches the host side; the host side's rx counters are its egress.
 *
 * The host side is configured with one `ip -batch`; the unit side by the
 * unit init (it runs inside the namespace) from a batch file in the unit dir.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import {
  formatIpv4Address,
  formatIpv4Cidr,
  ipv4BlockAt,
  ipv4BlockCount,
  ipv4Mask,
  ipv4Overlaps,
  parseIpv4Cidr,
  pickFreeSlot,
  type Ipv4Cidr,
} from '../../../bus-schemas/units/ipv4-cidr.js';
import { IsolationError, stderrTail } from './isolation-error.js';
import { runTool } from './tools.js';

export const NETNS_DIR = '/run/netns';
export const UNIT_IFACE = 'eth0';

export function netnsName(unit: string): string {
  return `holon-${unit}`;
}

export function netnsPath(unit: string): string {
  return `${NETNS_DIR}/${netnsName(unit)}`;
}

/** Host-side link name: deterministic, ≤ 15 characters (IFNAMSIZ - 1). */
export function hostLinkName(unit: string): string {
  return `hv${createHash('sha256').update(unit).digest('hex').slice(0, 12)}`;
}

/** The egress pool: an IPv4 CIDR split into one /30 per unit (bus-schemas/units/ipv4-cidr.ts). */
export type Ipv4Pool = Ipv4Cidr;

export function parsePool(cidr: string): Ipv4Pool {
  const r = parseIpv4Cidr(cidr, { minPrefix: 8, maxPrefix: 28 });
  if (!r.ok) throw new IsolationError('config', '-', 'construct/egressPool', `egressPool ${r.reason}`);
  return r.cidr;
}

export interface Subnet {
  /** network address of the unit's /30 */
  network: number;
  hostAddr: string;
  unitAddr: string;
}

export function subnetAt(pool: Ipv4Pool, index: number): Subnet {
  const network = ipv4BlockAt(pool, 30, index);
  return { network, hostAddr: formatIpv4Address(network + 1), unitAddr: formatIpv4Address(network + 2) };
}

/** One IPv4 route of /proc/net/route. */
interface Route {
  iface: string;
  dest: number;
  mask: number;
}

/** /proc/net/route stores addresses as host-order (little-endian) hex of the network-order bytes. */
function leHex(h: string): number {
  const v = parseInt(h, 16);
  return (((v & 255) << 24) | (((v >>> 8) & 255) << 16) | (((v >>> 16) & 255) << 8) | ((v >>> 24) & 255)) >>> 0;
}

export async function readRoutes(): Promise<Route[]> {
  const text = await readFile('/proc/net/route', 'utf8');
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8)
    .map((f) => ({ iface: f[0] as string, dest: leHex(f[1] as string), mask: leHex(f[7] as string) }));
}

/** Whether a connected route on another interface overlaps the /30 at `network`. */
function overlaps(routes: Route[], network: number, ownLink: string): Route | undefined {
  return routes.find((r) => r.iface !== ownLink && r.mask !== 0 && ipv4Overlaps({ network: r.dest, mask: r.mask }, { network, mask: ipv4Mask(30) }));
}

/**
 * The unit's /30: the slot chosen from SHA-256(name), skipping any /30 the
 * host already routes on another interface (another unit, another adapter).
 */
export async function chooseSubnet(unit: string, pool: Ipv4Pool, taken: Set<number>): Promise<{ index: number; subnet: Subnet }> {
  const routes = await readRoutes();
  const link = hostLinkName(unit);
  const index = pickFreeSlot(`subnet:${unit}`, ipv4BlockCount(pool, 30), (i) => !taken.has(i) && overlaps(routes, subnetAt(pool, i).network, link) === undefined);
  if (index === undefined) throw new IsolationError('state', unit, 'create/network', `no free /30 left in the egress pool ${formatIpv4Cidr(pool)}`);
  return { index, subnet: subnetAt(pool, index) };
}

/** A /30 in use on another interface after we configured ours (a concurrent adapter picked the same one). */
export async function subnetConflict(unit: string, network: number): Promise<string | undefined> {
  return overlaps(await readRoutes(), network, hostLinkName(unit))?.iface;
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function linkExists(link: string): Promise<boolean> {
  return pathExists(`/sys/class/net/${link}`);
}

export async function linkCounters(link: string): Promise<{ rxBytes: number; txBytes: number }> {
  const read = async (f: string): Promise<number> => {
    try {
      return Number((await readFile(`/sys/class/net/${link}/statistics/${f}`, 'utf8')).trim()) || 0;
    } catch {
      return 0;
    }
  };
  return { rxBytes: await read('rx_bytes'), txBytes: await read('tx_bytes') };
}

/** Host side, create-if-absent: the namespace, the veth pair with its unit end inside, the host address, link up. */
export async function setupHostNetwork(ip: string, unit: string, subnet: Subnet | undefined): Promise<void> {
  const lines: string[] = [];
  if (!(await pathExists(netnsPath(unit)))) lines.push(`netns add ${netnsName(unit)}`);
  if (subnet !== undefined) {
    const link = hostLinkName(unit);
    if (!(await linkExists(link))) lines.push(`link add ${link} type veth peer name ${UNIT_IFACE} netns ${netnsName(unit)}`);
    lines.push(`addr replace ${subnet.hostAddr}/30 dev ${link}`, `link set ${link} up`);
  }
  if (lines.length === 0) return;
  const r = await runTool(ip, ['-batch', '-'], { input: `${lines.join('\n')}\n` });
  if (r.exitCode !== 0) {
    throw new IsolationError('command', unit, 'create/network', `ip -batch failed (${lines.map((l) => l.split(' ').slice(0, 2).join(' ')).join('; ')})`, {
      exitCode: r.exitCode ?? -1,
      stderr: r.stderr,
    });
  }
  if (!(await pathExists(netnsPath(unit)))) throw new IsolationError('state', unit, 'create/network', `${netnsPath(unit)} is missing after ip netns add`);
  if (subnet !== undefined && !(await linkExists(hostLinkName(unit)))) {
    throw new IsolationError('state', unit, 'create/network', `host link ${hostLinkName(unit)} is missing after ip link add`);
  }
}

/** The unit side, run by the unit init inside the namespace (ip -batch file). */
export function unitNetworkBatch(subnet: Subnet | undefined): string {
  const lines = ['link set lo up'];
  if (subnet !== undefined) {
    lines.push(`addr replace ${subnet.unitAddr}/30 dev ${UNIT_IFACE}`, `link set ${UNIT_IFACE} up`, `route replace default via ${subnet.hostAddr} dev ${UNIT_IFACE}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Destroy-if-present: delete the host link (its peer goes with it) and the namespace; re-checked. */
export async function teardownNetwork(ip: string, unit: string): Promise<void> {
  const link = hostLinkName(unit);
  const lines: string[] = [];
  if (await linkExists(link)) lines.push(`link del ${link}`);
  if (await pathExists(netnsPath(unit))) lines.push(`netns del ${netnsName(unit)}`);
  if (lines.length === 0) return;
  const r = await runTool(ip, ['-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
  const left = [(await linkExists(link)) ? `link ${link}` : '', (await pathExists(netnsPath(unit))) ? netnsPath(unit) : ''].filter((s) => s !== '');
  if (left.length > 0) {
    throw new IsolationError('command', unit, 'destroy/network', `still present after ip -batch: ${left.join(', ')}`, {
      exitCode: r.exitCode ?? -1,
      stderr: stderrTail(r.stderr),
    });
  }
}
