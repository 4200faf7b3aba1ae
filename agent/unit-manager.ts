/**
 * The agent side of provisioning (DESIGN §5 step 4): the wiring. Commands
 * arrive on the machine's CMD work queue (a JetStream push consumer
 * delivering to `holon.<host>.cmd`); each is verified against the enrolled
 * cell's key and carried out by the state machine of unit-steps.ts, one
 * command per unit at a time, then acknowledged. A command that does not
 * verify is terminated, never run; one that fails is redelivered after a
 * delay (every step is idempotent). Guarded jobs arrive on
 * `holon.<host>.job` (job-handler.ts). At start, what a crash interrupted is
 * resumed at once rather than after the queue's ack wait.
 *
 * Answers go only where they may: acknowledgements only under this
 * machine's own `$JS.ACK.CMD.<consumer>`, job answers only into the cell's
 * inbox. Refusals of bad input are logged within a budget, so a flood costs
 * bounded log space.
 */
import { KeyedLock } from '../bus-schemas/keyed-lock.js';
import { HolonError } from '../bus-schemas/errors.js';
import { convertId } from '../bus-schemas/ids.js';
import { LogBudget, type LogSummary } from '../bus-schemas/log-budget.js';
import { AGENT_COMMAND_TOKEN, agentConsumerName, holonSubject, inboxPrefix, JOB_COMMAND_TOKEN } from '../bus-schemas/subjects.js';
import { AgentCommandV1 } from '../bus-schemas/v1/unit-flow.js';
import type { BusMessage, BusSubscription } from './bus-port.js';
import { handleJob } from './job-handler.js';
import type { KeyStore } from './key-store.js';
import { UnitStates, UnitCommandError } from './unit-state.js';
import { destroyUnit, freezeUnit, provisionUnit, thawUnit, type UnitStepDeps } from './unit-steps.js';
import type { MeteredUnit } from './meter.js';

export { UNIT_FILES, UnitCommandError } from './unit-state.js';
export type { TenantEnvPort } from './unit-steps.js';

export interface UnitManagerDeps extends UnitStepDeps {
  store: KeyStore;
  /** test fault injection: SIGKILL this process right after persisting this step */
  crashAfter?: string;
}

/** How long a failed command waits before the queue delivers it again. */
export const COMMAND_RETRY_DELAY_MS = 5000;

export class UnitManager {
  readonly #d: UnitManagerDeps;
  readonly #states: UnitStates;
  readonly #locks = new KeyedLock();
  #subs: BusSubscription[] = [];
  #inFlight = new Set<Promise<void>>();
  /** commands carried out (for tests and logs) */
  done = 0;
  /** refusals of bad input are logged within a budget: a flood costs bounded log space */
  readonly #budget = new LogBudget();
  #budgetTimer: ReturnType<typeof setInterval> | undefined;

  constructor(deps: UnitManagerDeps) {
    this.#d = deps;
    this.#states = new UnitStates(deps.store, deps.nkeys, deps.crashAfter);
  }

  #running: Promise<MeteredUnit[]> | undefined;

