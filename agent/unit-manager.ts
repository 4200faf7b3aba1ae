/**
 * The agent side of provisioning (DESIGN §5 step 4): commands arrive on the
 * machine's CMD work queue (a JetStream push consumer delivering to
 * `holon.<host>.cmd`); each is verified against the enrolled cell's key and
 * carried out as a persisted state machine keyed by the request digest:
 *
 *   provision: RECEIVED → CREATED (adapter.create) → KEYED (holon key and
 *              NATS key, made here, 0600) → SECRETS (tenant .env, fail
 *              closed) → REPORTED (signed PROVISIONED report; the cell
 *              answers with certificate, receipt and JWT) → DONE (identity
 *              written into the unit) → ack
 *   destroy:   adapter.destroy → signed DESTROYED report → keys removed → ack
 *
 * Every step is idempotent (create-if-absent, write-again, destroy-if-
 * present), so a command redelivered after kill -9 at any step finishes the
 * same unit exactly once; the cell answers a repeated report with what it
 * already issued. A command that does not verify is terminated, never run.
 */
import { KeyedLock } from '../bus-schemas/keyed-lock.js';
import type { Logger } from 'pino';
import type { Clock } from '../bus-schemas/clock.js';
import { HolonError } from '../bus-schemas/errors.js';
import { convertId, encodeId, type CellIdV1, type HolonIdV1, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../bus-schemas/keys.js';
import { proveHolonKey } from '../bus-schemas/v1/holon-key-proof.js';
import { LogBudget, type LogSummary } from '../bus-schemas/log-budget.js';
import { AGENT_COMMAND_TOKEN, agentConsumerName, evtSubject, holonSubject, inboxPrefix, JOB_COMMAND_TOKEN, JOB_OUTPUT_TOKEN, UNIT_REPORT_TOKEN } from '../bus-schemas/subjects.js';
import { JobCommandV1, JobResultV1 } from '../bus-schemas/v1/job.js';
import { RefusalV1, sealRefusal } from '../bus-schemas/v1/refusal.js';
import { runGuardedJob } from './job-runner.js';
import type { IsolationPort, UnitSpec } from '../bus-schemas/units/port.js';
import { ProvisioningReceiptV1 } from '../bus-schemas/v1/provisioning-receipt.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import { AgentCommandV1, UnitReportReplyV1, UnitReportV1 } from '../bus-schemas/v1/unit-flow.js';
import type { AgentBus, BusMessage } from './bus-port.js';
import { decodeCellReply } from './bus-port.js';
import type { KeyStore } from './key-store.js';
import type { NkeyPort } from './machine-key.js';
import { SECRET_MODE } from './key-store.js';

/** Tenant secrets as the agent needs them: the rendered `.env`, or undefined when the tenant has no bucket. */
export interface TenantEnvPort {
  resolveEnv(tenant: string): Promise<string | undefined>;
}


export interface UnitManagerDeps {
  bus: AgentBus;
  isolation: IsolationPort;
  secrets: TenantEnvPort | undefined;
  store: KeyStore;
  nkeys: NkeyPort;
  machine: { machineId: PublicKeyIdV1; signer: Signer };
  hostHolon: HolonIdV1;
  cellId: CellIdV1;
  clock: Clock;
  log: Logger;
  requestTimeoutMs: number;
  /** test fault injection: SIGKILL this process right after persisting this step */
  crashAfter?: string;
}

/** DESTROYED is a tombstone: a provision command redelivered after its unit was torn down is acked, never re-run. */
type Step = 'RECEIVED' | 'CREATED' | 'KEYED' | 'SECRETS' | 'REPORTED' | 'DONE' | 'DESTROYED';

interface UnitState {
  request_digest: string;
  unit_name: string;
  step: Step;
  holon_id: HolonIdV1;
  nats_user_key: string;
  /** the cell-sealed command being carried out (canonical JSON): a restart resumes it without waiting for redelivery */
  command: string;
  /** the cell's receipt and JWT, once REPORTED */
  receipt?: string;
  jwt?: string;
}

/** Files the agent writes into every unit's home, relative to the unit root. */
export const UNIT_FILES = {
  dir: 'home/unit',
  holonKey: 'home/unit/holon.key',
  creds: 'home/unit/holon.creds',
  certificate: 'home/unit/holon-certificate.json',
  receipt: 'home/unit/provisioning-receipt.json',
  env: 'home/unit/.env',
} as const;

export class UnitCommandError extends HolonError {
  static readonly CODE = 'HOLON_E_UNIT_COMMAND';
  constructor(message: string, options?: { cause?: unknown }) {
    super(UnitCommandError.CODE, `unit command: ${message}`, options);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const stateFile = (unit: string): string => `unit-${unit}.json`;
const holonKeyFile = (unit: string): string => `unit-${unit}.key`;
const natsKeyFile = (unit: string): string => `unit-${unit}.nk`;

export class UnitManager {
  readonly #d: UnitManagerDeps;
  readonly #locks = new KeyedLock();
  #sub: { unsubscribe(): void } | undefined;
  #jobSub: { unsubscribe(): void } | undefined;
  #inFlight = new Set<Promise<void>>();
  /** commands carried out (for tests and logs) */
  done = 0;
  /** refusals of bad input are logged within a budget: a flood costs bounded log space */
  readonly #budget = new LogBudget();
  #budgetTimer: ReturnType<typeof setInterval> | undefined;

  #summarize(s: LogSummary | undefined): void {
    if (s !== undefined) this.#d.log.warn({ since: new Date(s.since).toISOString(), interval_ms: s.intervalMs, suppressed: s.suppressed, total: s.total }, 'repeated refusals summarized');
  }

  /** Log a refusal of input in full only within the budget for its kind. */
  #refusalLog(kind: string, fields: object, msg: string): void {
    const r = this.#budget.note(kind, this.#d.clock.now());
    this.#summarize(r.summary);
    if (r.log) this.#d.log.warn({ ...fields, kind }, msg);
  }

  constructor(deps: UnitManagerDeps) {
    this.#d = deps;
  }

  /** Recover what exists and start taking commands. */
  async start(): Promise<void> {
    const { isolation, log } = this.#d;
    const units = await isolation.list();
    if (units.length > 0) log.info({ units, adapter: isolation.kind }, 'units found running after start');
    // Resume what a crash interrupted, now: the queue would redeliver it only after its ack wait.
    for (const f of await this.#d.store.list('unit-')) {
      if (!f.endsWith('.json')) continue;
      const s = await this.#readState(f.slice('unit-'.length, -'.json'.length));
      if (s === undefined || s.step === 'DONE' || s.step === 'DESTROYED') continue;
      const cmd = AgentCommandV1.parse(JSON.parse(s.command));
      log.info({ unit: s.unit_name, step: s.step, request_digest: s.request_digest }, 'resuming an interrupted unit command');
      const p = this.#locks.run(cmd.unit_name, () => this.#provision(cmd))
        .then(() => void (this.done += 1))
        .catch((e: unknown) => log.error({ err: e instanceof HolonError ? e.toJSON() : String(e), unit: s.unit_name }, 'resuming failed; the queue will redeliver the command'))
        .finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
    // Acks go only to this machine's own CMD consumer; job answers only to the cell's inbox.
    const ackPrefix = `$JS.ACK.CMD.${agentConsumerName(this.#d.machine.machineId)}`;
    this.#sub = this.#d.bus.subscribe(
      holonSubject(this.#d.hostHolon, AGENT_COMMAND_TOKEN),
      (m) => {
        const p = this.#onCommand(m).finally(() => this.#inFlight.delete(p));
        this.#inFlight.add(p);
      },
      { replyPrefixes: [ackPrefix] },
    );
    this.#jobSub = this.#d.bus.subscribe(
      holonSubject(this.#d.hostHolon, JOB_COMMAND_TOKEN),
      (m) => {
        const p = this.#onJob(m).finally(() => this.#inFlight.delete(p));
        this.#inFlight.add(p);
      },
      { replyPrefixes: [inboxPrefix(convertId(this.#d.cellId, 'key'))] },
    );
    this.#budgetTimer = setInterval(() => this.#summarize(this.#budget.flush(this.#d.clock.now())), 10_000);
    this.#budgetTimer.unref();
    await this.#d.bus.flush();
  }

  async stop(): Promise<void> {
    if (this.#budgetTimer !== undefined) clearInterval(this.#budgetTimer);
    this.#summarize(this.#budget.flush(this.#d.clock.now()));
    this.#sub?.unsubscribe();
    this.#jobSub?.unsubscribe();
    await Promise.allSettled([...this.#inFlight]);
  }

  async #onCommand(m: BusMessage): Promise<void> {
    const { log } = this.#d;
    let cmd: AgentCommandV1;
    try {
      cmd = AgentCommandV1.decode(m.data);
      AgentCommandV1.verify(cmd, convertId(this.#d.cellId, 'key'));
      if (cmd.machine_id !== this.#d.machine.machineId) throw new UnitCommandError(`command for ${cmd.machine_id}, not this machine`);
      if (cmd.cell_id !== this.#d.cellId) throw new UnitCommandError(`command from cell ${cmd.cell_id}, not ours`);
    } catch (e) {
      this.#refusalLog(`command:${e instanceof HolonError ? e.code : 'internal'}`, { err: e instanceof HolonError ? e.toJSON() : String(e), reply_allowed: m.replyAllowed }, 'refused a command that does not verify; terminating it');
      m.respond(enc.encode('+TERM'));
      return;
    }
    try {
      await this.#locks.run(cmd.unit_name, () => (cmd.op === 'provision' ? this.#provision(cmd) : this.#destroy(cmd)));
      m.respond(enc.encode('+ACK'));
      this.done += 1;
    } catch (e) {
      log.error({ err: e instanceof HolonError ? e.toJSON() : String(e), request_digest: cmd.request_digest, unit: cmd.unit_name, op: cmd.op }, 'command failed; it will be redelivered');
      // Redelivered after a delay; every step is idempotent.
      m.respond(enc.encode('-NAK {"delay": 5000000000}'));
    }
  }

  /** A guarded job from the cell: verify, run (hash-pinned), answer with the sealed result or a sealed refusal. */
  async #onJob(m: BusMessage): Promise<void> {
    const { log, machine } = this.#d;
    const refuse = (e: unknown): void => {
      this.#refusalLog(`job:${e instanceof HolonError ? e.code : 'internal'}`, { err: e instanceof HolonError ? e.toJSON() : String(e), reply_allowed: m.replyAllowed }, 'job refused');
      if (m.replyAllowed) m.respond(RefusalV1.encode(sealRefusal(e, { signer: machine.signer, at: timeAt(this.#d.clock.now()) })));
    };
    // A job whose answer could go nowhere but the cell's inbox is not run at all.
    if (!m.replyAllowed) {
      refuse(new UnitCommandError('the reply subject is not the cell\'s inbox; job not run'));
      return;
    }
    let cmd: JobCommandV1;
    try {
      cmd = JobCommandV1.decode(m.data);
      JobCommandV1.verify(cmd, convertId(this.#d.cellId, 'key'));
      if (cmd.machine_id !== machine.machineId) throw new UnitCommandError(`job for ${cmd.machine_id}, not this machine`);
      const s = await this.#readState(cmd.unit_name);
      if (s?.step !== 'DONE' || s.holon_id !== cmd.holon_id) throw new UnitCommandError(`no running unit ${cmd.unit_name} for ${cmd.holon_id} on this machine`);
    } catch (e) {
      refuse(e);
      return;
    }
    try {
      const output = holonSubject(this.#d.hostHolon, JOB_OUTPUT_TOKEN, cmd.job_id);
      const result = await runGuardedJob(cmd, {
        isolation: this.#d.isolation,
        machine,
        clock: this.#d.clock,
        onOutput: (stream, seq, chunk) => this.#d.bus.publish(output, enc.encode(JSON.stringify({ stream, seq, data: chunk.toString('base64') }))),
      });
      await this.#d.bus.flush();
      log.info({ job_id: cmd.job_id, holon_id: cmd.holon_id, outcome: result.outcome, exit_code: result.exit_code, signal: result.signal, code: result.refusal?.code }, 'job finished');
      m.respond(JobResultV1.encode(result));
    } catch (e) {
      refuse(e);
    }
  }


  async #readState(unit: string): Promise<UnitState | undefined> {
    const f = await this.#d.store.read(stateFile(unit));
    return f === undefined ? undefined : (JSON.parse(dec.decode(f.bytes)) as UnitState);
  }

  async #save(s: UnitState): Promise<void> {
    await this.#d.store.replace(stateFile(s.unit_name), enc.encode(JSON.stringify(s)), SECRET_MODE);
    if (this.#d.crashAfter === s.step) process.kill(process.pid, 'SIGKILL');
  }

  /** The holon key and NATS key of a unit: made once, here, kept 0600 in the agent's data dir. */
  async #keys(unit: string): Promise<{ signer: Signer; seed: Uint8Array; natsSeed: string; natsPublic: string }> {
    const { store, nkeys } = this.#d;
    await store.create(holonKeyFile(unit), enc.encode(Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')), SECRET_MODE);
    await store.create(natsKeyFile(unit), enc.encode(nkeys.createUserSeed()), SECRET_MODE);
    const holonFile = await store.read(holonKeyFile(unit));
    const natsFile = await store.read(natsKeyFile(unit));
    if (holonFile === undefined || natsFile === undefined) throw new UnitCommandError(`the keys of unit ${unit} vanished while being made`);
    const seed = new Uint8Array(Buffer.from(dec.decode(holonFile.bytes).trim(), 'base64url'));
    const natsSeed = dec.decode(natsFile.bytes).trim();
    return { signer: signerFromSeed(seed), seed, natsSeed, natsPublic: nkeys.userPublicKey(natsSeed) };
  }

  async #provision(cmd: AgentCommandV1): Promise<void> {
    const { isolation, log, machine } = this.#d;
    const unit = cmd.unit_name;
    let s = await this.#readState(unit);
    if (s?.step === 'DESTROYED') {
      if (s.request_digest === cmd.request_digest) {
        log.info({ unit, request_digest: cmd.request_digest }, 'provision command for a unit already torn down: acknowledged, not re-run');
        return;
      }
      s = undefined; // the name is free again (a tenant's next unit)
    }
    if (s !== undefined && s.request_digest !== cmd.request_digest) {
      throw new UnitCommandError(`unit ${unit} belongs to request ${s.request_digest}, not ${cmd.request_digest}`);
    }
    if (s?.step === 'DONE') return;
    const spec: UnitSpec = {
      name: unit,
      role: cmd.role as UnitSpec['role'],
      limits: { cpuMillicores: cmd.limits!.cpu_millicores, memoryBytes: cmd.limits!.memory_bytes, pids: cmd.limits!.pids },
      network: cmd.network!,
    };
    const keys = await this.#keys(unit);
    const holonId = encodeId('holon', keys.signer.publicKey);
    if (s === undefined) {
      s = { request_digest: cmd.request_digest, unit_name: unit, step: 'RECEIVED', holon_id: holonId, nats_user_key: keys.natsPublic, command: dec.decode(AgentCommandV1.encode(cmd)) };
      await this.#save(s);
    }
    const info = await isolation.create(spec);
    if (s.step === 'RECEIVED') {
      s = { ...s, step: 'CREATED' };
      await this.#save(s);
    }
    await isolation.writeFile(unit, { path: UNIT_FILES.holonKey, content: JSON.stringify({ holon_id: holonId, seed: Buffer.from(keys.seed).toString('base64url') }), mode: 0o600, owner: 'unit' });
    if (s.step === 'CREATED') {
      s = { ...s, step: 'KEYED' };
      await this.#save(s);
    }
    if (cmd.tenant !== undefined && this.#d.secrets !== undefined) {
      // Fail closed: an unreadable bucket stops here, before any receipt exists.
      const env = await this.#d.secrets.resolveEnv(cmd.tenant);
      if (env !== undefined) await isolation.writeFile(unit, { path: UNIT_FILES.env, content: env, mode: 0o600, owner: 'unit' });
      log.info({ unit, tenant: cmd.tenant, secrets: env !== undefined ? 'installed' : 'no bucket' }, 'tenant secrets');
    }
    if (s.step === 'KEYED') {
      s = { ...s, step: 'SECRETS' };
      await this.#save(s);
    }
    if (s.receipt === undefined || s.jwt === undefined) {
      const report = UnitReportV1.seal(
        {
          event: 'PROVISIONED',
          request_digest: cmd.request_digest,
          machine_id: machine.machineId,
          unit_name: unit,
          holon_id: holonId,
          nats_user_key: keys.natsPublic,
          holon_key_proof: proveHolonKey(cmd.request_digest, holonId, keys.signer),
          adapter: isolation.kind,
          at: timeAt(this.#d.clock.now()),
        },
        machine.signer,
      );
      const reply = await this.#report(report);
      if (reply.receipt === undefined || reply.nats_user_jwt === undefined) throw new UnitCommandError('the cell answered PROVISIONED without a receipt');
      if (reply.receipt.assigned_holon_id !== holonId) throw new UnitCommandError(`the receipt is for ${reply.receipt.assigned_holon_id}, not ${holonId}`);
      this.#d.bus.publish(evtSubject(this.#d.hostHolon, 'provisioned'), UnitReportV1.encode(report));
      s = { ...s, step: 'REPORTED', receipt: dec.decode(ProvisioningReceiptV1.encode(reply.receipt)), jwt: reply.nats_user_jwt };
      await this.#save(s);
    }
    const receipt = ProvisioningReceiptV1.parse(JSON.parse(s.receipt!));
    await isolation.writeFile(unit, { path: UNIT_FILES.certificate, content: JSON.stringify(receipt.issued_certificate), mode: 0o600, owner: 'unit' });
    await isolation.writeFile(unit, { path: UNIT_FILES.receipt, content: s.receipt!, mode: 0o600, owner: 'unit' });
    await isolation.writeFile(unit, { path: UNIT_FILES.creds, content: this.#d.nkeys.formatCreds(s.jwt!, keys.natsSeed), mode: 0o600, owner: 'unit' });
    s = { ...s, step: 'DONE' };
    await this.#save(s);
    log.info({ unit, holon_id: holonId, request_digest: cmd.request_digest, root: info.root }, 'unit provisioned');
  }

  async #destroy(cmd: AgentCommandV1): Promise<void> {
    const { isolation, store, log, machine } = this.#d;
    const unit = cmd.unit_name;
    await isolation.destroy(unit);
    const report = UnitReportV1.seal(
      { event: 'DESTROYED', request_digest: cmd.request_digest, machine_id: machine.machineId, unit_name: unit, holon_id: cmd.holon_id as HolonIdV1, adapter: isolation.kind, at: timeAt(this.#d.clock.now()) },
      machine.signer,
    );
    const reply = await this.#report(report);
    if (reply.destruction === undefined) throw new UnitCommandError('the cell answered DESTROYED without a destruction receipt');
    for (const f of [holonKeyFile(unit), natsKeyFile(unit)]) await store.remove(f);
    const s = await this.#readState(unit);
    if (s !== undefined) await this.#save({ request_digest: s.request_digest, unit_name: unit, step: 'DESTROYED', holon_id: s.holon_id, nats_user_key: s.nats_user_key, command: s.command });
    log.info({ unit, holon_id: cmd.holon_id, request_digest: cmd.request_digest }, 'unit destroyed');
  }

  async #report(report: UnitReportV1): Promise<UnitReportReplyV1> {
    const subject = holonSubject(this.#d.hostHolon, UNIT_REPORT_TOKEN);
    const bytes = await this.#d.bus.request(subject, UnitReportV1.encode(report), this.#d.requestTimeoutMs);
    return decodeCellReply(subject, bytes, UnitReportReplyV1, convertId(this.#d.cellId, 'key'));
  }
}
