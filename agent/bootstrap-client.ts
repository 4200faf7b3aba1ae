/**
 * The agent's side of the bilateral bootstrap (DESIGN §3) as a persisted
 * state machine (agent-state.ts) driven over the bus:
 *
 *   hello → verify the cell (chain to a pinned root, seal over our nonce)
 *   BEFORE sending anything else → activate + quote → attest → status;
 *   while ATTESTED (awaiting approval) poll api.bootstrap.status with
 *   backoff; on ENROLLED verify and store the HOST certificate and write the
 *   .creds (JWT + our nkey seed, 0600).
 *
 * Restart: ENROLLED with valid stored credentials does nothing; ATTESTED
 * resumes polling; any earlier state starts over with a new hello (the cell
 * returns the same enrollment for the same machine key).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { admissionSteps, type AdmissionProof } from '../bus-schemas/admission/proof.js';
import { describeRequirement, type AdmissionRequirement } from '../bus-schemas/admission/requirement.js';
import { admissionRequiredIn, checkAdmissionCaps, makeAttest, makeHello, verifyChallenge, type AdmissionCaps } from '../bus-schemas/bootstrap/agent-side.js';
import { BOOTSTRAP_CODES, BootstrapError } from '../bus-schemas/bootstrap/bootstrap-error.js';
import type { Clock } from '../bus-schemas/clock.js';
import { type HolonError } from '../bus-schemas/errors.js';
import { convertId, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { API_SUBJECTS } from '../bus-schemas/subjects.js';
import { BootstrapAttestV1 } from '../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import type { IsolationCapabilities } from '../bus-schemas/units/port.js';
import { BootstrapHelloV1, type IsolationCapabilitiesV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import { HOLON_ROLES, type HolonRole } from '../bus-schemas/v1/holon-role.js';
import { BootstrapStatusRequestV1 } from '../bus-schemas/v1/bootstrap-status-request.js';
import { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import type { CellCertificateV1 } from '../bus-schemas/v1/cell-certificate.js';
import type { HolonCertificateV1 } from '../bus-schemas/v1/holon-certificate.js';
import { CellRefusedError, CellReplyError } from './agent-error.js';
import { advance, encodeAgentState, initialState, parseAgentState, type AgentEvent, type AgentState } from './agent-state.js';
import { BusUnavailableError, decodeCellReply, type AgentBus } from './bus-port.js';
import type { TpmPolicy } from './config.js';
import { checkEnrollment, checkStoredEnrollment, type Enrollment } from './enrollment.js';
import type { HostProbePort, TpmPort } from './host-ports.js';
import { AGENT_FILES, SECRET_MODE, type KeyStore } from './key-store.js';
import type { MachineIdentity, NatsUserKey, NkeyPort } from './machine-key.js';
import { answerChallenge, helloTpm } from './tpm-evidence.js';

/**
 * The first guess at the admission epoch: the hour (floor(unix ms / 1 h)), the
 * cell's default. A cell with another epoch length or a higher difficulty
 * says what it wants in its refusal, and the agent solves again.
 */
export const ADMISSION_EPOCH_MS = 3_600_000;
/** How many times one bootstrap attempt solves again at a cell's request before it gives up. */
export const MAX_ADMISSION_RETRIES = 4;

export interface AgentAdmission extends AdmissionCaps {
  /** hashcash bits of the first hello (the cell's refusal corrects it) */
  difficulty: number;
}

export interface BootstrapOptions {
  store: KeyStore;
  machine: MachineIdentity;
  natsKey: NatsUserKey;
  nkeys: NkeyPort;
  /** Connect with the bootstrap credentials (called only when a bootstrap is needed). */
  connect: () => Promise<AgentBus>;
  probes: HostProbePort;
  /** what the isolation adapter says it can do, sent in the hello for placement; absent = not sent */
  isolation?: IsolationCapabilities;
  tpm: { port: TpmPort | undefined; policy: TpmPolicy };
  pinnedRoots: readonly PublicKeyIdV1[];
  admission: AgentAdmission;
  requestTimeoutMs: number;
  pollInitialMs: number;
  pollMaxMs: number;
  clock: Clock;
  log: Logger;
  /** Aborted on SIGTERM: waits end, the bootstrap stops where it is (its state is on disk). */
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** The adapter's capabilities in the hello's one spelling: tools ascending, roles in HolonRole order, each once. */
function helloIsolation(c: IsolationCapabilities): IsolationCapabilitiesV1 {
  return {
    os_family: c.os_family,
    tools: [...new Set(c.tools)].sort(),
    unit_roles: HOLON_ROLES.filter((r): r is Exclude<HolonRole, 'HOST'> => r !== 'HOST' && c.unit_roles.includes(r)),
  };
}

/** Wait for the outcome of a status: enrolled, still waiting, or start over. */
type Step = { kind: 'enrolled'; enrollment: Enrollment } | { kind: 'waiting' } | { kind: 'restart'; reason: string };

export class BootstrapClient {
  readonly #o: BootstrapOptions;
  readonly #log: Logger;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #state: AgentState | undefined;
  #bus: AgentBus | undefined;
  /** What the cell last asked of our admission proof (learned from its refusal). */
  #admission: AdmissionRequirement | undefined;

