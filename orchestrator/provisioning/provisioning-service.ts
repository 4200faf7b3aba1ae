/**
 * The cell side of provisioning (DESIGN §5) as a service:
 *
 *   provision(request)  authorize (authorize.ts) → PROVISION_AUTHORIZED → PLACED, with its agent command
 *   unitReport(report)  PROVISIONED: certificate + NATS JWT + receipt → HOLON_PROVISIONED → RUNNING
 *                       DESTROYED:   destruction receipt → HOLON_DESTROYED → DESTROYED
 *   teardown(request)   TEARDOWN_REQUESTED → TEARDOWN, with its destroy command
 *   status / list       queries.ts;  runJob: jobs.ts
 *
 * Every state change is an event applied by the one reducer
 * (provision-events.ts) and committed with its ledger entry and command in
 * one transaction (the outbox), then published (../step-writer.ts). The
 * request digest keys everything: a step already taken is answered again
 * with what was persisted; a crash between persisting and publishing is
 * repaired by flushing the outbox at start (re-publishing collapses on the
 * entry digest / command msg id).
 */
import type { Logger } from 'pino';
import type { Clock } from '../../bus-schemas/clock.js';
import type { MetricsPort } from '../../bus-schemas/metrics-port.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { convertId, type HolonIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import { KeyedLock } from '../../bus-schemas/keyed-lock.js';
import { sameKey } from '../../bus-schemas/v1/holon-certificate.js';
import { verifyHolonKeyProof } from '../../bus-schemas/v1/holon-key-proof.js';
import type { JobRequestV1, JobResultV1 } from '../../bus-schemas/v1/job.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../../bus-schemas/v1/teardown-request.js';
import type { BudgetTopupV1 } from '../../bus-schemas/v1/budget-topup.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import {
  AgentCommandV1,
  UnitReportReplyV1,
  type UnitReportV1,
  type HolonListRequestV1,
  type HolonListV1,
  type ProvisionStatusRequestV1,
  type ProvisionStatusV1,
} from '../../bus-schemas/v1/unit-flow.js';
import type { CellMaterial } from '../cell-material.js';
import type { MachineRecord } from '../machine-registry.js';
import { StepWriter, type StepLedger } from '../step-writer.js';
import { authorize, CLOCK_SKEW_MS } from './authorize.js';
import { pendingCommand } from './commands.js';
import { runJob, type AgentJobs } from './jobs.js';
import { applyProvisionEvent, provisionEventBody, type ProvisionEvent } from './provision-events.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionRecord, ProvisionStore } from './provision-store.js';
import * as budgets from './budgets.js';
import * as reports from './unit-reports.js';
import type { Exhaustion } from './budgets.js';
import * as queries from './queries.js';
import { holonUsage, type UsageAccount } from '../metering/usage-account.js';

export { CLOCK_SKEW_MS, PROVISION_EPOCH_MS, ROOT_MANIFEST, unitNameFor } from './authorize.js';
export { JobRefusedError, type AgentJobs } from './jobs.js';
export { pendingCommand } from './commands.js';

/** The agents' work queues. */
export interface CommandQueue {
  /** Make sure the agent's queue consumer exists (idempotent). */
  ensure(machineId: PublicKeyIdV1): Promise<void>;
  /** Publish a sealed command; `msgId` collapses re-sends. */
  publish(machineId: PublicKeyIdV1, msgId: string, bytes: Uint8Array): Promise<void>;
}

export interface ProvisioningDeps {
  store: ProvisionStore;
  machines: { get(id: PublicKeyIdV1): MachineRecord | undefined; enrolled(): MachineRecord[] };
  ledger: StepLedger;
  queue: CommandQueue;
  jobs?: AgentJobs;
  /** a NATS user JWT for the holon's own nkey, allowed only `holon.<id>.>` */
  mintHolonUser(holonId: HolonIdV1, natsUserKey: string, expiresAt: number): Promise<string>;
  allocateSerial(): number;
  /** placement: how many times its measured capacity a machine may be filled (default 1) */
  overcommit?: number;
  /** SIGTERM-to-kill grace of a unit whose budget ran out under TEARDOWN (default 5 s) */
  exhaustionGraceMs?: number;
  /** NOTIFY: tell the parent (budgets.ts) */
  notify?: (parent: HolonIdV1, status: ProvisionStatusV1) => void;
  /** a holon's usage account (the metering service's), for status answers */
  usageOf?: (holonId: HolonIdV1) => UsageAccount | undefined;
  cell: CellMaterial;
  clock: Clock;
  logger: Logger;
  /** Prometheus figures (bus-schemas/metrics-port.ts, docs/metrics.md); absent: NOOP_METRICS. orchestrator/main.ts passes the daemon's. */
  metrics?: MetricsPort;
}

