/**
 * Roles as templates over the isolation port (DESIGN §6): what a role means
 * for the kernel (limits, network) and for placement (the capacity a unit
 * reserves on its machine). The orchestrator resolves the template once and
 * sends the resolved limits in the command, so agent and cell never disagree.
 */
import type { HolonRole } from '../v1/holon-role.js';
import type { UnitLimits, UnitNetwork } from './port.js';

export type UnitRole = Exclude<HolonRole, 'HOST'>;

export interface RoleTemplate {
  role: UnitRole;
  limits: UnitLimits;
  network: UnitNetwork;
  /** one line for `holonctl` and docs */
  summary: string;
}

const MiB = 1024 * 1024;

export const ROLE_TEMPLATES: Readonly<Record<UnitRole, RoleTemplate>> = {
  BUILD_WORKER: {
    role: 'BUILD_WORKER',
    limits: { cpuMillicores: 2000, memoryBytes: 1024 * MiB, pids: 512 },
    network: 'egress',
    summary: 'CPU-heavy builds; guarded jobs; egress through its metered link',
  },
  PENTEST_SANDBOX: {
    role: 'PENTEST_SANDBOX',
    limits: { cpuMillicores: 1000, memoryBytes: 512 * MiB, pids: 256 },
    network: 'none',
    summary: 'untrusted tools; no network at all (loopback only)',
  },
  SERVICE_HOST: {
    role: 'SERVICE_HOST',
    limits: { cpuMillicores: 1000, memoryBytes: 512 * MiB, pids: 256 },
    network: 'egress',
    summary: 'long-running services reachable through its link',
  },
  RELAY: {
    role: 'RELAY',
    limits: { cpuMillicores: 500, memoryBytes: 256 * MiB, pids: 64 },
    network: 'egress',
    summary: 'a bus relay (NATS leaf node) for a subtree',
  },
  GENERAL_COMPUTE: {
    role: 'GENERAL_COMPUTE',
    limits: { cpuMillicores: 1000, memoryBytes: 512 * MiB, pids: 256 },
    network: 'egress',
    summary: 'anything else',
  },
};

export function roleTemplate(role: HolonRole): RoleTemplate | undefined {
  return role === 'HOST' ? undefined : ROLE_TEMPLATES[role];
}
