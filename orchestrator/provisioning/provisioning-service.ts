/**
 * The cell side of provisioning (DESIGN §5) as a service:
 *
 *   provision(request)  check → authorize → place → persist PLACED with its
 *                       ledger entry and agent command (outbox) → publish
 *   unitReport(report)  PROVISIONED: certificate + NATS JWT + receipt → RUNNING
 *                       DESTROYED:   destruction receipt → DESTROYED
 *   teardown(request)   RUNNING → TEARDOWN with its destroy command
 *   status / list       read the projection
 *
 * The request digest keys everything. A step already taken is recognised and
 * answered again with what was persisted (same status, same receipt); a crash
 * between persisting a step and publishing its outbox is repaired by
 * flushing the outbox at start and before every step (re-publishing collapses
 * on the entry digest / command msg id).
 */
import { KeyedLock } from '../../bus-schemas/keyed-lock.js';
import type { Logger } from 'pino';
import { checkManifestPermits, checkStrictNarrowing } from '../../bus-schemas/capability/index.js';
import type { Clock } from '../../bus-schemas/clock.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { HolonError } from '../../bus-schemas/errors.js';
import { JobCommandV1, JobRequestV1, JobResultV1, jobIdOf } from '../../bus-schemas/v1/job.js';
import { convertId, type HolonIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import { roleTemplate } from '../../bus-schemas/units/roles.js';
import { UNIT_NAME_PATTERN } from '../../bus-schemas/units/port.js';
import { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import type { CapabilityManifestV1 as Manifest } from '../../bus-schemas/v1/capability-manifest.js';
import { HolonCertificateV1 } from '../../bus-schemas/v1/holon-certificate.js';
import { sameKey } from '../../bus-schemas/v1/holon-certificate.js';
import { ProvisioningReceiptV1 } from '../../bus-schemas/v1/provisioning-receipt.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { BUDGET_QUANTITIES, type ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import { TeardownRequestV1 } from '../../bus-schemas/v1/teardown-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { verifyHolonKeyProof } from '../../bus-schemas/v1/holon-key-proof.js';
import {
  AgentCommandV1,
  HolonListV1,
  ProvisionStatusV1,
  UnitDestructionReceiptV1,
  UnitReportReplyV1,
  UnitReportV1,
  type HolonListRequestV1,
  type HolonRowV1,
  type ProvisionStatusRequestV1,
} from '../../bus-schemas/v1/unit-flow.js';
import type { CellMaterial } from '../cell-material.js';
import type { MachineRecord } from '../machine-registry.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionOutboxEntry, ProvisionRecord, ProvisionStore } from './provision-store.js';
import { placeUnit } from './placement.js';

/** How far a requester's clock may run ahead of the cell's. */
export const CLOCK_SKEW_MS = 60_000;

/** The ledger: seal an entry now (persisted in the outbox by the caller), publish it later. */
export interface ProvisionLedger {
  prepare(owner: HolonIdV1, kind: string, body: JsonValue, at: number): Promise<{ id: string; text: string }>;
  commit(text: string): Promise<void>;
}

/** The agents' work queues. */
export interface CommandQueue {
  /** Make sure the agent's queue consumer exists (idempotent). */
  ensure(machineId: PublicKeyIdV1): Promise<void>;
  /** Publish a sealed command; `msgId` collapses re-sends. */
  publish(machineId: PublicKeyIdV1, msgId: string, bytes: Uint8Array): Promise<void>;
}

/** The agents, as the cell reaches them for jobs (core request/reply on holon.<host>.job). */
export interface AgentJobs {
  run(machineId: PublicKeyIdV1, command: JobCommandV1, timeoutMs: number): Promise<JobResultV1>;
}

/** A guarded job the agent refused (hash mismatch, unreadable executable): the agent's code and reason. */
export class JobRefusedError extends HolonError {
  readonly reason: string;
  constructor(code: string, reason: string) {
    super(code, `job: ${reason}`);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}

export interface ProvisioningDeps {
  store: ProvisionStore;
  machines: { get(id: PublicKeyIdV1): MachineRecord | undefined; enrolled(): MachineRecord[] };
  ledger: ProvisionLedger;
  queue: CommandQueue;
  jobs?: AgentJobs;
  /** a NATS user JWT for the holon's own nkey, allowed only `holon.<id>.>` */
  mintHolonUser(holonId: HolonIdV1, natsUserKey: string, expiresAt: number): Promise<string>;
  allocateSerial(): number;
  /** placement: how many times its measured capacity a machine may be filled (default 1) */
  overcommit?: number;
  cell: CellMaterial;
  clock: Clock;
  logger: Logger;
}

const FAR_FUTURE = 253_402_300_799_000;
const MAX_Q = Number.MAX_SAFE_INTEGER;

/** The principal is the root of every chain: it may do anything the cell allows. */
export const ROOT_MANIFEST: Manifest = {
  grants: [
    {
      action: '/',
      resource: '>',
      caps: { max_children: 1_000_000, max_depth: 255, rate_per_epoch: 1_000_000_000, cpu_seconds: MAX_Q, gpu_seconds: MAX_Q, storage_bytes: MAX_Q, egress_bytes: MAX_Q, cost_usd_cents: MAX_Q },
      not_before: 0,
      not_after: FAR_FUTURE,
    },
  ],
};

const GRANT_CAP_OF: Record<(typeof BUDGET_QUANTITIES)[number], 'cpu_seconds' | 'gpu_seconds' | 'storage_bytes' | 'egress_bytes' | 'cost_usd_cents'> = {
  compute_cpu_seconds: 'cpu_seconds',
  compute_gpu_seconds: 'gpu_seconds',
  storage_bytes: 'storage_bytes',
  network_egress_bytes: 'egress_bytes',
  cost_usd_cents: 'cost_usd_cents',
};

const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);

/** The unit name: the tenant when there is one (tenant = unit = secret bucket), else derived from the request digest. */
export function unitNameFor(requestDigest: CasDigest, tenant: string | undefined): string {
  if (tenant !== undefined) {
    if (!UNIT_NAME_PATTERN.test(tenant)) throw new ProvisionError('tenant-busy', `tenant "${tenant}" cannot name a unit (it must start with a letter and be at most 32 characters)`, '.tenant');
    return tenant;
  }
  return `u-${requestDigest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}

/** The epoch of `rate_per_epoch` quotas on provisioning. */
export const PROVISION_EPOCH_MS = 3_600_000;

export class ProvisioningService {
  readonly #d: ProvisioningDeps;
  readonly #locks = new KeyedLock();
  /** provisions placed per requester in the current epoch (rate_per_epoch); see #checkRate */
  #rate = { epoch: -1, counts: new Map<string, number>() };

  constructor(deps: ProvisioningDeps) {
    this.#d = deps;
  }

  /** Publish what a crash left in the outbox; re-send commands of steps still waiting on an agent. */
  async start(): Promise<void> {
    await this.#flush();
    for (const r of this.#d.store.inStates(['PLACED', 'TEARDOWN'])) {
      if (r.machineId !== null) await this.#d.queue.ensure(r.machineId);
    }
  }


  async #flush(): Promise<void> {
    for (const o of this.#d.store.pendingOutbox()) await this.#publish(o);
  }

  async #publish(o: ProvisionOutboxEntry): Promise<void> {
    if (o.kind === 'ledger') {
      await this.#d.ledger.commit(o.text);
    } else {
      const c = JSON.parse(o.text) as { machine: PublicKeyIdV1; msgId: string; command: string };
      await this.#d.queue.ensure(c.machine);
      await this.#d.queue.publish(c.machine, c.msgId, new TextEncoder().encode(c.command));
    }
    this.#d.store.removeOutbox(o.id);
  }

  /** Persist a step with its ledger entry (prepared under the owner's lock) and command, then publish them. */
  async #step(record: ProvisionRecord, entry: { owner: HolonIdV1; kind: string; body: JsonValue } | undefined, command?: { machine: PublicKeyIdV1; msgId: string; command: string }): Promise<void> {
    const persist = async (): Promise<void> => {
      const outbox: ProvisionOutboxEntry[] = [];
      if (entry !== undefined) {
        const p = await this.#d.ledger.prepare(entry.owner, entry.kind, entry.body, this.#d.clock.now());
        outbox.push({ id: p.id, kind: 'ledger', text: p.text });
      }
      if (command !== undefined) outbox.push({ id: `cmd:${command.msgId}`, kind: 'command', text: JSON.stringify(command) });
      this.#d.store.commit({ record, outbox });
      for (const o of outbox) if (o.kind === 'ledger') await this.#publish(o);
    };
    if (entry !== undefined) await this.#locks.run(`ledger:${entry.owner}`, persist);
    else await persist();
    const cmd = command !== undefined ? this.#d.store.pendingOutbox().find((o) => o.id === `cmd:${command.msgId}`) : undefined;
    if (cmd !== undefined) await this.#publish(cmd);
  }

  // --- provision ---------------------------------------------------------------------------------

  provision(req: ProvisioningRequestV1): Promise<ProvisionStatusV1> {
    const digest = ProvisioningRequestV1.digest(req);
    return this.#locks.run(`req:${digest}`, () => this.#provision(req, digest));
  }

  async #provision(req: ProvisioningRequestV1, digest: CasDigest): Promise<ProvisionStatusV1> {
    const { store, cell, clock } = this.#d;
    const existing = store.get(digest);
    if (existing !== undefined) return this.#status(existing);
    const now = clock.now();
    const requester = req.requesting_holon;
    const replay = store.byNonce(requester, req.request_nonce);
    if (replay !== undefined) throw new ProvisionError('replay', `request_nonce was already used by request ${replay.requestDigest} with another body`, '.request_nonce');
    if (req.expires_at <= now) throw new ProvisionError('expired', `expired at ${req.expires_at} (now ${now})`, '.expires_at');
    if (req.created_at.unix_ms > now + CLOCK_SKEW_MS) throw new ProvisionError('expired', `created ${req.created_at.unix_ms - now} ms in the future`, '.created_at.unix_ms');

    const role = req.requested_role;
    const template = roleTemplate(role);
    if (template === undefined) throw new ProvisionError('role', `${role} is not a unit role`, '.requested_role');
    if (!cell.certificate.allowed_roles.includes(role)) throw new ProvisionError('role', `cell ${cell.cellId} is not allowed to run ${role} (allowed: ${cell.certificate.allowed_roles.join(', ')})`, '.requested_role');

    const authority = this.#authority(requester, now);
    const permit = checkManifestPermits(authority.manifest, `/provision/${role}`, `holon.${requester}.children`, now);
    checkStrictNarrowing(authority.manifest, req.requested_capabilities);
    const childCount = store.countActiveChildren(requester);
    if (childCount >= permit.grant.caps.max_children) {
      throw new ProvisionError('budget', `the requester already has ${childCount} children (max_children ${permit.grant.caps.max_children})`, '.requested_capabilities');
    }
    this.#checkRate(requester, permit.grant.caps.rate_per_epoch, now);
    // Only a holon's budget is carved out (the principal's is the root), so only then are its children read.
    this.#checkBudget(req.resource_budget, authority.budget, authority.budget === null ? [] : store.activeChildren(requester), permit.grant.caps);

    const unitName = unitNameFor(digest, req.tenant);
    if (req.tenant !== undefined) {
      const busy = store.activeByUnit(unitName);
      if (busy !== undefined) throw new ProvisionError('tenant-busy', `tenant ${req.tenant} already has unit ${unitName} (request ${busy.requestDigest})`, '.tenant');
    }
    const machine = placeUnit(req, template, this.#d.machines.enrolled(), (m) => store.usageOn(m), this.#d.overcommit ?? 1);

    const record: ProvisionRecord = {
      requestDigest: digest,
      state: 'PLACED',
      since: now,
      role,
      requester,
      nonce: req.request_nonce,
      machineId: machine.machineId,
      unitName,
      tenant: req.tenant ?? null,
      holonId: null,
      memoryBytes: template.limits.memoryBytes,
      request: text(ProvisioningRequestV1.encode(req)),
      receipt: null,
      natsJwt: null,
      teardown: null,
      destruction: null,
      refusal: null,
    };
    const command = AgentCommandV1.seal(
      {
        op: 'provision',
        request_digest: digest,
        cell_id: cell.cellId,
        machine_id: machine.machineId,
        unit_name: unitName,
        role,
        limits: { cpu_millicores: template.limits.cpuMillicores, memory_bytes: template.limits.memoryBytes, pids: template.limits.pids },
        network: template.network,
        ...(req.tenant !== undefined ? { tenant: req.tenant } : {}),
        issued_at: timeAt(now),
      },
      cell.signer,
    );
    await this.#step(
      record,
      { owner: convertId(requester, 'holon'), kind: 'PROVISION_AUTHORIZED', body: { request_digest: digest, role, machine_id: machine.machineId, unit_name: unitName, tenant: req.tenant ?? null, requester } },
      { machine: machine.machineId, msgId: digest, command: text(AgentCommandV1.encode(command)) },
    );
    this.#d.logger.info({ request_digest: digest, role, machine_id: machine.machineId, unit: unitName }, 'provision placed');
    return this.#status(record);
  }

  /**
   * The quota of provisions per epoch (PROVISION_EPOCH_MS) a requester's grant allows. Caps only shrink down the
   * tree (checkStrictNarrowing), so a child never gets more than its parent. Counted in memory: a restart of the
   * orchestrator starts the epoch's count again (the projection rebuilt from the ledger will carry it).
   */
  #checkRate(requester: HolonIdV1, limit: number, now: number): void {
    const epoch = Math.floor(now / PROVISION_EPOCH_MS);
    if (epoch !== this.#rate.epoch) this.#rate = { epoch, counts: new Map() };
    const used = this.#rate.counts.get(requester) ?? 0;
    if (used >= limit) {
      throw new ProvisionError('quota', `the requester already placed ${used} provisions this epoch (rate_per_epoch ${limit}, epoch ${PROVISION_EPOCH_MS / 60_000} min)`, '.requested_capabilities');
    }
    this.#rate.counts.set(requester, used + 1);
  }

  /** What the requester holds: the principal holds the root; a holon holds what its receipt says. */
  #authority(requester: HolonIdV1, now: number): { manifest: Manifest; budget: ResourceBudgetV1 | null } {
    if (sameKey(requester, this.#d.cell.principalKey)) return { manifest: ROOT_MANIFEST, budget: null };
    const rec = this.#d.store.byHolon(requester);
    if (rec === undefined || rec.receipt === null) throw new ProvisionError('unknown-holon', `${requester} is neither the principal nor a holon of this cell`, '.requesting_holon');
    if (rec.state !== 'RUNNING') throw new ProvisionError('forbidden', `${requester} is ${rec.state}, not RUNNING`, '.requesting_holon');
    const receipt = ProvisioningReceiptV1.parse(JSON.parse(rec.receipt));
    if (receipt.issued_certificate.not_after < now) throw new ProvisionError('expired', `the certificate of ${requester} expired at ${receipt.issued_certificate.not_after}`, '.requesting_holon');
    return { manifest: receipt.capability_manifest, budget: receipt.resource_budget };
  }

  /** A child's budget is carved out of what its parent has left, and within the permitting grant's caps. */
  #checkBudget(asked: ResourceBudgetV1, parent: ResourceBudgetV1 | null, children: ProvisionRecord[], caps: Record<string, number>): void {
    for (const q of BUDGET_QUANTITIES) {
      const cap = caps[GRANT_CAP_OF[q]] ?? 0;
      if (asked[q] > cap) throw new ProvisionError('budget', `${asked[q]} exceeds the permitting grant's ${GRANT_CAP_OF[q]} (${cap})`, `.resource_budget.${q}`);
    }
    if (parent === null) return;
    const reserved = Object.fromEntries(BUDGET_QUANTITIES.map((q) => [q, 0])) as Record<(typeof BUDGET_QUANTITIES)[number], number>;
    for (const c of children) {
      const b = (JSON.parse(c.request) as ProvisioningRequestV1).resource_budget;
      for (const q of BUDGET_QUANTITIES) reserved[q] += b[q];
    }
    for (const q of BUDGET_QUANTITIES) {
      const left = parent[q] - reserved[q];
      if (asked[q] > left) throw new ProvisionError('budget', `${asked[q]} is above what the requester has left (${left} of ${parent[q]})`, `.resource_budget.${q}`);
    }
    if (asked.valid_until.unix_ms > parent.valid_until.unix_ms) {
      throw new ProvisionError('budget', `valid until ${asked.valid_until.unix_ms}, after the requester's ${parent.valid_until.unix_ms}`, '.resource_budget.valid_until.unix_ms');
    }
  }

  // --- agent reports ------------------------------------------------------------------------------

  /** A report from the machine that owns subject `holon.<host>.unit`; `host` is checked against the seal. */
  /**
   * A unit report from an agent. `subject` is where it came (`holon.<host>.unit`), `requester` the key that sealed
   * it: both must be the machine the report names (the bus adapter verified the seal).
   */
  unitReport(report: UnitReportV1, subject: string, requester: PublicKeyIdV1): Promise<UnitReportReplyV1> {
    const subjectHolon = subject.split('.')[1] ?? '';
    if (!sameKey(requester, report.machine_id) || !sameKey(subjectHolon, report.machine_id)) {
      throw new ProvisionError('unit-report', `machine ${report.machine_id} reported on the subject of ${subjectHolon.slice(0, 80)}, sealed by ${requester}`, '.machine_id');
    }
    // The reporter must hold the key of the holon id it names, for this very request.
    if (report.event === 'PROVISIONED' && (report.holon_key_proof === undefined || !verifyHolonKeyProof(report.request_digest, report.holon_id, report.holon_key_proof))) {
      throw new ProvisionError('holon-key', `the report does not prove it holds the key of ${report.holon_id}`, '.holon_key_proof');
    }
    // One claim of a holon id at a time, so two concurrent reports cannot both find it free.
    return this.#locks.run(`holon:${report.holon_id}`, () => this.#locks.run(`req:${report.request_digest}`, () => this.#unitReport(report)));
  }

  /**
   * A PROVISIONED claim of a holon id that another provisioning already holds: refused, and recorded on the
   * claiming machine's chain as a security event (once per request and id: the entry body is the same each time).
   */
  async #refuseTakenHolonId(rec: ProvisionRecord, report: UnitReportV1, holder: ProvisionRecord): Promise<never> {
    const body = { request_digest: rec.requestDigest, holon_id: report.holon_id, machine_id: report.machine_id, unit_name: report.unit_name, held_by_request: holder.requestDigest, report_digest: UnitReportV1.digest(report) };
    this.#d.logger.warn({ ...body }, 'security: a unit report claimed a holon id that is already issued; refused');
    await this.#step(rec, { owner: convertId(report.machine_id, 'holon'), kind: 'SECURITY_HOLON_ID_CLAIM_REFUSED', body });
    throw new ProvisionError('holon-id-taken', `holon ${report.holon_id} is already issued to provisioning ${holder.requestDigest}`, '.holon_id');
  }

  async #unitReport(report: UnitReportV1): Promise<UnitReportReplyV1> {
    const { store, cell, clock } = this.#d;
    // The report's request digest is the provisioning's (PROVISIONED) or the teardown's (DESTROYED).
    const rec = report.event === 'PROVISIONED' ? store.get(report.request_digest) : store.byHolon(report.holon_id);
    if (rec === undefined) throw new ProvisionError('unit-report', `no provisioning for ${report.request_digest}`, '.request_digest');
    if (rec.machineId !== report.machine_id || rec.unitName !== report.unit_name) {
      throw new ProvisionError('unit-report', `${report.request_digest} is placed on ${rec.machineId ?? 'no machine'} as ${rec.unitName ?? '-'}, not ${report.machine_id} as ${report.unit_name}`, '.unit_name');
    }
    const now = clock.now();
    const reply = (body: Omit<UnitReportReplyV1, 'cell_id' | 'at' | 'cell_seal' | 'request_digest'>): UnitReportReplyV1 =>
      UnitReportReplyV1.seal({ request_digest: report.request_digest, cell_id: cell.cellId, ...body, at: timeAt(now) }, cell.signer);

    if (report.event === 'PROVISIONED') {
      if (rec.receipt !== null && rec.natsJwt !== null) {
        if (rec.holonId !== report.holon_id) throw new ProvisionError('unit-report', `the unit was already issued as ${rec.holonId ?? '-'}, not ${report.holon_id}`, '.holon_id');
        return reply({ receipt: ProvisioningReceiptV1.parse(JSON.parse(rec.receipt)), nats_user_jwt: rec.natsJwt });
      }
      if (rec.state !== 'PLACED') throw new ProvisionError('unit-report', `provisioning ${rec.requestDigest} is ${rec.state}`, '.event');
      const holder = store.byHolon(report.holon_id);
      if (holder !== undefined && holder.requestDigest !== rec.requestDigest) return this.#refuseTakenHolonId(rec, report, holder);
      const req = ProvisioningRequestV1.parse(JSON.parse(rec.request));
      const notAfter = Math.min(req.resource_budget.valid_until.unix_ms, cell.certificate.not_after);
      const certificate = HolonCertificateV1.seal(
        {
          holon_id: report.holon_id,
          role: req.requested_role,
          cell_id: cell.cellId,
          parent_holon: req.requesting_holon,
          capability_manifest_digest: CapabilityManifestV1.digest(req.requested_capabilities),
          // The sealed request is the act of delegation: it names the manifest and is signed by the parent.
          delegation_digest: rec.requestDigest,
          not_before: Math.min(now, notAfter),
          not_after: notAfter,
          serial: this.#d.allocateSerial(),
        },
        cell.signer,
      );
      const receipt = ProvisioningReceiptV1.seal(
        {
          request_digest: rec.requestDigest,
          assigned_holon_id: report.holon_id,
          assigned_cell_id: cell.cellId,
          issued_certificate: certificate,
          capability_manifest: req.requested_capabilities,
          resource_budget: req.resource_budget,
          parent_holon: req.requesting_holon,
          provisioned_at: timeAt(now),
        },
        cell.signer,
      );
      const jwt = await this.#d.mintHolonUser(report.holon_id, report.nats_user_key as string, notAfter);
      const next: ProvisionRecord = { ...rec, state: 'RUNNING', since: now, holonId: report.holon_id, receipt: text(ProvisioningReceiptV1.encode(receipt)), natsJwt: jwt };
      await this.#step(next, {
        owner: report.holon_id,
        kind: 'HOLON_PROVISIONED',
        body: {
          request_digest: rec.requestDigest,
          receipt_digest: ProvisioningReceiptV1.digest(receipt),
          report_digest: UnitReportV1.digest(report),
          machine_id: report.machine_id,
          unit_name: report.unit_name,
          adapter: report.adapter,
          parent: req.requesting_holon,
          role: req.requested_role,
          certificate_serial: certificate.serial,
        },
      });
      this.#d.logger.info({ request_digest: rec.requestDigest, holon_id: report.holon_id }, 'provisioned; receipt issued');
      return reply({ receipt, nats_user_jwt: jwt });
    }

    // DESTROYED
    if (rec.destruction !== null) return reply({ destruction: UnitDestructionReceiptV1.parse(JSON.parse(rec.destruction)) });
    if (rec.state !== 'TEARDOWN' || rec.teardown === null) throw new ProvisionError('unit-report', `holon ${report.holon_id} is ${rec.state}, not being torn down`, '.event');
    if (rec.teardown.requestDigest !== report.request_digest) throw new ProvisionError('unit-report', `the teardown of ${report.holon_id} is ${rec.teardown.requestDigest}`, '.request_digest');
    const req = ProvisioningRequestV1.parse(JSON.parse(rec.request));
    const destruction = UnitDestructionReceiptV1.seal(
      {
        holon_id: report.holon_id,
        request_digest: rec.teardown.requestDigest,
        cell_id: cell.cellId,
        machine_id: report.machine_id,
        unit_name: report.unit_name,
        evidence_head: null,
        evidence_replicated: false,
        resources_released: req.resource_budget,
        destroyed_at: timeAt(now),
      },
      cell.signer,
    );
    const next: ProvisionRecord = { ...rec, state: 'DESTROYED', since: now, destruction: text(UnitDestructionReceiptV1.encode(destruction)) };
    await this.#step(next, {
      owner: report.holon_id,
      kind: 'HOLON_DESTROYED',
      body: { teardown_digest: rec.teardown.requestDigest, destruction_digest: UnitDestructionReceiptV1.digest(destruction), report_digest: UnitReportV1.digest(report), machine_id: report.machine_id, unit_name: report.unit_name, evidence_replicated: false },
    });
    this.#d.logger.info({ holon_id: report.holon_id }, 'destroyed; receipt issued');
    return reply({ destruction });
  }

  // --- teardown -----------------------------------------------------------------------------------

  teardown(req: TeardownRequestV1): Promise<ProvisionStatusV1> {
    return this.#locks.run(`holon:${req.holon_id}`, () => this.#teardown(req));
  }

  async #teardown(req: TeardownRequestV1): Promise<ProvisionStatusV1> {
    const { store, cell, clock } = this.#d;
    const now = clock.now();
    const rec = store.byHolon(req.holon_id);
    if (rec === undefined) throw new ProvisionError('unknown-holon', `no holon ${req.holon_id} in this cell`, '.holon_id');
    const requester = req.principal_seal.key;
    if (!sameKey(requester, cell.principalKey) && !sameKey(requester, rec.requester) && !sameKey(requester, cell.cellId)) {
      throw new ProvisionError('forbidden', `${requester} is neither the principal nor the parent of ${req.holon_id}`, '.principal_seal.key');
    }
    const digest = TeardownRequestV1.digest(req);
    if (rec.state === 'DESTROYED' || rec.state === 'TEARDOWN') return this.#status(rec);
    if (rec.state !== 'RUNNING' || rec.machineId === null || rec.unitName === null) throw new ProvisionError('not-ready', `holon ${req.holon_id} is ${rec.state}; try again when it runs`, '.holon_id');
    if (req.requested_at.unix_ms > now + CLOCK_SKEW_MS) throw new ProvisionError('expired', 'requested in the future', '.requested_at.unix_ms');
    const command = AgentCommandV1.seal(
      { op: 'destroy', request_digest: digest, cell_id: cell.cellId, machine_id: rec.machineId, unit_name: rec.unitName, holon_id: req.holon_id, issued_at: timeAt(now) },
      cell.signer,
    );
    const next: ProvisionRecord = { ...rec, state: 'TEARDOWN', since: now, teardown: { requestDigest: digest, reason: req.reason, requester } };
    await this.#step(
      next,
      { owner: req.holon_id, kind: 'TEARDOWN_REQUESTED', body: { teardown_digest: digest, reason: req.reason, requester, basic: true } },
      { machine: rec.machineId, msgId: digest, command: text(AgentCommandV1.encode(command)) },
    );
    return this.#status(next);
  }

  // --- guarded jobs -------------------------------------------------------------------------------

  /** Authorize a job (principal or the holon's parent; the holon RUNNING), record it, have the agent run it, record the result. */
  async runJob(req: JobRequestV1): Promise<JobResultV1> {
    const { store, cell, clock } = this.#d;
    if (this.#d.jobs === undefined) throw new ProvisionError('not-ready', 'this cell runs no jobs', '.holon_id');
    const now = clock.now();
    const rec = store.byHolon(req.holon_id);
    if (rec === undefined) throw new ProvisionError('unknown-holon', `no holon ${req.holon_id} in this cell`, '.holon_id');
    const requester = req.requester_seal.key;
    if (!sameKey(requester, cell.principalKey) && !sameKey(requester, rec.requester)) {
      throw new ProvisionError('forbidden', `${requester} is neither the principal nor the parent of ${req.holon_id}`, '.requester_seal.key');
    }
    if (rec.state !== 'RUNNING' || rec.machineId === null || rec.unitName === null) throw new ProvisionError('not-ready', `holon ${req.holon_id} is ${rec.state}`, '.holon_id');
    if (Math.abs(req.requested_at.unix_ms - now) > CLOCK_SKEW_MS) throw new ProvisionError('expired', `requested ${now - req.requested_at.unix_ms} ms from now`, '.requested_at.unix_ms');
    const digest = JobRequestV1.digest(req);
    const jobId = jobIdOf(digest);
    const owner = req.holon_id;
    const append = (kind: string, body: JsonValue): Promise<void> =>
      this.#locks.run(`ledger:${owner}`, async () => {
        const p = await this.#d.ledger.prepare(owner, kind, body, clock.now());
        await this.#d.ledger.commit(p.text);
      });
    await append('JOB_AUTHORIZED', { job_id: jobId, request_digest: digest, requester, argv0: req.argv[0] as string, argc: req.argv.length, sha256: req.sha256, timeout_ms: req.timeout_ms });
    const command = JobCommandV1.seal(
      { job_id: jobId, request_digest: digest, cell_id: cell.cellId, machine_id: rec.machineId, holon_id: req.holon_id, unit_name: rec.unitName, argv: req.argv, sha256: req.sha256, timeout_ms: req.timeout_ms, issued_at: timeAt(now) },
      cell.signer,
    );
    let result: JobResultV1;
    try {
      result = await this.#d.jobs.run(rec.machineId, command, req.timeout_ms + 30_000);
    } catch (e) {
      const code = e instanceof HolonError ? e.code : 'HOLON_E_INTERNAL';
      await append('JOB_FAILED', { job_id: jobId, code, reason: (e instanceof Error ? e.message : String(e)).slice(0, 512) });
      throw e;
    }
    const evidence = {
      job_id: jobId,
      result_digest: JobResultV1.digest(result),
      outcome: result.outcome,
      executable_sha256: result.executable_sha256,
      exit_code: result.exit_code,
      signal: result.signal,
      timed_out: result.timed_out,
      stdout_sha256: result.stdout_sha256,
      stderr_sha256: result.stderr_sha256,
      stdout_bytes: result.stdout_bytes,
      stderr_bytes: result.stderr_bytes,
    };
    if (result.outcome === 'REFUSED') {
      await append('JOB_REFUSED', { ...evidence, code: result.refusal?.code ?? 'HOLON_E_JOB', reason: result.refusal?.reason ?? '' });
      throw new JobRefusedError(result.refusal?.code ?? 'HOLON_E_JOB', result.refusal?.reason ?? 'refused by the agent');
    }
    await append('JOB_RESULT', evidence);
    return result;
  }

  // --- queries ------------------------------------------------------------------------------------

  status(q: ProvisionStatusRequestV1): ProvisionStatusV1 {
    const { store } = this.#d;
    const rec = q.request_digest !== undefined ? store.get(q.request_digest) : store.byHolon(q.holon_id as HolonIdV1);
    if (rec === undefined) throw new ProvisionError('unknown-holon', `no provisioning ${q.request_digest ?? q.holon_id ?? ''} in this cell`, q.request_digest !== undefined ? '.request_digest' : '.holon_id');
    this.#mayRead(q.requester_seal.key, rec);
    return this.#status(rec);
  }

  list(q: HolonListRequestV1): HolonListV1 {
    const key = q.requester_seal.key;
    const principal = sameKey(key, this.#d.cell.principalKey);
    const rows = this.#d.store.list({
      limit: q.limit + 1,
      includeDestroyed: q.include_destroyed,
      ...(q.after !== undefined ? { after: q.after } : {}),
      ...(principal ? {} : { requester: convertId(key, 'holon') }),
    });
    const page = rows.slice(0, q.limit);
    return HolonListV1.seal({ cell_id: this.#d.cell.cellId, holons: page.map(rowOf), more: rows.length > q.limit, at: timeAt(this.#d.clock.now()) }, this.#d.cell.signer);
  }

  #mayRead(key: string, rec: ProvisionRecord): void {
    if (sameKey(key, this.#d.cell.principalKey) || sameKey(key, rec.requester) || (rec.holonId !== null && sameKey(key, rec.holonId))) return;
    throw new ProvisionError('forbidden', `${key} may not read provisioning ${rec.requestDigest}`, '.requester_seal.key');
  }

  #status(rec: ProvisionRecord): ProvisionStatusV1 {
    return ProvisionStatusV1.seal(
      {
        cell_id: this.#d.cell.cellId,
        holon: rowOf(rec),
        ...(rec.receipt !== null ? { receipt: ProvisioningReceiptV1.parse(JSON.parse(rec.receipt)) } : {}),
        ...(rec.destruction !== null ? { destruction: UnitDestructionReceiptV1.parse(JSON.parse(rec.destruction)) } : {}),
        at: timeAt(this.#d.clock.now()),
      },
      this.#d.cell.signer,
    );
  }
}

function rowOf(r: ProvisionRecord): HolonRowV1 {
  return {
    request_digest: r.requestDigest,
    state: r.state,
    role: r.role as HolonRowV1['role'],
    requester: r.requester,
    machine_id: r.machineId,
    unit_name: r.unitName,
    tenant: r.tenant,
    holon_id: r.holonId,
    since: r.since,
    ...(r.refusal !== null ? { refusal: r.refusal } : {}),
  };
}

