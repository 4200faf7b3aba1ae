/**
 * The cell side of bootstrap as a service: hello → challenge, attest →
 * status, status → status, approve → row, list → rows. The checks are the
 * pure halves in bus-schemas/bootstrap/cell-side.ts; the parts of this
 * service decide the state (machine-registry.ts), persist it, and only then
 * answer:
 *
 *   bootstrap-handshake.ts  hello and attest (the machine's half)
 *   machine-enrollment.ts   approvals, enrollment, status; principal requests
 *   machine-steps.ts        one machine step: reducer, then the step writer
 *   this file               one step per machine at a time; start, sweep, list
 *
 * Crash safety: every step is one store transaction that also holds the
 * step's ledger entry (write-ahead outbox, step-writer.ts); the entry is then
 * published and removed from the outbox. At start, and before any step,
 * leftover entries are published first (a re-publish collapses on its msg
 * id). A step already done is recognised and answered again: the same hello
 * gets the same open challenge, an attest already accepted gets the current
 * status, an ENROLLED machine gets the same certificate. Steps of one machine
 * run one at a time (one orchestrator per cell).
 */
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { KeyedLock } from '../bus-schemas/keyed-lock.js';
import type { BootstrapAttestV1 } from '../bus-schemas/v1/bootstrap-attest.js';
import type { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import type { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import type { BootstrapStatusRequestV1 } from '../bus-schemas/v1/bootstrap-status-request.js';
import type { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import type { MachineApprovalV1 } from '../bus-schemas/v1/machine-approval.js';
import type { MachineListRequestV1, MachineListV1 } from '../bus-schemas/v1/machine-list.js';
import type { BootstrapServiceDeps } from './bootstrap-deps.js';
import { BootstrapHandshake } from './bootstrap-handshake.js';
import { cellBootstrapPolicy } from './cell-policy.js';
import { MachineEnrollment } from './machine-enrollment.js';
import type { MachineRecord } from './machine-registry.js';
import { MachineSteps } from './machine-steps.js';

export type { BootstrapServiceDeps } from './bootstrap-deps.js';

export class BootstrapService {
  readonly #d: BootstrapServiceDeps;
  readonly #locks = new KeyedLock();
  readonly #steps: MachineSteps;
  readonly #handshake: BootstrapHandshake;
  readonly #enrollment: MachineEnrollment;

  constructor(deps: BootstrapServiceDeps) {
    this.#d = deps;
    this.#steps = new MachineSteps(deps);
    this.#enrollment = new MachineEnrollment(deps, this.#steps);
    this.#handshake = new BootstrapHandshake(deps, this.#steps, this.#enrollment);
  }

  /** Publish what a crash left in the outbox, drop expired sessions, finish enrollments that were due. */
  async start(): Promise<void> {
    const { store, clock } = this.#d;
    await this.#steps.flush();
    store.purgeExpiredSessions(clock.now());
    for (let after: string | undefined; ; ) {
      const page = store.listMachines({ limit: 500, ...(after !== undefined ? { after } : {}) });
      for (const r of page) {
        if (r.state === 'ATTESTED') await this.#locks.run(r.machineId, () => this.#enrollment.enrollIfDue(r.machineId));
      }
      if (page.length < 500) break;
      after = (page[page.length - 1] as MachineRecord).machineId;
    }
  }

  /** Drop sessions whose answer can no longer arrive (kept one TTL longer, so a late answer is "stale", not "unknown"). */
  sweep(): number {
    const ttl = cellBootstrapPolicy(this.#d.config, this.#d.cell).challengeTtlMs;
    return this.#d.store.purgeExpiredSessions(this.#d.clock.now() - ttl);
  }

  hello(hello: BootstrapHelloV1): Promise<BootstrapChallengeV1> {
    return this.#step(hello.machine_id, () => this.#handshake.hello(hello));
  }

  attest(attest: BootstrapAttestV1): Promise<BootstrapStatusV1> {
    return this.#step(attest.machine_id, () => this.#handshake.attest(attest));
  }

  status(req: BootstrapStatusRequestV1): Promise<BootstrapStatusV1> {
    return this.#step(req.machine_id, () => this.#enrollment.status(req));
  }

  approve(approval: MachineApprovalV1): Promise<MachineListV1> {
    return this.#step(approval.machine_id, () => this.#enrollment.approve(approval));
  }

  list(req: MachineListRequestV1): MachineListV1 {
    const now = this.#d.clock.now();
    this.#enrollment.checkPrincipalRequest(req.principal_seal.key, req.cell_id, req.sent_at.unix_ms, now);
    const rows = this.#d.store.listMachines({ limit: req.limit + 1, ...(req.after !== undefined ? { after: req.after } : {}) });
    return this.#enrollment.sealList(rows.slice(0, req.limit), rows.length > req.limit, now);
  }

  /** One step of machine `id`, after any earlier one of it, once what a crash left in the outbox is published. */
  #step<T>(id: PublicKeyIdV1, run: () => Promise<T>): Promise<T> {
    return this.#locks.run(id, async () => {
      await this.#steps.flush();
      return run();
    });
  }
}
