/**
 * A machine step, as every bootstrap part takes one: the one reducer
 * (machine-registry.ts) decides the next record, then the step writer
 * (step-writer.ts) persists it with the step's side data and its ledger
 * entry in one transaction and publishes the entry. A refusal is a step too
 * (MACHINE_REFUSED), logged.
 */
import type { Logger } from 'pino';
import type { BootstrapError } from '../bus-schemas/bootstrap/bootstrap-error.js';
import { convertId, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { JsonValue } from '../bus-schemas/json-value.js';
import type { BootstrapServiceDeps } from './bootstrap-deps.js';
import { eventBody, type MachineEvent, type RefusedEvent } from './machine-events.js';
import { applyMachineEvent, type MachineRecord } from './machine-registry.js';
import type { MachineStore, StepWrite } from './machine-store.js';
import { StepWriter } from './step-writer.js';

/** What a step writes besides the machine and its ledger entry: session, seen quote, AK clock, used nonce, JWT. */
export type StepExtra = Omit<StepWrite, 'machine' | 'outbox'>;

export class MachineSteps {
  readonly #store: MachineStore;
  readonly #logger: Logger;
  readonly #writer: StepWriter<never>;

  constructor({ store, ledger, clock, logger }: Pick<BootstrapServiceDeps, 'store' | 'ledger' | 'clock' | 'logger'>) {
    this.#store = store;
    this.#logger = logger;
    // The machine store's outbox holds ledger entries only.
    const outbox = {
      pendingOutbox: () => store.pendingOutbox().map((e) => ({ id: e.id, kind: 'ledger' as const, text: e.text })),
      removeOutbox: (id: string) => store.removeOutbox(id),
    };
    this.#writer = new StepWriter<never>({ ledger, outbox, clock });
  }

  /** Publish what a crash left in the outbox (a re-publish collapses on the entry digest). */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /** Decide, persist (state + side data + ledger entry in one transaction), then publish the entry. */
  async record(rec: MachineRecord | undefined, event: MachineEvent, now: number, extra: StepExtra = {}): Promise<MachineRecord> {
    const next = applyMachineEvent(rec, event, now);
    const entry = { owner: convertId(event.machine_id, 'holon'), kind: event.kind, body: eventBody(event) as JsonValue, at: now };
    await this.#writer.write(entry, ([ledger]) => this.#store.commit({ ...extra, machine: next, outbox: { id: ledger.id, text: ledger.text } }));
    return next;
  }

  /** Record and log a refusal; the caller then throws `e`. */
  refuse(rec: MachineRecord | undefined, id: PublicKeyIdV1, step: RefusedEvent['step'], e: BootstrapError, now: number, extra: StepExtra = {}): Promise<MachineRecord> {
    this.#logger.info({ machine: id, step, code: e.code, reason: e.reason }, 'bootstrap step refused');
    return this.record(rec, { kind: 'MACHINE_REFUSED', machine_id: id, step, code: e.code, reason: e.reason.slice(0, 512) }, now, extra);
  }
}
