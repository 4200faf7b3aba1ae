/**
 * In-memory ports for the agent's unit state machine (test/agent/unit-steps.test.ts):
 * a key store, an isolation adapter (units and files in memory, like the
 * noop adapter, with `cat` and a job emulated), a bus that records every
 * request, publication and answer (ack, nak, term, respond) under the same
 * reply-subject rule as the real adapter, and a cell answering unit reports
 * with receipts sealed by the sample cell key.
 */
import type { Logger } from 'pino';
import { ManualClock } from '../../bus-schemas/clock.js';
import { convertId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { agentConsumerName, inboxPrefix, replySubjectAllowed } from '../../bus-schemas/subjects.js';
import type { AgentBus, BusMessage } from '../../bus-schemas/units/bus-port.js';
import { ZERO_USAGE, type ExecOptions, type ExecResult, type IsolationCapabilities, type IsolationPort, type UnitFile, type UnitInfo, type UnitSpec, type UnitUsage } from '../../bus-schemas/units/port.js';
import { HolonCertificateV1 } from '../../bus-schemas/v1/holon-certificate.js';
import { verifyHolonKeyProof } from '../../bus-schemas/v1/holon-key-proof.js';
import { ProvisioningReceiptV1 } from '../../bus-schemas/v1/provisioning-receipt.js';
import { RefusalV1, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { UnitDestructionReceiptV1, UnitReportReplyV1, UnitReportV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { KeyStore, StoredFile } from '../../agent/key-store.js';
import type { UnitManagerDeps } from '../../agent/unit-manager.js';
import type { TenantEnvPort } from '../../agent/unit-steps.js';
import { unitDestructionReceipt } from '../bus-schemas/v1/flow-samples.js';
import { holonCertificate, provisioningReceipt, resealed, T0 } from '../bus-schemas/v1/samples.js';
import { cellId, keyId, SIGNERS } from '../bus-schemas/v1/sample-keys.js';
import { nkeys } from './agent-fixture.js';

export const CELL = cellId(SIGNERS.cell);
export const MACHINE = keyId(SIGNERS.machine);
export const HOST = convertId(MACHINE, 'holon');
/** Where this machine's CMD consumer's acks go, for delivery `n`. */
export const ackSubject = (n = 1, seq = 7): string => `$JS.ACK.CMD.${agentConsumerName(MACHINE)}.${n}.${seq}.${seq}.1700000000000000000.0`;
/** A reply subject in the cell's inbox (where job answers may go). */
export const cellInbox = (token = 'job1'): string => `${inboxPrefix(convertId(CELL, 'key'))}.${token}`;

const dec = new TextDecoder();

export class MemoryKeyStore implements KeyStore {
  readonly dir = '/memory/agent';
  readonly files = new Map<string, StoredFile>();
  /** Called after each replace has stored the file: a test may throw here to stand for kill -9 right after a save. */
  afterReplace: ((name: string, bytes: Uint8Array) => void) | undefined;
  path(name: string): string {
    return `${this.dir}/${name}`;
  }
  async prepare(): Promise<boolean> {
    return false;
  }
  async read(name: string): Promise<StoredFile | undefined> {
    const f = this.files.get(name);
    return f === undefined ? undefined : { bytes: f.bytes.slice(), mode: f.mode };
  }
  async create(name: string, bytes: Uint8Array, mode: number): Promise<'written' | 'exists'> {
    if (this.files.has(name)) return 'exists';
    this.files.set(name, { bytes: bytes.slice(), mode });
    return 'written';
  }
  async replace(name: string, bytes: Uint8Array, mode: number): Promise<void> {
    this.files.set(name, { bytes: bytes.slice(), mode });
    this.afterReplace?.(name, bytes);
  }
  async remove(name: string): Promise<void> {
    this.files.delete(name);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.files.keys()].filter((n) => n.startsWith(prefix));
  }
  json(name: string): Record<string, unknown> | undefined {
    const f = this.files.get(name);
    return f === undefined ? undefined : JSON.parse(dec.decode(f.bytes));
  }
}

export interface FakeFile {
  content: string;
  mode: number;
  owner: 'unit' | 'root';
}

/** What the job emulation prints and exits with when a verified copy runs. */
export const JOB_OUTPUT = { stdout: 'built\n', exitCode: 3 };

export class FakeIsolation implements IsolationPort {
  readonly kind = 'noop' as const;
  readonly capabilities: IsolationCapabilities = { os_family: 'linux', tools: [], unit_roles: ['BUILD_WORKER', 'PENTEST_SANDBOX', 'SERVICE_HOST', 'RELAY', 'GENERAL_COMPUTE'] };
  readonly units = new Map<string, UnitInfo>();
  readonly files = new Map<string, Map<string, FakeFile>>();
  /** every call, as `<method> <unit> [<detail>]` */
  readonly calls: string[] = [];

  #need(name: string): Map<string, FakeFile> {
    const f = this.files.get(name);
    if (f === undefined) throw new Error(`isolation(fake): no unit ${name}`);
    return f;
  }
  async create(spec: UnitSpec): Promise<UnitInfo> {
    this.calls.push(`create ${spec.name}`);
    let u = this.units.get(spec.name);
    if (u === undefined) {
      u = { name: spec.name, status: 'running', root: `/fake/units/${spec.name}`, uid: 70000, gid: 70000 };
      this.units.set(spec.name, u);
      this.files.set(spec.name, new Map());
    }
    return { ...u };
  }
  async inspect(name: string): Promise<UnitInfo | undefined> {
    return this.units.get(name);
  }
  async list(): Promise<string[]> {
    return [...this.units.keys()];
  }
  async exec(name: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push(`exec ${name} ${argv[0] ?? ''}`);
    const files = this.#need(name);
    if (argv[0] === '/bin/cat') {
      const f = files.get((argv[2] ?? '').replace(/^\//, ''));
      if (f === undefined) {
        opts.onStderr?.(Buffer.from(`cat: ${argv[2]}: No such file or directory\n`));
        return { exitCode: 1, signal: null, timedOut: false };
      }
      opts.onStdout?.(Buffer.from(f.content));
      return { exitCode: 0, signal: null, timedOut: false };
    }
    opts.onStdout?.(Buffer.from(JOB_OUTPUT.stdout));
    return { exitCode: JOB_OUTPUT.exitCode, signal: null, timedOut: false };
  }
  async writeFile(name: string, file: UnitFile): Promise<void> {
    this.calls.push(`writeFile ${name} ${file.path}`);
    this.#need(name).set(file.path, { content: typeof file.content === 'string' ? file.content : dec.decode(file.content), mode: file.mode, owner: file.owner });
  }
  async freeze(name: string): Promise<void> {
    this.calls.push(`freeze ${name}`);
    this.#need(name);
    const u = this.units.get(name);
    if (u !== undefined) u.status = 'frozen';
  }
  async thaw(name: string): Promise<void> {
    this.calls.push(`thaw ${name}`);
    this.#need(name);
    const u = this.units.get(name);
    if (u !== undefined) u.status = 'running';
  }
  async terminate(name: string): Promise<void> {
    this.calls.push(`terminate ${name}`);
    this.#need(name);
  }
  async kill(name: string): Promise<void> {
    this.#need(name);
  }
  async usage(name: string): Promise<UnitUsage> {
    this.#need(name);
    return { ...ZERO_USAGE };
  }
  async destroy(name: string): Promise<void> {
    this.calls.push(`destroy ${name}`);
    this.units.delete(name);
    this.files.delete(name);
  }
  /** Everything that exists, as comparable text. */
  snapshot(): string {
    return JSON.stringify([...this.files].map(([u, fs]) => [u, this.units.get(u), [...fs].sort(([a], [b]) => a.localeCompare(b))]));
  }
}

export interface Answer {
  reply: string;
  kind: 'ack' | 'nak' | 'term' | 'respond';
  delayMs?: number;
  data?: Uint8Array;
}

export class FakeBus implements AgentBus {
  readonly requests: { subject: string; data: Uint8Array }[] = [];
  readonly published: { subject: string; data: Uint8Array }[] = [];
  readonly answers: Answer[] = [];
  readonly subs = new Map<string, { onMessage: (m: BusMessage) => void; replyPrefixes: readonly string[] }>();
  readonly #onRequest: (subject: string, data: Uint8Array) => Uint8Array;
  constructor(onRequest: (subject: string, data: Uint8Array) => Uint8Array) {
    this.#onRequest = onRequest;
  }
  async request(subject: string, data: Uint8Array): Promise<Uint8Array> {
    this.requests.push({ subject, data });
    return this.#onRequest(subject, data);
  }
  publish(subject: string, data: Uint8Array): void {
    this.published.push({ subject, data });
  }
  subscribe(subject: string, onMessage: (m: BusMessage) => void, opts: { replyPrefixes: readonly string[] }): { unsubscribe(): void } {
    this.subs.set(subject, { onMessage, replyPrefixes: opts.replyPrefixes });
    return { unsubscribe: () => void this.subs.delete(subject) };
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}

  /** Deliver `data` on `subject` with reply subject `reply`; answers are recorded only where the subscription may answer. */
  deliver(subject: string, data: Uint8Array, reply: string | undefined, redelivered = false): void {
    const sub = this.subs.get(subject);
    if (sub === undefined) throw new Error(`fake bus: nobody subscribes ${subject}`);
    const allowed = replySubjectAllowed(reply, sub.replyPrefixes);
    const jetStream = reply?.startsWith('$JS.ACK.') === true;
    let acked = false;
    const answer = (a: Omit<Answer, 'reply'>, ack: boolean): boolean => {
      if (!allowed || reply === undefined || (ack && (!jetStream || acked))) return false;
      if (ack) acked = true;
      this.answers.push({ ...a, reply });
      return true;
    };
    sub.onMessage({
      subject,
      data,
      replyAllowed: allowed,
      redelivered,
      respond: (d) => answer({ kind: 'respond', data: d }, false),
      ack: () => answer({ kind: 'ack' }, true),
      nak: (delayMs) => answer({ kind: 'nak', delayMs }, true),
      term: () => answer({ kind: 'term' }, true),
    });
  }
}

/** A fixed user JWT in shape only (the agent writes it into the unit's .creds). */
export const UNIT_JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLW9mLXRlc3Q';

/** The cell's half of unit reports: verifies the machine seal and the holon key proof, answers deterministically. */
export class FakeCell {
  readonly reports: UnitReportV1[] = [];
  handle = (_subject: string, data: Uint8Array): Uint8Array => {
    const at = timeAt(T0 + 60_000);
    try {
      const r = UnitReportV1.decode(data);
      UnitReportV1.verify(r, MACHINE);
      this.reports.push(r);
      if (r.event === 'DESTROYED') {
        const destruction = resealed(UnitDestructionReceiptV1, { ...unitDestructionReceipt(), holon_id: r.holon_id, request_digest: r.request_digest, unit_name: r.unit_name }, SIGNERS.cell);
        return UnitReportReplyV1.encode(UnitReportReplyV1.seal({ request_digest: r.request_digest, cell_id: CELL, destruction, at }, SIGNERS.cell));
      }
      if (r.holon_key_proof === undefined || !verifyHolonKeyProof(r.request_digest, r.holon_id, r.holon_key_proof)) throw new Error('holon key proof does not verify');
      const certificate = resealed(HolonCertificateV1, { ...holonCertificate(), holon_id: r.holon_id }, SIGNERS.cell);
      const receipt = resealed(ProvisioningReceiptV1, { ...provisioningReceipt(), request_digest: r.request_digest, assigned_holon_id: r.holon_id, issued_certificate: certificate }, SIGNERS.cell);
      return UnitReportReplyV1.encode(UnitReportReplyV1.seal({ request_digest: r.request_digest, cell_id: CELL, receipt, nats_user_jwt: UNIT_JWT, at }, SIGNERS.cell));
    } catch (e) {
      return RefusalV1.encode(sealRefusal(e, { signer: SIGNERS.cell, at }));
    }
  };
}

export const tenantEnv: TenantEnvPort = { resolveEnv: async (tenant) => (tenant === 'acme-ci' ? 'TOKEN=s3cret\n' : undefined) };

/** The ports of one agent process over shared (persistent) parts. */
export function unitDeps(parts: { store: MemoryKeyStore; isolation: FakeIsolation; bus: FakeBus; log: Logger; clock?: ManualClock; secrets?: TenantEnvPort | undefined }): UnitManagerDeps {
  return {
    bus: parts.bus,
    isolation: parts.isolation,
    secrets: 'secrets' in parts ? parts.secrets : tenantEnv,
    store: parts.store,
    nkeys,
    machine: { machineId: MACHINE, signer: SIGNERS.machine },
    hostHolon: HOST,
    cellId: CELL,
    clock: parts.clock ?? new ManualClock(T0 + 50_000),
    log: parts.log,
    requestTimeoutMs: 1000,
  };
}

export const stateOf = (store: MemoryKeyStore, unit = 'acme-ci'): { step: string; holon_id: HolonIdV1; receipt?: string; jwt?: string } | undefined =>
  store.json(`unit-${unit}.json`) as { step: string; holon_id: HolonIdV1 } | undefined;