  /**
   * The units that run (state DONE): what the meter samples. Read from the state files once and kept until a
   * command changes them.
   */
  running(): Promise<MeteredUnit[]> {
    this.#running ??= (async () => {
      const out: MeteredUnit[] = [];
      for (const unit of await this.#states.units()) {
        const s = await this.#states.read(unit);
        if (s?.step === 'DONE') out.push({ unitName: s.unit_name, holonId: s.holon_id });
      }
      return out;
    })();
    return this.#running;
  }

  #summarize(s: LogSummary | undefined): void {
    if (s !== undefined) this.#d.log.warn({ since: new Date(s.since).toISOString(), interval_ms: s.intervalMs, suppressed: s.suppressed, total: s.total }, 'repeated refusals summarized');
  }

  /** Log a refusal of input in full only within the budget for its kind. */
  #refusalLog(kind: string, fields: object, msg: string): void {
    const r = this.#budget.note(kind, this.#d.clock.now());
    this.#summarize(r.summary);
    if (r.log) this.#d.log.warn({ ...fields, kind }, msg);
  }

  #track(p: Promise<void>): void {
    const tracked = p.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** Recover what exists and start taking commands. */
  async start(): Promise<void> {
    const { isolation, log, bus, hostHolon, machine } = this.#d;
    const units = await isolation.list();
    if (units.length > 0) log.info({ units, adapter: isolation.kind }, 'units found running after start');
    // Resume what a crash interrupted, now: the queue would redeliver it only after its ack wait.
    for (const unit of await this.#states.units()) {
      const s = await this.#states.read(unit);
      if (s === undefined || s.step === 'DONE' || s.step === 'DESTROYED') continue;
      const cmd = AgentCommandV1.parse(JSON.parse(s.command));
      log.info({ unit: s.unit_name, step: s.step, request_digest: s.request_digest }, 'resuming an interrupted unit command');
      this.#track(
        this.#locks
          .run(cmd.unit_name, () => provisionUnit(this.#d, this.#states, cmd))
          .then(() => {
            this.done += 1;
            this.#running = undefined;
          })
          .catch((e: unknown) => log.error({ err: e instanceof HolonError ? e.toJSON() : String(e), unit: s.unit_name }, 'resuming failed; the queue will redeliver the command')),
      );
    }
    // Acks go only to this machine's own CMD consumer; job answers only to the cell's inbox.
    const ackPrefix = `$JS.ACK.CMD.${agentConsumerName(machine.machineId)}`;
    this.#subs.push(bus.subscribe(holonSubject(hostHolon, AGENT_COMMAND_TOKEN), (m) => this.#track(this.#onCommand(m)), { replyPrefixes: [ackPrefix] }));
    const jobDeps = { ...this.#d, states: this.#states, refusalLog: (kind: string, fields: object, msg: string) => this.#refusalLog(kind, fields, msg) };
    this.#subs.push(bus.subscribe(holonSubject(hostHolon, JOB_COMMAND_TOKEN), (m) => this.#track(handleJob(jobDeps, m)), { replyPrefixes: [inboxPrefix(convertId(this.#d.cellId, 'key'))] }));
    this.#budgetTimer = setInterval(() => this.#summarize(this.#budget.flush(this.#d.clock.now())), 10_000);
    this.#budgetTimer.unref();
    await bus.flush();
  }

  /** Resolves once every command and job taken so far has settled (the subscriptions stay). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async stop(): Promise<void> {
    if (this.#budgetTimer !== undefined) clearInterval(this.#budgetTimer);
    this.#summarize(this.#budget.flush(this.#d.clock.now()));
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    await Promise.allSettled([...this.#inFlight]);
  }

  #carryOut(cmd: AgentCommandV1): Promise<void> {
    switch (cmd.op) {
      case 'provision':
        return provisionUnit(this.#d, this.#states, cmd);
      case 'destroy':
        return destroyUnit(this.#d, this.#states, cmd);
      case 'freeze':
        return freezeUnit(this.#d, cmd);
      case 'thaw':
        return thawUnit(this.#d, cmd);
    }
  }

  async #onCommand(m: BusMessage): Promise<void> {
    let cmd: AgentCommandV1;
    try {
      cmd = AgentCommandV1.decode(m.data);
      AgentCommandV1.verify(cmd, convertId(this.#d.cellId, 'key'));
      if (cmd.machine_id !== this.#d.machine.machineId) throw new UnitCommandError(`command for ${cmd.machine_id}, not this machine`);
      if (cmd.cell_id !== this.#d.cellId) throw new UnitCommandError(`command from cell ${cmd.cell_id}, not ours`);
    } catch (e) {
      this.#refusalLog(`command:${e instanceof HolonError ? e.code : 'internal'}`, { err: e instanceof HolonError ? e.toJSON() : String(e), reply_allowed: m.replyAllowed }, 'refused a command that does not verify; terminating it');
      m.term();
      return;
    }
    try {
      await this.#locks.run(cmd.unit_name, () => this.#carryOut(cmd));
      m.ack();
      this.done += 1;
      this.#running = undefined;
    } catch (e) {
      this.#d.log.error({ err: e instanceof HolonError ? e.toJSON() : String(e), request_digest: cmd.request_digest, unit: cmd.unit_name, op: cmd.op }, 'command failed; it will be redelivered');
      // Redelivered after a delay; every step is idempotent.
      m.nak(COMMAND_RETRY_DELAY_MS);
    }
  }
}
