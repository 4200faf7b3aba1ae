/**
 * The cell side of bootstrap as a service: hello → challenge, attest →
 * status, status → status, approve → row, list → rows. The checks are the
 * pure halves in bus-schemas/bootstrap/cell-side.ts; this file decides the
 * state (machine-registry.ts), persists it, and only then answers.
 *
 * Crash safety: every step is one store transaction that also holds the
 * step's ledger entry (write-ahead outbox); the entry is then published and
 * removed from the outbox. At start, and before any step, leftover entries
 * are published first (a re-publish collapses on its msg id). A step already
 * done is recognised and answered again: the same hello gets the same open
 * challenge, an attest already accepted gets the current status, an
 * ENROLLED machine gets the same certificate. Steps of one machine run one
 * at a time (one orchestrator per cell).
 */
import { KeyedLock } from '../bus-schemas/keyed-lock.js';
import type { Logger } from 'pino';
import { AdmissionRateWindow } from '../bus-schemas/admission/adaptive.js';
import { describeRequirement, type AdmissionRequirement } from '../bus-schemas/admission/requirement.js';
import { BOOTSTRAP_CODES, BootstrapError } from '../bus-schemas/bootstrap/bootstrap-error.js';
import { checkAttest, checkHello, makeChallenge, type BootstrapSession, type HelloFacts } from '../bus-schemas/bootstrap/cell-side.js';
import type { Clock } from '../bus-schemas/clock.js';
import { convertId, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { JsonValue } from '../bus-schemas/json-value.js';
import { clockInfoFromJson, clockInfoToJson } from '../bus-schemas/tpm/index.js';
import { BootstrapAttestV1 } from '../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import type { BootstrapStatusRequestV1 } from '../bus-schemas/v1/bootstrap-status-request.js';
import type { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import { HolonCertificateV1 } from '../bus-schemas/v1/holon-certificate.js';
import { MachineApprovalV1 } from '../bus-schemas/v1/machine-approval.js';
import { PolicyV1 } from '../bus-schemas/v1/policy.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import type { CellMaterial } from './cell-material.js';
import { cellBootstrapPolicy, admissionAt, pcrMismatch, pcrPolicyFor, preapprovalFor } from './cell-policy.js';
import { CellRequestError } from './cell-request-error.js';
import type { OrchestratorConfig } from './config.js';
import { hostGrant, issueHostCertificate, type CredentialMinter } from './enrollment.js';
import { factsFromHello } from './hello-facts.js';
import { eventBody, type MachineEvent, type RefusedEvent } from './machine-events.js';
import { MachineListV1, type MachineListRequestV1 } from '../bus-schemas/v1/machine-list.js';
import { applyMachineEvent, enrollmentDue, type MachineRecord } from './machine-registry.js';
import type { MachineStore, OutboxEntry, StepWrite } from './machine-store.js';
import { machineRow, sealStatus } from './status-view.js';

/** The ledger as the service needs it: seal an entry now (persisted by the caller), publish it later. */
export interface MachineLedger {
  prepare(owner: `holon1${string}`, kind: string, body: JsonValue, at: number): Promise<OutboxEntry>;
  /** Publish; publishing the same entry again is harmless. */
  commit(entry: OutboxEntry): Promise<void>;
}

export interface BootstrapServiceDeps {
  store: MachineStore;
  ledger: MachineLedger;
  minter: CredentialMinter;
  cell: CellMaterial;
  config: OrchestratorConfig;
  clock: Clock;
  logger: Logger;
}

/** Refusals answered but not written to the ledger: not attributable work (no valid admission proof yet). */
const UNRECORDED = new Set<string>(['admission', 'clockSkew', 'badSeal']);
const JWT_LIFETIME_MS = 30 * 86_400_000;

export class BootstrapService {
  readonly #d: BootstrapServiceDeps;
  readonly #locks = new KeyedLock();
  /** Admitted hellos over the last minute (in memory: a restart starts quiet, at the base difficulty). */
  readonly #admitted = new AdmissionRateWindow();
  /** The requirement last asked for, to log when the adaptive difficulty moves. */
  #lastAdmission: AdmissionRequirement | undefined;

  constructor(deps: BootstrapServiceDeps) {
    this.#d = deps;
  }

  /** Publish what a crash left in the outbox, drop expired sessions, finish enrollments that were due. */
  async start(): Promise<void> {
    const { store, clock } = this.#d;
    await this.#flushOutbox();
    store.purgeExpiredSessions(clock.now());
    for (let after: string | undefined; ; ) {
      const page = store.listMachines({ limit: 500, ...(after !== undefined ? { after } : {}) });
      for (const r of page) {
        if (r.state === 'ATTESTED') await this.#locks.run(r.machineId, () => this.#enrollIfDue(r.machineId));
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
    return this.#locks.run(hello.machine_id, () => this.#hello(hello));
  }

  attest(attest: BootstrapAttestV1): Promise<BootstrapStatusV1> {
    return this.#locks.run(attest.machine_id, () => this.#attest(attest));
  }

  status(req: BootstrapStatusRequestV1): Promise<BootstrapStatusV1> {
    return this.#locks.run(req.machine_id, () => this.#status(req));
  }

  approve(approval: MachineApprovalV1): Promise<MachineListV1> {
    return this.#locks.run(approval.machine_id, () => this.#approve(approval));
  }

  list(req: MachineListRequestV1): MachineListV1 {
    const now = this.#d.clock.now();
    this.#checkPrincipalRequest(req.principal_seal.key, req.cell_id, req.sent_at.unix_ms, now);
    const rows = this.#d.store.listMachines({ limit: req.limit + 1, ...(req.after !== undefined ? { after: req.after } : {}) });
    return this.#sealList(rows.slice(0, req.limit), rows.length > req.limit, now);
  }

  // ── steps ────────────────────────────────────────────────────────────

  async #hello(hello: BootstrapHelloV1): Promise<BootstrapChallengeV1> {
    const { store, cell, config, clock } = this.#d;
    await this.#flushOutbox();
    const now = clock.now();
    const helloDigest = BootstrapHelloV1.digest(hello);
    const open = store.getSession(hello.machine_id);
    if (open !== undefined && open.helloDigest === helloDigest && open.expiresAt >= now) return BootstrapChallengeV1.decode(open.challenge);
    let rec = store.getMachine(hello.machine_id);
    const policy = cellBootstrapPolicy(config, cell, rec?.approval?.machineClass);
    let facts: HelloFacts;
    try {
      facts = checkHello(hello, policy, { now, admission: this.#admissionNow(now) });
    } catch (e) {
      if (e instanceof BootstrapError && !UNRECORDED.has(e.kind)) {
        this.#admitted.admit(hello.machine_id, now); // its admission proof was good
        await this.#refuse(rec, hello.machine_id, 'hello', e, now);
      }
      throw e;
    }
    this.#admitted.admit(hello.machine_id, now);
    if (rec?.state === 'ENROLLED' && (rec.softwareOnly !== facts.softwareOnly || rec.ekHash !== (facts.ekHash ?? null))) {
      const e = new BootstrapError('mismatch', `machine ${hello.machine_id} is enrolled with ${rec.ekHash ?? 'no TPM'} and came back with ${facts.ekHash ?? 'no TPM'}`);
      await this.#refuse(rec, hello.machine_id, 'hello', e, now);
      throw e;
    }
    const { challenge, session } = makeChallenge(hello, facts, { signer: cell.signer, certificate: cell.certificate }, policy, { now });
    rec = await this.#record(
      rec,
      {
        kind: 'MACHINE_CHALLENGED',
        machine_id: hello.machine_id,
        hello_digest: helloDigest,
        software_only: facts.softwareOnly,
        ...(facts.ekHash !== undefined ? { ek_hash: facts.ekHash } : {}),
        ...(facts.ekTrustedBy !== undefined ? { ek_trusted_by: facts.ekTrustedBy } : {}),
        nats_user_key: hello.nats_user_key,
        expires_at: session.expiresAt,
        placement: {
          os_family: hello.platform_report.os_family,
          arch: hello.platform_report.arch,
          labels: hello.platform_report.labels,
          tools: hello.platform_report.installed_tools.map((t) => t.name),
          capacity: hello.resource_capacity,
        },
      },
      now,
      {
        putSession: {
          machineId: hello.machine_id,
          helloDigest,
          hello: new TextDecoder().decode(BootstrapHelloV1.encode(hello)),
          challenge: new TextDecoder().decode(BootstrapChallengeV1.encode(challenge)),
          session: JSON.stringify(session),
          expiresAt: session.expiresAt,
        },
      },
    );
    return challenge;
  }

  async #attest(attest: BootstrapAttestV1): Promise<BootstrapStatusV1> {
    const { store, cell, config, clock } = this.#d;
    await this.#flushOutbox();
    const now = clock.now();
    const id = attest.machine_id;
    const attestDigest = BootstrapAttestV1.digest(attest);
    const rec = store.getMachine(id);
    if (rec !== undefined && rec.attestDigest === attestDigest) {
      // A retry of an attestation we already accepted (e.g. our reply was lost in a crash).
      return this.#statusOf(await this.#enrollIfDue(id), now);
    }
    const open = store.getSession(id);
    if (open === undefined) {
      const e = new BootstrapError('nonceReplay', 'no open challenge for this machine (already answered, expired, or never issued)');
      if (rec !== undefined) await this.#refuse(rec, id, 'attest', e, now);
      throw e;
    }
    const hello = BootstrapHelloV1.decode(open.hello);
    const session = JSON.parse(open.session) as BootstrapSession;
    const facts = factsFromHello(hello, rec);
    const machineClass = rec?.approval?.machineClass ?? preapprovalFor(cell.policy, facts.ekHash ?? null)?.machine_class ?? null;
    const policy = cellBootstrapPolicy(config, cell, machineClass);
    const akName = facts.akName !== undefined ? Buffer.from(facts.akName).toString('hex') : undefined;
    const previous = akName !== undefined ? store.akClock(akName) : undefined;
    let out;
    try {
      out = checkAttest(attest, session, facts, policy, {
        now,
        ...(previous !== undefined ? { previousClock: clockInfoFromJson(previous) } : {}),
        seenQuote: (d) => store.hasSeenQuote(d),
      });
    } catch (e) {
      if (e instanceof BootstrapError) await this.#refuse(rec, id, 'attest', e, now, { deleteSession: id });
      throw e;
    }
    const q = attest.tpm_quote;
    const clockJson = out.clock !== undefined ? clockInfoToJson(out.clock) : undefined;
    const extra: Omit<StepWrite, 'machine' | 'outbox'> = { deleteSession: id };
    if (out.quoteDigest !== undefined) extra.seenQuote = { digest: out.quoteDigest, at: now };
    if (akName !== undefined && clockJson !== undefined) extra.akClock = { akName, clock: clockJson };
    await this.#record(
      rec,
      {
        kind: 'MACHINE_ATTESTED',
        machine_id: id,
        attest_digest: attestDigest,
        ...(out.quoteDigest !== undefined ? { quote_digest: out.quoteDigest } : {}),
        ...(akName !== undefined ? { ak_name: akName } : {}),
        ...(clockJson !== undefined ? { tpm_clock: clockJson } : {}),
        ...(q !== undefined ? { pcr: { bank: q.pcr_selection.bank, pcrs: [...q.pcr_selection.pcrs], values: [...q.pcr_values] } } : {}),
        ...(out.jurisdiction !== undefined ? { jurisdiction: out.jurisdiction } : {}),
      },
      now,
      extra,
    );
    return this.#statusOf(await this.#enrollIfDue(id), now);
  }

  async #status(req: BootstrapStatusRequestV1): Promise<BootstrapStatusV1> {
    const { clock, config } = this.#d;
    await this.#flushOutbox();
    const now = clock.now();
    if (Math.abs(now - req.sent_at.unix_ms) > config.maxClockSkewMs) {
      throw new CellRequestError('stale', `status request was sent at ${req.sent_at.unix_ms}, ${now - req.sent_at.unix_ms} ms from our clock`);
    }
    let rec = await this.#enrollIfDue(req.machine_id);
    if (rec?.state === 'ATTESTED' && rec.refusal?.code !== BOOTSTRAP_CODES.notApproved) {
      const e = new BootstrapError('notApproved', 'attested, waiting for a principal approval; no credentials yet');
      rec = await this.#refuse(rec, req.machine_id, 'status', e, now);
    }
    if (rec === undefined) throw new CellRequestError('unknownMachine', `machine ${req.machine_id} has not said hello to this cell`);
    return this.#statusOf(rec, now);
  }

  async #approve(a: MachineApprovalV1): Promise<MachineListV1> {
    const { store, clock, cell } = this.#d;
    await this.#flushOutbox();
    const now = clock.now();
    this.#checkPrincipalRequest(a.principal_seal.key, a.cell_id, a.approved_at, now, true);
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
      rec = await this.#record(
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
      rec = (await this.#enrollIfDue(a.machine_id)) ?? rec;
    }
    return this.#sealList([rec], false, now);
  }

  // ── helpers ──────────────────────────────────────────────────────────

  /** What a hello must prove now: the policy's kind and base, adapted to the admitted-hello rate. */
  #admissionNow(now: number): AdmissionRequirement {
    const { config, cell, logger } = this.#d;
    const rate = this.#admitted.rate(now);
    const required = admissionAt(config, cell.policy, now, rate);
    const last = this.#lastAdmission;
    const work = (r: AdmissionRequirement): number => (r.kind === 'vdf' ? r.iterations : r.difficulty);
    if (last !== undefined && (last.kind !== required.kind || work(last) !== work(required))) {
      logger.info({ admission_required: required, hellos_per_minute: Math.round(rate) }, `admission: asking for ${describeRequirement(required)}`);
    }
    this.#lastAdmission = required;
    return required;
  }

  /** Enroll an ATTESTED machine whose approval is valid; a class approval first checks the quoted PCRs. */
  async #enrollIfDue(id: PublicKeyIdV1): Promise<MachineRecord | undefined> {
    const { store, clock, cell, config, minter } = this.#d;
    let rec = store.getMachine(id);
    const now = clock.now();
    const pre = rec === undefined ? undefined : preapprovalFor(cell.policy, rec.ekHash);
    if (rec !== undefined && pre !== undefined && rec.state === 'ATTESTED' && rec.approval === null) {
      // Pre-approved by EK hash in the principal's signed policy: recorded as the approval.
      rec = await this.#record(
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
      if (why !== undefined) return this.#refuse(rec, id, 'approve', new BootstrapError('pcrPolicy', `machine class ${rec.approval.machineClass}: ${why}`), now);
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
    const jwt = await minter.mintHostUser({ userKey: rec.natsUserKey, grant: hostGrant(id, this.#d.cell.cellId), expiresAt: Math.min(now + JWT_LIFETIME_MS, certificate.not_after) });
    const next = await this.#record(
      rec,
      { kind: 'MACHINE_ENROLLED', machine_id: id, serial, certificate_digest: HolonCertificateV1.digest(certificate), certificate },
      now,
      { credentials: { machineId: id, natsUserKey: rec.natsUserKey, jwt } },
    );
    this.#d.logger.info({ machine: id, serial, source: rec.approval.source }, 'machine enrolled');
    return next;
  }

  /** The machine's status; an ENROLLED one gets its JWT, minted again only if it has none for its current nats key. */
  async #statusOf(rec: MachineRecord | undefined, now: number): Promise<BootstrapStatusV1> {
    const { store, cell, minter } = this.#d;
    if (rec === undefined) throw new CellRequestError('unknownMachine', 'this machine has not said hello to this cell');
    let jwt: string | undefined;
    if (rec.state === 'ENROLLED' && rec.certificate !== null && rec.natsUserKey !== null) {
      const creds = store.credentials(rec.machineId);
      jwt = creds?.natsUserKey === rec.natsUserKey ? creds.jwt : undefined;
      if (jwt === undefined) {
        jwt = await minter.mintHostUser({ userKey: rec.natsUserKey, grant: hostGrant(rec.machineId, this.#d.cell.cellId), expiresAt: Math.min(now + JWT_LIFETIME_MS, rec.certificate.not_after) });
        store.commit({ credentials: { machineId: rec.machineId, natsUserKey: rec.natsUserKey, jwt } });
      }
    }
    return sealStatus(rec, { signer: cell.signer, cellId: cell.cellId }, now, jwt);
  }

  async #refuse(
    rec: MachineRecord | undefined,
    id: PublicKeyIdV1,
    step: RefusedEvent['step'],
    e: BootstrapError,
    now: number,
    extra: Omit<StepWrite, 'machine' | 'outbox'> = {},
  ): Promise<MachineRecord> {
    this.#d.logger.info({ machine: id, step, code: e.code, reason: e.reason }, 'bootstrap step refused');
    return this.#record(rec, { kind: 'MACHINE_REFUSED', machine_id: id, step, code: e.code, reason: e.reason.slice(0, 512) }, now, extra);
  }

  /** Decide, persist (state + ledger entry in one transaction), then publish the entry. */
  async #record(rec: MachineRecord | undefined, event: MachineEvent, now: number, extra: Omit<StepWrite, 'machine' | 'outbox'> = {}): Promise<MachineRecord> {
    const next = applyMachineEvent(rec, event, now);
    const entry = await this.#d.ledger.prepare(convertId(event.machine_id, 'holon'), event.kind, eventBody(event) as JsonValue, now);
    this.#d.store.commit({ ...extra, machine: next, outbox: entry });
    await this.#d.ledger.commit(entry);
    this.#d.store.removeOutbox(entry.id);
    return next;
  }

  async #flushOutbox(): Promise<void> {
    for (const entry of this.#d.store.pendingOutbox()) {
      await this.#d.ledger.commit(entry);
      this.#d.store.removeOutbox(entry.id);
    }
  }

  #checkPrincipalRequest(sealKey: string, cellId: string, sentAt: number, now: number, onlyPast = false): void {
    const { cell, config } = this.#d;
    if (sealKey !== cell.principalKey) throw new CellRequestError('notPrincipal', `sealed by ${sealKey}, not by this cell's principal ${cell.principalKey}`);
    if (cellId !== cell.cellId) throw new CellRequestError('wrongCell', `addressed to ${cellId}, this cell is ${cell.cellId}`);
    const off = sentAt - now;
    if (off > config.maxClockSkewMs || (!onlyPast && -off > config.maxClockSkewMs)) {
      throw new CellRequestError('stale', `request time ${new Date(sentAt).toISOString()} is ${off} ms from our clock`);
    }
  }

  #sealList(records: MachineRecord[], more: boolean, now: number): MachineListV1 {
    const { cell, store } = this.#d;
    return MachineListV1.seal({ cell_id: cell.cellId, machines: records.map(machineRow), more, total: store.countMachines(), at: timeAt(now) }, cell.signer);
  }

}