  constructor(options: BootstrapOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'bootstrap', machine_id: options.machine.machineId });
    this.#sleep = options.sleep ?? abortableSleep;
  }

  get state(): AgentState | undefined {
    return this.#state;
  }

  async #load(): Promise<AgentState> {
    const file = await this.#o.store.read(AGENT_FILES.state);
    const s = file === undefined ? initialState(this.#o.machine.machineId, this.#o.clock.now()) : parseAgentState(file.bytes, this.#o.machine.machineId);
    this.#state = s;
    return s;
  }

  async #apply(event: AgentEvent): Promise<AgentState> {
    const before = this.#state ?? (await this.#load());
    const next = advance(before, event, this.#o.clock.now());
    await this.#o.store.replace(AGENT_FILES.state, encodeAgentState(next), SECRET_MODE);
    this.#state = next;
    if (next.state !== before.state) this.#log.info({ from: before.state, to: next.state }, `bootstrap state ${next.state}`);
    return next;
  }

  async #busConn(): Promise<AgentBus> {
    // After a stop, never (re)open the connection that close() just closed.
    if (this.#o.signal.aborted) throw this.#o.signal.reason;
    this.#bus ??= await this.#o.connect();
    return this.#bus;
  }

  /** Close the bootstrap connection (after enrollment, or on stop). */
  async close(): Promise<void> {
    const bus = this.#bus;
    this.#bus = undefined;
    await bus?.close().catch(() => undefined);
  }

  /** One request; a stop asked for before or during it ends the run (rejects with the signal's reason). */
  async #request(subject: string, data: Uint8Array): Promise<Uint8Array> {
    const bus = await this.#busConn();
    if (this.#o.signal.aborted) throw this.#o.signal.reason;
    return bus.request(subject, data, this.#o.requestTimeoutMs);
  }

  /**
   * Run until ENROLLED (returns the enrollment) or refused (throws
   * BootstrapError / CellRefusedError / CellReplyError after recording why).
   * Transient bus failures are retried with backoff; an abort rejects with the signal's reason.
   */
  async run(): Promise<Enrollment> {
    let s = await this.#load();
    if (s.state === 'ENROLLED') {
      const stored = await checkStoredEnrollment(s, this.#o);
      if (stored.ok) {
        this.#log.info({ holon_id: stored.enrollment.holonId }, 'already enrolled; stored credentials are valid');
        return stored.enrollment;
      }
      this.#log.warn({ reason: stored.reason }, 'stored enrollment unusable; bootstrapping again');
      s = await this.#apply({ kind: 'reset' });
    }
    let backoff = this.#o.pollInitialMs;
    let resumeAttested = s.state === 'ATTESTED' && s.cell_certificate !== undefined;
    for (;;) {
      try {
        const step = resumeAttested ? await this.#poll() : await this.#fresh();
        if (step.kind === 'enrolled') return step.enrollment;
        if (step.kind === 'restart') {
          this.#log.warn({ reason: step.reason }, 'starting the bootstrap over with a new hello');
          resumeAttested = false;
          continue;
        }
        resumeAttested = true;
        await this.#sleep(backoff, this.#o.signal);
        backoff = Math.min(backoff * 2, this.#o.pollMaxMs);
        continue;
      } catch (e) {
        if (this.#o.signal.aborted) throw this.#o.signal.reason;
        if (!(e instanceof BusUnavailableError)) throw e;
        this.#log.warn({ err: e.message, retry_in_ms: backoff }, 'no answer from the cell; retrying');
      }
      await this.#sleep(backoff, this.#o.signal);
      backoff = Math.min(backoff * 2, this.#o.pollMaxMs);
      if (!resumeAttested || this.#state?.state !== 'ATTESTED') resumeAttested = false;
    }
  }

  async #refuse(error: HolonError, by: 'agent' | 'cell', code: string, reason: string): Promise<never> {
    this.#log.error({ code, reason, by, err: error.message }, by === 'agent' ? 'refusing the cell: it did not prove its authority' : 'the cell refused this machine');
    await this.#apply({ kind: 'refused', by, code, reason });
    throw error;
  }

  /** What the cell asked for last, or our first guess: hashcash at the configured bits over the hour. */
  #admissionFor(now: number): AdmissionRequirement {
    return this.#admission ?? { kind: 'hashcash', epoch: Math.floor(now / ADMISSION_EPOCH_MS), difficulty: this.#o.admission.difficulty };
  }

  /** Solve in slices, giving the event loop (and a stop) a turn between them. */
  async #solve(required: AdmissionRequirement): Promise<AdmissionProof> {
    const started = performance.now();
    const steps = admissionSteps(this.#o.machine.machineId, required);
    for (;;) {
      const r = steps.next();
      if (r.done === true) {
        this.#log.debug({ admission: required, ms: Math.round(performance.now() - started) }, 'admission proof solved');
        return r.value;
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#o.signal.aborted) throw this.#o.signal.reason;
    }
  }

  /** hello → challenge → (verify) → attest → status. */
  async #fresh(): Promise<Step> {
    const o = this.#o;
    const [tpm, host] = await Promise.all([helloTpm(o.tpm.port, o.tpm.policy, this.#log), o.probes.run()]);
    const report = tpm !== undefined ? { ...host.report, tpm: { present: true, version: '2.0' as const } } : host.report;
    const body = { nats_user_key: o.natsKey.publicKey, platform_report: report, resource_capacity: host.capacity, network_addresses: host.addresses.slice(0, 64), ...(tpm ? { tpm } : {}), ...(o.isolation ? { isolation: helloIsolation(o.isolation) } : {}) };

    let challenge: BootstrapChallengeV1;
    let hello: BootstrapHelloV1;
    for (let retries = 0; ; retries++) {
      const admission = this.#admissionFor(o.clock.now());
      const proof = await this.#solve(admission);
      hello = makeHello(o.machine.signer, body, { now: o.clock.now(), admission, proof });
      await this.#apply({ kind: 'hello_sent' });
      this.#log.info({ software_only: tpm === undefined, subject: API_SUBJECTS.bootstrapHello }, 'hello sent');
      const replyBytes = await this.#request(API_SUBJECTS.bootstrapHello, BootstrapHelloV1.encode(hello));
      try {
        // A refusal of our proof that says what the cell wants: solve that (within our caps) and resend.
        const wanted = retries < MAX_ADMISSION_RETRIES ? admissionRequiredIn(replyBytes) : undefined;
        if (wanted !== undefined) {
          checkAdmissionCaps(wanted, o.admission);
          this.#log.warn({ admission_required: wanted }, `the cell asks for ${describeRequirement(wanted)}; solving again`);
          this.#admission = wanted;
          continue;
        }
        challenge = decodeCellReply(API_SUBJECTS.bootstrapHello, replyBytes, BootstrapChallengeV1, undefined);
        verifyChallenge(challenge, { pinnedRoots: o.pinnedRoots, hello, now: o.clock.now() });
        break;
      } catch (e) {
        if (e instanceof BootstrapError) return this.#refuse(e, 'agent', e.code, e.reason);
        if (e instanceof CellRefusedError) return this.#refuse(e, 'cell', e.cellCode, `${e.reason} (unauthenticated: the cell had not proven itself yet)`);
        if (e instanceof CellReplyError) return this.#refuse(e, 'agent', BOOTSTRAP_CODES.badChallenge, e.reason);
        throw e;
      }
    }
    const cert = challenge.cell_certificate;
    await this.#apply({ kind: 'challenge_verified', cellCertificate: cert, softwareOnly: tpm === undefined });
    this.#log.info({ cell_id: cert.cell_id, cell: cert.name, principal: cert.principal_key }, 'cell proved its authority');

    const quote = o.tpm.port !== undefined && tpm !== undefined ? await answerChallenge(o.tpm.port, challenge, hello, o.machine.signer.publicKey) : undefined;
    const attest = makeAttest(o.machine.signer, challenge, { now: o.clock.now(), ...(quote ? { quote } : {}) });
    const statusBytes = await this.#request(API_SUBJECTS.bootstrapAttest, BootstrapAttestV1.encode(attest));
    return this.#onStatus(API_SUBJECTS.bootstrapAttest, statusBytes, cert);
  }

  /** One status request while ATTESTED. */
  async #poll(): Promise<Step> {
    const s = this.#state;
    const cert = s?.cell_certificate;
    if (s === undefined || cert === undefined) return { kind: 'restart', reason: 'no verified cell certificate to poll' };
    const now = this.#o.clock.now();
    if (!this.#o.pinnedRoots.includes(cert.principal_key) || now > cert.not_after) {
      return { kind: 'restart', reason: 'the stored cell certificate is no longer pinned or valid' };
    }
    const req = BootstrapStatusRequestV1.seal(
      { machine_id: this.#o.machine.machineId, request_nonce: randomBytes(32).toString('base64url'), sent_at: { unix_ms: now, source: 'SYSTEM' } },
      this.#o.machine.signer,
    );
    const bytes = await this.#request(API_SUBJECTS.bootstrapStatus, BootstrapStatusRequestV1.encode(req));
    this.#log.debug({ subject: API_SUBJECTS.bootstrapStatus }, 'status polled');
    return this.#onStatus(API_SUBJECTS.bootstrapStatus, bytes, cert);
  }

  async #onStatus(subject: string, bytes: Uint8Array, cert: CellCertificateV1): Promise<Step> {
    const cellKey = convertId(cert.cell_id, 'key');
    let status: BootstrapStatusV1;
    try {
      status = decodeCellReply(subject, bytes, BootstrapStatusV1, cellKey);
      if (status.machine_id !== this.#o.machine.machineId) throw new CellReplyError(subject, `status names machine ${status.machine_id}`);
      if (status.cell_id !== cert.cell_id) throw new CellReplyError(subject, `status is from cell ${status.cell_id}, not ${cert.cell_id}`);
    } catch (e) {
      if (e instanceof CellRefusedError && e.authenticated) return this.#refuse(e, 'cell', e.cellCode, e.reason);
      if (e instanceof CellRefusedError) return { kind: 'restart', reason: `unauthenticated refusal ${e.cellCode}: ${e.reason}` };
      throw e;
    }
    switch (status.state) {
      case 'ENROLLED':
        return { kind: 'enrolled', enrollment: await this.#enroll(status, cert) };
      case 'ATTESTED':
        if (this.#state?.state !== 'ATTESTED') {
          await this.#apply({ kind: 'attested' });
          this.#log.info({ software_only: status.software_only }, 'attested; awaiting approval');
        }
        return { kind: 'waiting' };
      case 'REFUSED': {
        const r = status.refusal ?? { code: 'HOLON_E_AGENT_REFUSED', reason: 'no reason given' };
        return this.#refuse(new CellRefusedError(subject, r.code, r.reason, true), 'cell', r.code, r.reason);
      }
      case 'CHALLENGED':
        return { kind: 'restart', reason: 'the cell has no attestation from us (CHALLENGED)' };
    }
  }

  async #enroll(status: BootstrapStatusV1, cert: CellCertificateV1): Promise<Enrollment> {
    const o = this.#o;
    const holonCert = status.holon_certificate as HolonCertificateV1;
    const jwt = status.nats_user_jwt as string;
    checkEnrollment(holonCert, jwt, cert, { machineId: o.machine.machineId, natsUserKey: o.natsKey.publicKey, now: o.clock.now() });
    // Credentials first: a crash before the state write leaves ATTESTED, which polls and gets the same enrollment.
    await o.store.replace(AGENT_FILES.creds, new TextEncoder().encode(o.nkeys.formatCreds(jwt, o.natsKey.seed())), SECRET_MODE);
    await this.#apply({ kind: 'enrolled', holonCertificate: holonCert });
    const holonId = holonCert.holon_id;
    this.#log.info({ holon_id: holonId, serial: holonCert.serial, software_only: status.software_only }, 'enrolled');
    return { holonId, holonCertificate: holonCert, cellCertificate: cert, credsFile: o.store.path(AGENT_FILES.creds) };
  }
}
