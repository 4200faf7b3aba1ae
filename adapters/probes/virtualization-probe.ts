/**
 * virtualization: what the host runs under, folded to PlatformReportV1's
 * list. Linux: `systemd-detect-virt` (innermost layer: a container inside a
 * VM reports the container). FreeBSD: `sysctl -n security.jail.jailed
 * kern.vm_guest` (jailed → `jail`). Where neither tool exists:
 * `si.system()` (virtual flag, model, virtualHost). Failure → `other`
 * (unknown is not bare metal).
 */
import type { VIRTUALIZATIONS } from '../../bus-schemas/v1/platform-report.js';
import type { SiSystem } from './host-source.js';
import type { Probe, ProbeContext } from './probe.js';
import { ProbeError } from './probe-error.js';

export type Virtualization = (typeof VIRTUALIZATIONS)[number];

const CONTAINERS = ['docker', 'podman', 'lxc', 'lxc-libvirt', 'systemd-nspawn', 'openvz', 'rkt', 'wsl', 'proot', 'pouch'];

/** systemd-detect-virt's identifiers (systemd 252) → ours; unlisted VMs (amazon, google, zvm …) are `other`. */
export function mapSystemdVirt(id: string): Virtualization {
  const v = id.trim();
  if (CONTAINERS.includes(v)) return 'container';
  const direct: Record<string, Virtualization> = {
    none: 'none', kvm: 'kvm', qemu: 'qemu', xen: 'xen', vmware: 'vmware', microsoft: 'hyperv',
    oracle: 'virtualbox', parallels: 'parallels', bhyve: 'bhyve',
  };
  return direct[v] ?? 'other';
}

/** FreeBSD kern.vm_guest (none generic xen hv vmware kvm bhyve vbox parallels nvmm) → ours. */
export function mapVmGuest(value: string): Virtualization {
  const direct: Record<string, Virtualization> = {
    none: 'none', xen: 'xen', hv: 'hyperv', vmware: 'vmware', kvm: 'kvm', bhyve: 'bhyve', vbox: 'virtualbox', parallels: 'parallels',
  };
  return direct[value.trim()] ?? 'other';
}

export function mapSiSystem(system: SiSystem): Virtualization {
  const text = `${system.model} ${system.virtualHost ?? ''}`.toLowerCase();
  if (/docker|podman|lxc|container/.test(text)) return 'container';
  if (!system.virtual) return 'none';
  const host = (system.virtualHost ?? '').toLowerCase();
  const known: [RegExp, Virtualization][] = [
    [/kvm/, 'kvm'], [/qemu/, 'qemu'], [/xen/, 'xen'], [/vmware/, 'vmware'], [/hyper-v|microsoft/, 'hyperv'],
    [/virtualbox/, 'virtualbox'], [/parallels/, 'parallels'], [/bhyve/, 'bhyve'],
  ];
  return known.find(([re]) => re.test(host))?.[1] ?? 'other';
}

async function runTool(ctx: ProbeContext, name: string, args: string[]): Promise<string | undefined> {
  const exe = await ctx.source.findExecutable(name, ctx.config.searchPath);
  if (exe === undefined) return undefined;
  const out = await ctx.source.run(exe, args, { timeoutMs: ctx.config.toolTimeoutMs, signal: ctx.signal });
  return out?.stdout;
}

export const virtualizationProbe: Probe = {
  name: 'virtualization',
  essential: false,
  defaults: { virtualization: 'other' },
  async run(ctx) {
    if (ctx.source.platform === 'freebsd') {
      const out = await runTool(ctx, 'sysctl', ['-n', 'security.jail.jailed', 'kern.vm_guest']);
      if (out !== undefined) {
        const [jailed, guest] = out.split('\n').map((l) => l.trim());
        if (jailed === '1') return { virtualization: 'jail' };
        if (guest !== undefined && guest !== '') return { virtualization: mapVmGuest(guest) };
        throw new ProbeError('failed', 'virtualization', `sysctl printed no kern.vm_guest: ${JSON.stringify(out.slice(0, 80))}`);
      }
    } else {
      // Exits 1 after printing "none" on bare metal: the text is the answer either way.
      const out = await runTool(ctx, 'systemd-detect-virt', []);
      const id = out?.split('\n')[0]?.trim();
      if (id !== undefined && id !== '') return { virtualization: mapSystemdVirt(id) };
    }
    return { virtualization: mapSiSystem(await ctx.source.system()) };
  },
};
