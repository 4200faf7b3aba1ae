/**
 * How a machine record is shown: to the machine (a sealed BootstrapStatusV1)
 * and to the principal (a MachineRowV1 of `holonctl machines`).
 */
import type { Signer } from '../bus-schemas/keys.js';
import type { CellIdV1 } from '../bus-schemas/ids.js';
import { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import type { MachineRecord } from './machine-registry.js';
import type { MachineRowV1 } from '../bus-schemas/v1/machine-list.js';
import { CellRequestError } from './cell-request-error.js';

export function machineRow(r: MachineRecord): MachineRowV1 {
  return {
    machine_id: r.machineId,
    state: r.state,
    software_only: r.softwareOnly,
    ...(r.ekHash !== null ? { ek_hash: r.ekHash as `sha256:${string}` } : {}),
    ...(r.ekTrustedBy !== null ? { ek_trusted_by: r.ekTrustedBy } : {}),
    ...(r.approval !== null
      ? { approval: { source: r.approval.source, ...(r.approval.machineClass !== null ? { machine_class: r.approval.machineClass } : {}), expires_at: r.approval.expiresAt } }
      : {}),
    ...(r.refusal !== null ? { refusal: { ...r.refusal } } : {}),
    ...(r.certificate !== null ? { certificate_serial: r.certificate.serial } : {}),
    since: r.since,
  };
}

/** The machine's view; ENROLLED needs the JWT (the caller makes sure there is one). */
export function sealStatus(r: MachineRecord, cell: { signer: Signer; cellId: CellIdV1 }, now: number, jwt?: string): BootstrapStatusV1 {
  if (r.state === 'UNKNOWN' || r.softwareOnly === null) throw new CellRequestError('unknownMachine', `machine ${r.machineId} has not said hello to this cell`);
  const body: Omit<BootstrapStatusV1, 'cell_seal'> = {
    machine_id: r.machineId,
    cell_id: cell.cellId,
    state: r.state,
    software_only: r.softwareOnly,
    at: timeAt(now),
  };
  if (r.state === 'REFUSED' && r.refusal !== null) body.refusal = { code: r.refusal.code, reason: r.refusal.reason };
  if (r.state === 'ENROLLED' && r.certificate !== null && jwt !== undefined) {
    body.holon_certificate = r.certificate;
    body.nats_user_jwt = jwt;
  }
  return BootstrapStatusV1.seal(body, cell.signer);
}
