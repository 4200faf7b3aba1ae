/**
 * An agent's unit reports, the cell's side (DESIGN §5), run by the provisioning service under the holon's and
 * the request's locks once the report's machine, subject and holon key proof are checked:
 *
 *   provisioned  PROVISIONED: certificate, receipt and NATS JWT; HOLON_PROVISIONED (a second claim of an
 *                issued holon id is refused and recorded as SECURITY_HOLON_ID_CLAIM_REFUSED)
 *   destroyed    DESTROYED: the destruction receipt; HOLON_DESTROYED
 */
import type { Logger } from 'pino';
import { convertId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { HolonCertificateV1 } from '../../bus-schemas/v1/holon-certificate.js';
import { ProvisioningReceiptV1 } from '../../bus-schemas/v1/provisioning-receipt.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { UnitDestructionReceiptV1, UnitReportV1, type UnitReportReplyV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { CellMaterial } from '../cell-material.js';
import type { ProvisionEvent } from './provision-events.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionRecord, ProvisionStore } from './provision-store.js';

export interface ReportContext {
  store: ProvisionStore;
  cell: CellMaterial;
  logger: Logger;
  allocateSerial(): number;
  mintHolonUser(holonId: HolonIdV1, natsUserKey: string, expiresAt: number): Promise<string>;
  /** the service's step: apply, persist with its entry, publish */
  step(rec: ProvisionRecord, owner: HolonIdV1, event: ProvisionEvent): Promise<ProvisionRecord>;
  /** one entry of `owner`'s chain beside `rec`, unchanged */
  append(owner: HolonIdV1, kind: string, body: JsonValue, rec: ProvisionRecord): Promise<void>;
}

export async function provisioned(ctx: ReportContext, rec: ProvisionRecord, report: UnitReportV1, now: number): Promise<Pick<UnitReportReplyV1, 'receipt' | 'nats_user_jwt'>> {
  const { store, cell } = ctx;
  if (rec.receipt !== null && rec.natsJwt !== null) {
    if (rec.holonId !== report.holon_id) throw new ProvisionError('unit-report', `the unit was already issued as ${rec.holonId ?? '-'}, not ${report.holon_id}`, '.holon_id');
    return { receipt: rec.receipt, nats_user_jwt: rec.natsJwt };
  }
  if (rec.state !== 'PLACED') throw new ProvisionError('unit-report', `provisioning ${rec.requestDigest} is ${rec.state}`, '.event');
  const holder = store.byHolon(report.holon_id);
  if (holder !== undefined && holder.requestDigest !== rec.requestDigest) {
    // A second claim of an issued id: refused, and recorded on the claiming machine's chain as a security event.
    const body = { request_digest: rec.requestDigest, holon_id: report.holon_id, machine_id: report.machine_id, unit_name: report.unit_name, held_by_request: holder.requestDigest, report_digest: UnitReportV1.digest(report) };
    ctx.logger.warn({ ...body }, 'security: a unit report claimed a holon id that is already issued; refused');
    await ctx.append(convertId(report.machine_id, 'holon'), 'SECURITY_HOLON_ID_CLAIM_REFUSED', body, rec);
    throw new ProvisionError('holon-id-taken', `holon ${report.holon_id} is already issued to provisioning ${holder.requestDigest}`, '.holon_id');
  }
  const notAfter = Math.min(rec.budget.valid_until.unix_ms, cell.certificate.not_after);
  const certificate = HolonCertificateV1.seal(
    {
      holon_id: report.holon_id,
      role: rec.role as HolonCertificateV1['role'],
      cell_id: cell.cellId,
      parent_holon: rec.requester,
      capability_manifest_digest: CapabilityManifestV1.digest(rec.manifest),
      // The sealed request is the act of delegation: it names the manifest and is signed by the parent.
      delegation_digest: rec.requestDigest,
      not_before: Math.min(now, notAfter),
      not_after: notAfter,
      serial: ctx.allocateSerial(),
    },
    cell.signer,
  );
  const receipt = ProvisioningReceiptV1.seal(
    {
      request_digest: rec.requestDigest,
      assigned_holon_id: report.holon_id,
      assigned_cell_id: cell.cellId,
      issued_certificate: certificate,
      capability_manifest: rec.manifest,
      resource_budget: rec.budget,
      parent_holon: rec.requester,
      provisioned_at: timeAt(now),
    },
    cell.signer,
  );
  const jwt = await ctx.mintHolonUser(report.holon_id, report.nats_user_key as string, notAfter);
  await ctx.step(rec, report.holon_id, {
    kind: 'HOLON_PROVISIONED',
    request_digest: rec.requestDigest,
    receipt_digest: ProvisioningReceiptV1.digest(receipt),
    report_digest: UnitReportV1.digest(report),
    machine_id: report.machine_id,
    unit_name: report.unit_name,
    adapter: report.adapter,
    parent: rec.requester,
    role: rec.role as HolonCertificateV1['role'],
    certificate_serial: certificate.serial,
    receipt,
    nats_user_jwt: jwt,
  });
  ctx.logger.info({ request_digest: rec.requestDigest, holon_id: report.holon_id }, 'provisioned; receipt issued');
  return { receipt, nats_user_jwt: jwt };
}

export async function destroyed(ctx: ReportContext, rec: ProvisionRecord, report: UnitReportV1, now: number): Promise<Pick<UnitReportReplyV1, 'destruction'>> {
  const { cell } = ctx;
  if (rec.destruction !== null) return { destruction: rec.destruction };
  if (rec.state !== 'TEARDOWN' || rec.teardown === null) throw new ProvisionError('unit-report', `holon ${report.holon_id} is ${rec.state}, not being torn down`, '.event');
  if (rec.teardown.requestDigest !== report.request_digest) throw new ProvisionError('unit-report', `the teardown of ${report.holon_id} is ${rec.teardown.requestDigest}`, '.request_digest');
  const destruction = UnitDestructionReceiptV1.seal(
    {
      holon_id: report.holon_id,
      request_digest: rec.teardown.requestDigest,
      cell_id: cell.cellId,
      machine_id: report.machine_id,
      unit_name: report.unit_name,
      evidence_head: null,
      evidence_replicated: false,
      resources_released: rec.budget,
      destroyed_at: timeAt(now),
    },
    cell.signer,
  );
  await ctx.step(rec, report.holon_id, {
    kind: 'HOLON_DESTROYED',
    request_digest: rec.requestDigest,
    teardown_digest: rec.teardown.requestDigest,
    destruction_digest: UnitDestructionReceiptV1.digest(destruction),
    report_digest: UnitReportV1.digest(report),
    machine_id: report.machine_id,
    unit_name: report.unit_name,
    evidence_replicated: false,
    destruction,
  });
  ctx.logger.info({ holon_id: report.holon_id }, 'destroyed; receipt issued');
  return { destruction };
}
