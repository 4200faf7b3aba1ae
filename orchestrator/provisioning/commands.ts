/** The agent commands of the provisioning lifecycle, derived from a record alone. */
import type { CellIdV1 } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { roleTemplate } from '../../bus-schemas/units/roles.js';
import type { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { AgentCommandV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { ProvisionRecord } from './provision-store.js';

/** How long a unit whose budget ran out has between SIGTERM and the kill, unless the cell's config says. */
export const DEFAULT_EXHAUSTION_GRACE_MS = 5000;

/**
 * The agent command a record in PLACED or TEARDOWN is waiting on, sealed now. Derived from the record alone, so
 * a projection rebuilt from the ledger can send it again (the agent's steps are idempotent; the msg id collapses).
 */
export function pendingCommand(rec: ProvisionRecord, cell: { cellId: CellIdV1; signer: Signer }, now: number, opts: { exhaustionGraceMs?: number } = {}): AgentCommandV1 | undefined {
  if (rec.machineId === null || rec.unitName === null) return undefined;
  if (rec.state === 'PLACED') {
    const template = roleTemplate(rec.role as ProvisioningRequestV1['requested_role']);
    if (template === undefined) return undefined;
    return AgentCommandV1.seal(
      {
        op: 'provision',
        request_digest: rec.requestDigest,
        cell_id: cell.cellId,
        machine_id: rec.machineId,
        unit_name: rec.unitName,
        role: template.role,
        limits: { cpu_millicores: template.limits.cpuMillicores, memory_bytes: template.limits.memoryBytes, pids: template.limits.pids },
        network: template.network,
        ...(rec.tenant !== null ? { tenant: rec.tenant } : {}),
        issued_at: timeAt(now),
      },
      cell.signer,
    );
  }
  if (rec.state === 'TEARDOWN' && rec.teardown !== null && rec.holonId !== null) {
    // A budget that ran out ends gracefully: SIGTERM, the grace period, then the kill (DESIGN §7).
    const grace = rec.teardown.reason === 'BUDGET_EXHAUSTED' ? (opts.exhaustionGraceMs ?? DEFAULT_EXHAUSTION_GRACE_MS) : 0;
    return AgentCommandV1.seal(
      {
        op: 'destroy',
        request_digest: rec.teardown.requestDigest,
        cell_id: cell.cellId,
        machine_id: rec.machineId,
        unit_name: rec.unitName,
        holon_id: rec.holonId,
        ...(grace > 0 ? { grace_ms: grace } : {}),
        issued_at: timeAt(now),
      },
      cell.signer,
    );
  }
  if (rec.state === 'RUNNING' && rec.exhaustion?.policy === 'FREEZE' && rec.holonId !== null) {
    return AgentCommandV1.seal(
      { op: 'freeze', request_digest: rec.exhaustion.actionDigest, cell_id: cell.cellId, machine_id: rec.machineId, unit_name: rec.unitName, holon_id: rec.holonId, issued_at: timeAt(now) },
      cell.signer,
    );
  }
  return undefined;
}

