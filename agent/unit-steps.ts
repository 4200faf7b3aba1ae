/**
 * The agent's unit state machine (DESIGN §5 step 4) as an ordered list of
 * idempotent steps, run by a small runner that persists the state after each
 * step that moved it forward:
 *
 *   provision: RECEIVED (command recorded, keys made on the host, 0600)
 *              → CREATED (adapter.create) → KEYED (holon key written into
 *              the unit) → SECRETS (tenant .env, fail closed) → REPORTED
 *              (signed PROVISIONED report with the holon key proof; the cell
 *              answers with certificate, receipt and JWT) → DONE (identity
 *              written into the unit)
 *   destroy:   adapter.destroy → signed DESTROYED report → keys removed →
 *              DESTROYED tombstone
 *
 * Each step is `{ name, done(state), run(ctx) }`, create-if-absent like
 * Nomad's task-runner hooks: `run` may be called again after a crash at any
 * instant and changes nothing the second time. `done` says whether the
 * persisted state already holds the step's effect. The steps whose effect
 * lives inside the unit (the unit itself, the key, the .env) are not vouched
 * for by the state file: the noop adapter keeps units in memory, and
 * `create` is "create if absent and start". So they run again on every pass
 * until DONE, as they always did; the report, whose answer is persisted, is
 * sent once.
 */