export class ProvisioningService {
  readonly #d: ProvisioningDeps;
  readonly #locks = new KeyedLock();
  readonly #writer: StepWriter<AgentCommandV1>;

  constructor(deps: ProvisioningDeps) {
    this.#d = deps;
    this.#writer = new StepWriter<AgentCommandV1>({ ledger: deps.ledger, outbox: deps.store, clock: deps.clock, commands: { id: (c) => `cmd:${c.request_digest}`, send: (c) => this.#send(c) } });
  }

  async #send(c: AgentCommandV1): Promise<void> {
    await this.#d.queue.ensure(c.machine_id);
    await this.#d.queue.publish(c.machine_id, c.request_digest, AgentCommandV1.encode(c));
  }

  /** Publish what a crash left in the outbox; make sure the queues of steps still waiting on an agent exist. */
  async start(): Promise<void> {
    await this.#writer.flush();
    for (const r of this.#d.store.inStates(['PLACED', 'TEARDOWN'])) {
      if (r.machineId !== null) await this.#d.queue.ensure(r.machineId);
    }
  }

  /**
   * Apply `event` (owned by `owner`'s chain) to `rec` and persist the result with its ledger entry and command in
   * ONE transaction (the outbox), then publish both. Returns the new record.
   */
  async #step(rec: ProvisionRecord | undefined, owner: HolonIdV1, event: ProvisionEvent, command?: AgentCommandV1): Promise<ProvisionRecord> {
    // One time for the record and its entry, so the rebuild (which applies at the entry's time) gives the same record.
    const at = this.#d.clock.now();
    const next = applyProvisionEvent(rec, event, at);
    await this.#append(owner, event.kind, provisionEventBody(event) as JsonValue, next, command, at);
    return next;
  }

  /** Persist `record` with one entry of `owner`'s chain (and a command), in one transaction; then publish them. */
  #append(owner: HolonIdV1, kind: string, body: JsonValue, record: ProvisionRecord, command?: AgentCommandV1, at = this.#d.clock.now()): Promise<void> {
    return this.#writer.write({ owner, kind, body, at }, (outbox) => this.#d.store.commit({ record, outbox }), command);
  }

  // --- provision ---------------------------------------------------------------------------------

  provision(req: ProvisioningRequestV1): Promise<ProvisionStatusV1> {
    const digest = ProvisioningRequestV1.digest(req);
    return this.#locks.run(`req:${digest}`, () => this.#provision(req, digest));
  }

  async #provision(req: ProvisioningRequestV1, digest: CasDigest): Promise<ProvisionStatusV1> {
    const { store, cell, clock, machines } = this.#d;
    const existing = store.get(digest);
    if (existing !== undefined) return this.#status(existing);
    const now = clock.now();
    const view = {
      byNonce: (r: HolonIdV1, n: string) => store.byNonce(r, n),
      byHolon: (h: HolonIdV1) => store.byHolon(h),
      activeChildren: (r: HolonIdV1) => store.activeChildren(r),
      countActiveChildren: (r: HolonIdV1) => store.countActiveChildren(r),
      countPlacedSince: (r: HolonIdV1, since: number) => store.countPlacedSince(r, since),
      activeByUnit: (u: string) => store.activeByUnit(u),
      usageOn: (m: PublicKeyIdV1) => store.usageOn(m),
      enrolled: () => machines.enrolled(),
    };
    const decision = authorize(req, digest, view, {
      now,
      cell: { cellId: cell.cellId, principalKey: cell.principalKey, allowedRoles: cell.certificate.allowed_roles },
      overcommit: this.#d.overcommit ?? 1,
      ...(cell.policy.fleet_capital_cents !== undefined ? { fleetCapitalCents: cell.policy.fleet_capital_cents } : {}),
    });
    const event: ProvisionEvent = {
      kind: 'PROVISION_AUTHORIZED',
      request_digest: digest,
      role: decision.role,
      machine_id: decision.machine.machineId,
      unit_name: decision.unitName,
      tenant: req.tenant ?? null,
      requester: req.requesting_holon,
      nonce: req.request_nonce,
      memory_bytes: decision.template.limits.memoryBytes,
      budget: req.resource_budget,
      manifest: req.requested_capabilities,
    };
    const placed = applyProvisionEvent(undefined, event, now);
    const command = pendingCommand(placed, cell, now) as AgentCommandV1;
    const record = await this.#step(undefined, convertId(req.requesting_holon, 'holon'), event, command);
    this.#d.logger.info({ request_digest: digest, role: decision.role, machine_id: decision.machine.machineId, unit: decision.unitName }, 'provision placed');
    return this.#status(record);
  }

  // --- agent reports ------------------------------------------------------------------------------

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
    const ctx = this.#reportContext();
    return report.event === 'PROVISIONED' ? reply(await reports.provisioned(ctx, rec, report, now)) : reply(await reports.destroyed(ctx, rec, report, now));
  }

  #reportContext(): reports.ReportContext {
    const { store, cell, logger } = this.#d;
    return {
      store,
      cell,
      logger,
      allocateSerial: () => this.#d.allocateSerial(),
      mintHolonUser: (h, k, e) => this.#d.mintHolonUser(h, k, e),
      step: (rec, owner, event) => this.#step(rec, owner, event),
      append: (owner, kind, body, rec) => this.#append(owner, kind, body, rec),
    };
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
    const event: ProvisionEvent = { kind: 'TEARDOWN_REQUESTED', request_digest: rec.requestDigest, teardown_digest: digest, reason: req.reason, requester, basic: true };
    const command = pendingCommand(applyProvisionEvent(rec, event, now), cell, now, this.#graceOpts());
    return this.#status(await this.#step(rec, req.holon_id, event, command));
  }

  // --- budgets ------------------------------------------------------------------------------------

  /** A budget ran out (budgets.ts): the holon's policy, once. */
  budgetExhausted(holonId: HolonIdV1, ex: Exhaustion): Promise<ProvisionRecord | undefined> {
    return this.#locks.run(`holon:${holonId}`, () => budgets.exhaust(this.#budgetContext(), holonId, ex));
  }

  /** A top-up from the principal or the holon's parent (budgets.ts). */
  topup(req: BudgetTopupV1): Promise<ProvisionStatusV1> {
    return this.#locks.run(`holon:${req.holon_id}`, () => budgets.topup(this.#budgetContext(), req));
  }

  #budgetContext(): budgets.BudgetContext {
    const { store, cell, clock, logger } = this.#d;
    return {
      store,
      cell,
      clock,
      logger,
      grace: this.#graceOpts(),
      step: (rec, owner, event, command) => this.#step(rec, owner, event, command),
      status: (rec) => this.#status(rec),
      ...(this.#d.notify !== undefined ? { notify: this.#d.notify } : {}),
    };
  }

  #graceOpts(): { exhaustionGraceMs?: number } {
    return this.#d.exhaustionGraceMs !== undefined ? { exhaustionGraceMs: this.#d.exhaustionGraceMs } : {};
  }

  // --- jobs and queries ---------------------------------------------------------------------------

  runJob(req: JobRequestV1): Promise<JobResultV1> {
    return runJob(req, {
      store: this.#d.store,
      jobs: this.#d.jobs,
      cell: this.#d.cell,
      clock: this.#d.clock,
      append: (owner, kind, body) => this.#writer.append(owner, kind, body),
    });
  }

  status(q: ProvisionStatusRequestV1): ProvisionStatusV1 {
    return queries.status(q, this.#query());
  }

  list(q: HolonListRequestV1): HolonListV1 {
    return queries.list(q, this.#query());
  }

  #query(): queries.QueryContext {
    return { store: this.#d.store, cell: this.#d.cell, now: this.#d.clock.now(), ...this.#usage() };
  }

  #status(rec: ProvisionRecord): ProvisionStatusV1 {
    return queries.statusOf(rec, { cell: this.#d.cell, now: this.#d.clock.now(), ...this.#usage() });
  }

  #usage(): Pick<queries.QueryContext, 'usageOf'> {
    const of = this.#d.usageOf;
    if (of === undefined) return {};
    return { usageOf: (rec) => holonUsage(rec.budget, of(rec.holonId as HolonIdV1), rec.exhaustion) };
  }
}
