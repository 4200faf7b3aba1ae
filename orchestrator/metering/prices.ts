/**
 * The price row that applies to a machine (DESIGN §7): the first row of the
 * principal's policy whose `machine_class` (if it names one) is the class the
 * machine was approved with, and whose `location` (if it names one) is the
 * machine's `location` label. Pure.
 */
import type { PolicyV1, PriceRowV1 } from '../../bus-schemas/v1/policy.js';
import type { MachineRecord } from '../machine-registry.js';

export function pricesFor(machine: Pick<MachineRecord, 'approval' | 'placement'> | undefined, policy: Pick<PolicyV1, 'prices'>): PriceRowV1 | undefined {
  if (machine === undefined || policy.prices === undefined) return undefined;
  const machineClass = machine.approval?.machineClass ?? null;
  const location = machine.placement?.labels.find((l) => l.key === 'location')?.value ?? null;
  return policy.prices.find((row) => (row.machine_class === undefined || row.machine_class === machineClass) && (row.location === undefined || row.location === location));
}