import type { Logger } from 'pino';
import type { Clock } from '../bus-schemas/clock.js';
import { digestRaw } from '../bus-schemas/digest.js';
import { convertId, type CellIdV1, type HolonIdV1, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { Signer } from '../bus-schemas/keys.js';
import { evtSubject, holonSubject, UNIT_REPORT_TOKEN } from '../bus-schemas/subjects.js';
import type { IsolationPort, UnitInfo, UnitSpec } from '../bus-schemas/units/port.js';
import { proveHolonKey } from '../bus-schemas/v1/holon-key-proof.js';
import { ProvisioningReceiptV1 } from '../bus-schemas/v1/provisioning-receipt.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import { AgentCommandV1, UnitReportReplyV1, UnitReportV1 } from '../bus-schemas/v1/unit-flow.js';
import { decodeCellReply, type AgentBus } from './bus-port.js';
import type { NkeyPort } from './machine-key.js';
import { STEP_ORDER, UNIT_FILES, UnitCommandError, type Step, type UnitKeys, type UnitState, type UnitStates } from './unit-state.js';

/** Tenant secrets as the agent needs them: the rendered `.env`, or undefined when the tenant has no bucket. */
export interface TenantEnvPort {
  resolveEnv(tenant: string): Promise<string | undefined>;
}

export interface UnitStepDeps {
  bus: AgentBus;
  isolation: IsolationPort;
  secrets: TenantEnvPort | undefined;
  nkeys: NkeyPort;
  machine: { machineId: PublicKeyIdV1; signer: Signer };
  hostHolon: HolonIdV1;
  cellId: CellIdV1;
  clock: Clock;
  log: Logger;
  requestTimeoutMs: number;
}

/** What the steps of one provision command work with. */
export interface StepContext {
  readonly cmd: AgentCommandV1;
  readonly spec: UnitSpec;
  readonly keys: UnitKeys;
  readonly d: UnitStepDeps;
  /** what the adapter reported at CREATED */
  info?: UnitInfo;
}

export interface UnitStep {
  /** the step recorded once this one has run */
  readonly name: Step;
  /** the persisted state already holds this step's effect: the runner skips it */
  done(s: UnitState): boolean;
  /** create-if-absent: running it again changes nothing; returns the state with what it produced */
  run(ctx: StepContext, s: UnitState): Promise<UnitState>;
}

/** A step whose effect lives inside the unit: done only when the whole unit is. */
const finished = (s: UnitState): boolean => s.step === 'DONE';

export const createUnit: UnitStep = {
  name: 'CREATED',
  done: finished,
  async run(ctx, s) {
    ctx.info = await ctx.d.isolation.create(ctx.spec);
    return s;
  },
};

export const writeHolonKey: UnitStep = {
  name: 'KEYED',
  done: finished,
  async run({ d, cmd, keys }, s) {
    const content = JSON.stringify({ holon_id: keys.holonId, seed: Buffer.from(keys.seed).toString('base64url') });
    await d.isolation.writeFile(cmd.unit_name, { path: UNIT_FILES.holonKey, content, mode: 0o600, owner: 'unit' });
    return s;
  },
};

export const installSecrets: UnitStep = {
  name: 'SECRETS',
  done: finished,
  async run({ d, cmd }, s) {
    if (cmd.tenant === undefined || d.secrets === undefined) return s;
    // Fail closed: an unreadable bucket stops here, before any receipt exists.
    const env = await d.secrets.resolveEnv(cmd.tenant);
    if (env !== undefined) await d.isolation.writeFile(cmd.unit_name, { path: UNIT_FILES.env, content: env, mode: 0o600, owner: 'unit' });
    d.log.info({ unit: cmd.unit_name, tenant: cmd.tenant, secrets: env !== undefined ? 'installed' : 'no bucket' }, 'tenant secrets');
    return s;
  },
};

export const reportProvisioned: UnitStep = {
  name: 'REPORTED',
  done: (s) => s.receipt !== undefined && s.jwt !== undefined,
  async run({ d, cmd, keys }, s) {
    const report = UnitReportV1.seal(
      {
        event: 'PROVISIONED',
        request_digest: cmd.request_digest,
        machine_id: d.machine.machineId,
        unit_name: cmd.unit_name,
        holon_id: keys.holonId,
        nats_user_key: keys.natsPublic,
        holon_key_proof: proveHolonKey(cmd.request_digest, keys.holonId, keys.signer),
        adapter: d.isolation.kind,
        at: timeAt(d.clock.now()),
      },
      d.machine.signer,
    );
    const reply = await reportToCell(d, report);
    if (reply.receipt === undefined || reply.nats_user_jwt === undefined) throw new UnitCommandError('the cell answered PROVISIONED without a receipt');
    if (reply.receipt.assigned_holon_id !== keys.holonId) throw new UnitCommandError(`the receipt is for ${reply.receipt.assigned_holon_id}, not ${keys.holonId}`);
    d.bus.publish(evtSubject(d.hostHolon, 'provisioned'), UnitReportV1.encode(report));
    return { ...s, receipt: new TextDecoder().decode(ProvisioningReceiptV1.encode(reply.receipt)), jwt: reply.nats_user_jwt };
  },
};

export const installIdentity: UnitStep = {
  name: 'DONE',
  done: finished,
  async run({ d, cmd, keys }, s) {
    if (s.receipt === undefined || s.jwt === undefined) throw new UnitCommandError(`unit ${cmd.unit_name} has no receipt to install`);
    const receipt = ProvisioningReceiptV1.parse(JSON.parse(s.receipt));
    const write = (path: string, content: string): Promise<void> => d.isolation.writeFile(cmd.unit_name, { path, content, mode: 0o600, owner: 'unit' });
    await write(UNIT_FILES.certificate, JSON.stringify(receipt.issued_certificate));
    await write(UNIT_FILES.receipt, s.receipt);
    await write(UNIT_FILES.creds, d.nkeys.formatCreds(s.jwt, keys.natsSeed));
    return s;
  },
};

/** The provisioning steps after RECEIVED, in order. */
export const PROVISION_STEPS: readonly UnitStep[] = [createUnit, writeHolonKey, installSecrets, reportProvisioned, installIdentity];

const later = (a: Step, b: Step): Step => (STEP_ORDER.indexOf(b) > STEP_ORDER.indexOf(a) ? b : a);

/** Run `steps` in order from `s`, skipping those done; persist the state after each step that changed it. */
export async function runSteps(steps: readonly UnitStep[], ctx: StepContext, s: UnitState, states: Pick<UnitStates, 'save'>): Promise<UnitState> {
  for (const step of steps) {
    if (step.done(s)) continue;
    const ran = await step.run(ctx, s);
    const next = { ...ran, step: later(s.step, step.name) };
    if (ran !== s || next.step !== s.step) await states.save(next);
    s = next;
  }
  return s;
}

/** Carry out a provision command: resume from the persisted step, or start at RECEIVED. */
export async function provisionUnit(d: UnitStepDeps, states: UnitStates, cmd: AgentCommandV1): Promise<void> {
  const unit = cmd.unit_name;
  let s = await states.read(unit);
  if (s?.step === 'DESTROYED') {
    if (s.request_digest === cmd.request_digest) {
      d.log.info({ unit, request_digest: cmd.request_digest }, 'provision command for a unit already torn down: acknowledged, not re-run');
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
  const keys = await states.keys(unit);
  if (s === undefined) {
    s = { request_digest: cmd.request_digest, unit_name: unit, step: 'RECEIVED', holon_id: keys.holonId, nats_user_key: keys.natsPublic, command: new TextDecoder().decode(AgentCommandV1.encode(cmd)) };
    await states.save(s);
  }
  const ctx: StepContext = { cmd, spec, keys, d };
  await runSteps(PROVISION_STEPS, ctx, s, states);
  d.log.info({ unit, holon_id: keys.holonId, request_digest: cmd.request_digest, root: ctx.info?.root }, 'unit provisioned');
}

/**
 * A graceful stop before the destroy (DESIGN §7: signal, grace period, kill): thaw a frozen unit so it can
 * act on the signal, SIGTERM its processes from the host side (`terminate`, the adapter's: never a `kill -1`
 * run inside, which on a host without a pid namespace would reach everything), and wait up to `graceMs`
 * until only the adapter's own idle processes are left (`idleProcesses`: a Linux unit's init and its sleeper;
 * none in a jail). The destroy that follows kills whatever is left. An adapter without `terminate` gets none.
 */
export async function stopGracefully(isolation: UnitStepDeps['isolation'], unit: string, graceMs: number, clock: UnitStepDeps['clock']): Promise<void> {
  if (graceMs <= 0 || isolation.terminate === undefined) return;
  const info = await isolation.inspect(unit);
  if (info === undefined || info.status === 'stopped') return;
  if (info.status === 'frozen') await isolation.thaw(unit);
  const deadline = clock.now() + graceMs;
  await isolation.terminate(unit);
  while (clock.now() < deadline) {
    if ((await isolation.usage(unit)).pids <= (isolation.idleProcesses ?? 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Carry out a freeze command (a budget ran out under FREEZE): the unit's processes stop where they are. */
export async function freezeUnit(d: UnitStepDeps, cmd: AgentCommandV1): Promise<void> {
  const info = await d.isolation.inspect(cmd.unit_name);
  if (info === undefined) return; // destroyed since: nothing to freeze
  if (info.status === 'running') await d.isolation.freeze(cmd.unit_name);
  d.log.info({ unit: cmd.unit_name, holon_id: cmd.holon_id, request_digest: cmd.request_digest }, 'unit frozen');
}

/** Carry out a thaw command (a top-up covered what the unit used): its processes go on where they stopped. */
export async function thawUnit(d: UnitStepDeps, cmd: AgentCommandV1): Promise<void> {
  const info = await d.isolation.inspect(cmd.unit_name);
  if (info === undefined) return;
  if (info.status === 'frozen') await d.isolation.thaw(cmd.unit_name);
  d.log.info({ unit: cmd.unit_name, holon_id: cmd.holon_id, request_digest: cmd.request_digest }, 'unit thawed');
}

/** Carry out a destroy command: stop gracefully, destroy-if-present, report, forget the keys, leave a tombstone. */
export async function destroyUnit(d: UnitStepDeps, states: UnitStates, cmd: AgentCommandV1): Promise<void> {
  const { isolation, log, machine } = d;
  const unit = cmd.unit_name;
  try {
    await stopGracefully(isolation, unit, cmd.grace_ms ?? 0, d.clock);
  } catch (e) {
    log.warn({ unit, err: (e as Error).message }, 'graceful stop failed; destroying at once');
  }
  await isolation.destroy(unit);
  const report = UnitReportV1.seal(
    { event: 'DESTROYED', request_digest: cmd.request_digest, machine_id: machine.machineId, unit_name: unit, holon_id: cmd.holon_id as HolonIdV1, adapter: isolation.kind, at: timeAt(d.clock.now()) },
    machine.signer,
  );
  const reply = await reportToCell(d, report);
  if (reply.destruction === undefined) throw new UnitCommandError('the cell answered DESTROYED without a destruction receipt');
  await states.removeKeys(unit);
  const s = await states.read(unit);
  if (s !== undefined) await states.save({ request_digest: s.request_digest, unit_name: unit, step: 'DESTROYED', holon_id: s.holon_id, nats_user_key: s.nats_user_key, command: s.command });
  log.info({ unit, holon_id: cmd.holon_id, request_digest: cmd.request_digest }, 'unit destroyed');
}

async function reportToCell(d: UnitStepDeps, report: UnitReportV1): Promise<UnitReportReplyV1> {
  const subject = holonSubject(d.hostHolon, UNIT_REPORT_TOKEN);
  const sent = UnitReportV1.encode(report);
  const bytes = await d.bus.request(subject, sent, d.requestTimeoutMs);
  return decodeCellReply(subject, bytes, UnitReportReplyV1, convertId(d.cellId, 'key'), digestRaw(sent));
}
