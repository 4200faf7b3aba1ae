/**
 * Placement (DESIGN §7), the part this issue needs: capability routing over
 * what each enrolled machine registered at its hello — os, arch, labels,
 * installed tools, the roles and tools its isolation adapter declared — and
 * capacity left after the units already placed on it. Among the machines
 * that fit, the one with the most memory left wins (ties: the lowest machine
 * id, so placement is deterministic).
 */
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { RoleTemplate } from '../../bus-schemas/units/roles.js';
import type { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import type { MachineRecord } from '../machine-registry.js';
import { ProvisionError } from './provision-errors.js';

/**
 * Tools a machine must have registered to run units of its OS family, for machines whose hello did not
 * describe their isolation adapter (agents from before BootstrapHelloV1.isolation); such a machine is taken
 * to host every role.
 */
export const ADAPTER_TOOLS: Readonly<Record<string, readonly string[]>> = {
  linux: [],
  freebsd: ['bastille'],
};

interface Fit {
  machine: MachineRecord;
  memoryLeft: number;
}

export function placeUnit(
  req: ProvisioningRequestV1,
  template: RoleTemplate,
  machines: readonly MachineRecord[],
  usageOn: (machineId: PublicKeyIdV1) => { units: number; memoryBytes: number },
  overcommit = 1,
): MachineRecord {
  const c = req.constraints;
  const target = req.machine_attestation?.machine_id;
  const why = new Map<string, number>();
  const skip = (reason: string): void => void why.set(reason, (why.get(reason) ?? 0) + 1);
  const fits: Fit[] = [];
  for (const m of machines) {
    if (m.state !== 'ENROLLED') continue;
    if (target !== undefined && m.machineId !== target) continue;
    const f = m.placement;
    if (f === undefined || f === null) {
      skip('registered no placement facts');
      continue;
    }
    if (c.os !== undefined && !c.os.includes(f.os_family)) {
      skip(`os ${f.os_family} not in ${c.os.join('/')}`);
      continue;
    }
    if (c.arch !== undefined && !c.arch.includes(f.arch)) {
      skip(`arch ${f.arch} not in ${c.arch.join('/')}`);
      continue;
    }
    const missingLabel = (c.labels ?? []).find((l) => !f.labels.some((x) => x.key === l.key && x.value === l.value));
    if (missingLabel !== undefined) {
      skip(`label ${missingLabel.key}=${missingLabel.value} missing`);
      continue;
    }
    if (c.jurisdictions !== undefined) {
      skip('no attested jurisdiction');
      continue;
    }
    if (f.isolation !== undefined && !f.isolation.unit_roles.includes(template.role)) {
      skip(`role ${template.role} not hosted`);
      continue;
    }
    const missingTool = (f.isolation?.tools ?? ADAPTER_TOOLS[f.os_family] ?? []).find((t) => !f.tools.includes(t));
    if (missingTool !== undefined) {
      skip(`tool ${missingTool} not installed`);
      continue;
    }
    // Units reserve their role's memory limit; `overcommit` (the cell's placement setting) scales what a machine offers.
    const used = usageOn(m.machineId);
    const maxUnits = Math.floor(f.capacity.max_units * overcommit);
    if (used.units >= maxUnits) {
      skip(`full (${used.units} of ${maxUnits} units)`);
      continue;
    }
    const memoryLeft = Math.floor(f.capacity.memory_bytes * overcommit) - used.memoryBytes;
    if (memoryLeft < template.limits.memoryBytes) {
      skip(`memory: ${memoryLeft} bytes left, ${template.limits.memoryBytes} needed`);
      continue;
    }
    fits.push({ machine: m, memoryLeft });
  }
  if (fits.length === 0) {
    const reasons = [...why].map(([r, n]) => `${n}× ${r}`).join('; ');
    const scope = target !== undefined ? `machine ${target}` : 'no enrolled machine';
    throw new ProvisionError('placement', `${target !== undefined ? `${scope} cannot take it` : `${scope} fits`}${reasons !== '' ? `: ${reasons}` : ''}`, '.constraints');
  }
  fits.sort((a, b) => b.memoryLeft - a.memoryLeft || (a.machine.machineId < b.machine.machineId ? -1 : 1));
  return (fits[0] as Fit).machine;
}
