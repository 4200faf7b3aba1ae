/**
 * network: the addresses this machine can be reached at, as
 * NetworkAddressV1 (kind, address, interface), and the names of the
 * interfaces that carry them. Read from `os.networkInterfaces()`
 * (getifaddrs on Linux and FreeBSD), which lists every address —
 * systeminformation keeps only one per family and interface. Loopback
 * (127/8, ::1, the kernel's "internal" flag) and link-local (169.254/16,
 * fe80::/10) addresses are skipped unless configured. An interface whose
 * name NetworkAddressV1 cannot carry is skipped with a warning; past 64
 * addresses (MachineAttestationV1's limit) the rest are dropped, IPv4 first
 * in sort order, with a warning.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { InterfaceNameSchema, type NetworkAddressV1 } from '../../bus-schemas/v1/network-address.js';
import type { Probe } from './probe.js';
import { addressKey, MAX_ADDRESSES } from './probe-facts.js';

export function isLoopback(info: NetworkInterfaceInfo): boolean {
  if (info.internal) return true;
  return info.family === 'IPv4' ? info.address.startsWith('127.') : info.address === '::1';
}

export function isLinkLocal(info: NetworkInterfaceInfo): boolean {
  if (info.family === 'IPv4') return info.address.startsWith('169.254.');
  return /^fe[89ab]/i.test(info.address);
}

function interfaceNameOk(name: string): boolean {
  try {
    InterfaceNameSchema.parseAt(name, '$');
    return true;
  } catch {
    return false;
  }
}

export const networkProbe: Probe = {
  name: 'network',
  essential: false,
  defaults: { addresses: [], interfaces: [] },
  run(ctx) {
    const all = ctx.source.interfaceAddresses();
    const byKey = new Map<string, NetworkAddressV1>();
    const names = new Set<string>();
    for (const name of Object.keys(all).sort()) {
      const wanted = (all[name] ?? []).filter(
        (i) => (ctx.config.includeLoopback || !isLoopback(i)) && (ctx.config.includeLinkLocal || !isLinkLocal(i)),
      );
      if (wanted.length === 0) continue;
      if (!interfaceNameOk(name)) {
        ctx.warn(`interface ${JSON.stringify(name.slice(0, 40))} skipped: not a reportable interface name`);
        continue;
      }
      names.add(name);
      for (const info of wanted) {
        // Node prints IPv6 without a zone; strip one defensively, the interface has its own field.
        const address = info.family === 'IPv4' ? info.address : (info.address.split('%')[0] ?? info.address).toLowerCase();
        const entry: NetworkAddressV1 = { kind: info.family === 'IPv4' ? 'ipv4' : 'ipv6', address, interface: name };
        byKey.set(addressKey(entry), entry);
      }
    }
    const sorted = [...byKey.keys()].sort().map((k) => byKey.get(k) as NetworkAddressV1);
    if (sorted.length > MAX_ADDRESSES) {
      ctx.warn(`${sorted.length} addresses found; only the first ${MAX_ADDRESSES} in sort order are reported`);
    }
    const addresses = sorted.slice(0, MAX_ADDRESSES);
    return Promise.resolve({ addresses, interfaces: [...names].sort() });
  },
};
