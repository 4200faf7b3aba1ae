/**
 * Approvals and enrollment, the principal's half of bootstrap. A signed
 * MachineApprovalV1 — or the policy's pre-approval of an EK hash — makes an
 * ATTESTED machine due; enrolling it checks a class approval's golden PCRs,
 * then issues the host certificate and the NATS user JWT. The agent's status
 * request lands here too (waiting for an approval, or enrolled), and so do
 * the checks of a principal-sealed request and the sealed machine list.
 */
import { BOOTSTRAP_CODES, BootstrapError } from '../bus-schemas/bootstrap/bootstrap-error.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { BootstrapStatusRequestV1 } from '../bus-schemas/v1/bootstrap-status-request.js';
import type { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import { HolonCertificateV1 } from '../bus-schemas/v1/holon-certificate.js';
import { MachineApprovalV1 } from '../bus-schemas/v1/machine-approval.js';
import { MachineListV1 } from '../bus-schemas/v1/machine-list.js';
import { PolicyV1 } from '../bus-schemas/v1/policy.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import type { BootstrapServiceDeps } from './bootstrap-deps.js';
import { pcrMismatch, pcrPolicyFor, preapprovalFor } from './cell-policy.js';
import { CellRequestError } from './cell-request-error.js';
import { hostGrant, issueHostCertificate } from './enrollment.js';
import { enrollmentDue, type MachineRecord } from './machine-registry.js';
import type { MachineSteps } from './machine-steps.js';
import { machineRow, sealStatus } from './status-view.js';

const JWT_LIFETIME_MS = 30 * 86_400_000;

export class MachineEnrollment {
  readonly #d: BootstrapServiceDeps;
  readonly #steps: MachineSteps;

  constructor(deps: BootstrapServiceDeps, steps: MachineSteps) {
    this.#d = deps;
    this.#steps = steps;
  }

  /** A principal's approval: recorded (its nonce single-use), then the machine is enrolled if it is due. */
  async approve(a: MachineApprovalV1): Promise<MachineListV1> {
    const { store, clock, cell } = this.#d;
    const now = clock.now();
    this.checkPrincipalRequest(a.principal_seal.key, a.cell_id, a.approved_at, now, true);
    if (a.expires_at < now) throw new CellRequestError('approvalExpired', `approval expired at ${new Date(a.expires_at).toISOString()}`);
    if (store.isNonceUsed(a.approval_nonce)) throw new CellRequestError('approvalNonceUsed', 'this approval was already used (its nonce is single-use)');
    if (a.machine_class !== undefined && pcrPolicyFor(cell.policy, a.machine_class) === undefined) {
      throw new CellRequestError('approvalClass', `the policy has no golden PCR values for machine class "${a.machine_class}"`);
    }
    let rec = store.getMachine(a.machine_id);
    const usedNonce = { nonce: a.approval_nonce, expiresAt: a.expires_at };
    if (rec?.state === 'ENROLLED') {
      store.commit({ usedNonce });
    } else {
      rec = await this.#steps.record(
        rec,
        {
          kind: 'MACHINE_APPROVED',
          machine_id: a.machine_id,
          source: 'principal',
          approval_digest: MachineApprovalV1.digest(a),
          approval_nonce: a.approval_nonce,
          ...(a.machine_class !== undefined ? { machine_class: a.machine_class } : {}),
          expires_at: a.expires_at,
        },
        now,
        { usedNonce },
      );
      rec = (await this.enrollIfDue(a.machine_id)) ?? rec;
    }
    return this.sealList([rec], false, now);
  }

  /** The agent asks where it stands: enrolled (with credentials), or still waiting for an approval (recorded once). */
  async status(req: BootstrapStatusRequestV1): Promise<BootstrapStatusV1> {
    const { clock, config } = this.#d;
    const now = clock.now();
    if (Math.abs(now - req.sent_at.unix_ms) > config.maxClockSkewMs) {
      throw new CellRequestError('stale', `status request was sent at ${req.sent_at.unix_ms}, ${now - req.sent_at.unix_ms} ms from our clock`);
    }
    let rec = await this.enrollIfDue(req.machine_id);
    if (rec?.state === 'ATTESTED' && rec.refusal?.code !== BOOTSTRAP_CODES.notApproved) {
      const e = new BootstrapError('notApproved', 'attested, waiting for a principal approval; no credentials yet');
      rec = await this.#steps.refuse(rec, req.machine_id, 'status', e, now);
    }
    if (rec === undefined) throw new CellRequestError('unknownMachine', `machine ${req.machine_id} has not said hello to this cell`);
    return this.statusOf(rec, now);
  }

  /** Enroll an ATTESTED machine whose approval is valid; a class approval first checks the quoted PCRs. */
  async enrollIfDue(id: PublicKeyIdV1): Promise<MachineRecord | undefined> {
    const { store, clock, cell, config, minter } = this.#d;
    let rec = store.getMachine(id);
    const now = clock.now();
    const pre = rec === undefined ? undefined : preapprovalFor(cell.policy, rec.ekHash);
    if (rec !== undefined && pre !== undefined && rec.state === 'ATTESTED' && rec.approval === null) {
      // Pre-approved by EK hash in the principal's signed policy: recorded as the approval.
      rec = await this.#steps.record(
        rec,
        {
          kind: 'MACHINE_APPROVED',
          machine_id: id,
          source: 'policy',
          approval_digest: PolicyV1.digest(cell.policy),
          ...(pre.machine_class !== undefined ? { machine_class: pre.machine_class } : {}),
          expires_at: cell.certificate.not_after,
        },
        now,
      );
    }
    if (rec === undefined || rec.approval === null || !enrollmentDue(rec, now)) return rec;
    const golden = pcrPolicyFor(cell.policy, rec.approval.machineClass);
    if (golden !== undefined) {
      const why = rec.pcr === null ? 'a machine class was approved but the machine sent no TPM quote' : pcrMismatch(golden, rec.pcr);
      if (why !== undefined) return this.#steps.refuse(rec, id, 'approve', new BootstrapError('pcrPolicy', `machine class ${rec.approval.machineClass}: ${why}`), now);
    }
    if (rec.natsUserKey === null) return rec;
    const serial = store.allocateSerial();
    const certificate = issueHostCertificate({
      machineId: id,
      cell: { signer: cell.signer, certificate: cell.certificate },
      serial,
      delegationDigest: rec.approval.digest,
      now,
      validityMs: config.certificateValidityMs,
    });
    const jwt = await minter.mintHostUser({ userKey: rec.natsUserKey, grant: hostGrant(id, cell.cellId), expiresAt: Math.min(now + JWT_LIFETIME_MS, certificate.not_after) });
    const next = await this.#steps.record(
      rec,
      { kind: 'MACHINE_ENROLLED', machine_id: id, serial, certificate_digest: HolonCertificateV1.digest(certificate), certificate },
      now,
      { credentials: { machineId: id, natsUserKey: rec.natsUserKey, jwt } },
    );
    this.#d.logger.info({ machine: id, serial, source: rec.approval.source }, 'machine enrolled');
    return next;
  }

  /** The machine's status; an ENROLLED one gets its JWT, minted again only if it has none for its current nats key. */
  async statusOf(rec: MachineRecord | undefined, now: number): Promise<BootstrapStatusV1> {
    const { store, cell, minter } = this.#d;
    if (rec === undefined) throw new CellRequestError('unknownMachine', 'this machine has not said hello to this cell');
    let jwt: string | undefined;
    if (rec.state === 'ENROLLED' && rec.certificate !== null && rec.natsUserKey !== null) {
      const creds = store.credentials(rec.machineId);
      jwt = creds?.natsUserKey === rec.natsUserKey ? creds.jwt : undefined;
      if (jwt === undefined) {
        jwt = await minter.mintHostUser({ userKey: rec.natsUserKey, grant: hostGrant(rec.machineId, cell.cellId), expiresAt: Math.min(now + JWT_LIFETIME_MS, rec.certificate.not_after) });
        store.commit({ credentials: { machineId: rec.machineId, natsUserKey: rec.natsUserKey, jwt } });
      }
    }
    return sealStatus(rec, { signer: cell.signer, cellId: cell.cellId }, now, jwt);
  }

  /** A principal's request: sealed by this cell's principal, for this cell, sent within the clock skew (`onlyPast`: only the future is too far). */
  checkPrincipalRequest(sealKey: string, cellId: string, sentAt: number, now: number, onlyPast = false): void {
    const { cell, config } = this.#d;
    if (sealKey !== cell.principalKey) throw new CellRequestError('notPrincipal', `sealed by ${sealKey}, not by this cell's principal ${cell.principalKey}`);
    if (cellId !== cell.cellId) throw new CellRequestError('wrongCell', `addressed to ${cellId}, this cell is ${cell.cellId}`);
    const off = sentAt - now;
    if (off > config.maxClockSkewMs || (!onlyPast && -off > config.maxClockSkewMs)) {
      throw new CellRequestError('stale', `request time ${new Date(sentAt).toISOString()} is ${off} ms from our clock`);
    }
  }

  /** `records` as the sealed answer to a principal, with the cell's machine count. */
  sealList(records: MachineRecord[], more: boolean, now: number): MachineListV1 {
    const { cell, store } = this.#d;
    const { liveness } = this.#d;
    const rows = records.map((r) => (r.state === 'ENROLLED' && liveness !== undefined ? { ...machineRow(r), liveness: liveness.of(r.machineId, now) } : machineRow(r)));
    return MachineListV1.seal({ cell_id: cell.cellId, machines: rows, more, total: store.countMachines(), at: timeAt(now) }, cell.signer);
  }
}
