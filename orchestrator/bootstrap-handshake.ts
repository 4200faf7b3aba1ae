/**
 * The machine's half of bootstrap as the cell answers it: hello → challenge
 * (admission proof, adaptive difficulty, TPM facts; an open challenge is
 * answered again to the same hello) and attest → ATTESTED (quote, credential
 * activation, TPM clock; a retried attest finds the step done), after which
 * the machine is enrolled at once if it is due (machine-enrollment.ts). The
 * checks are the pure halves in bus-schemas/bootstrap/cell-side.ts.
 */
import { AdmissionRateWindow } from '../bus-schemas/admission/adaptive.js';
import { describeRequirement, type AdmissionRequirement } from '../bus-schemas/admission/requirement.js';
import { BootstrapError } from '../bus-schemas/bootstrap/bootstrap-error.js';
import { checkAttest, checkHello, makeChallenge, type BootstrapSession, type HelloFacts } from '../bus-schemas/bootstrap/cell-side.js';
import { clockInfoFromJson, clockInfoToJson } from '../bus-schemas/tpm/index.js';
import { BootstrapAttestV1 } from '../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import type { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import type { BootstrapServiceDeps } from './bootstrap-deps.js';
import { admissionAt, cellBootstrapPolicy, preapprovalFor } from './cell-policy.js';
import { factsFromHello } from './hello-facts.js';
import { placementFactsOf } from './machine-events.js';
import type { MachineEnrollment } from './machine-enrollment.js';
import type { MachineSteps, StepExtra } from './machine-steps.js';

/** Refusals answered but not written to the ledger: not attributable work (no valid admission proof yet). */
const UNRECORDED = new Set<string>(['admission', 'clockSkew', 'badSeal']);

export class BootstrapHandshake {
  readonly #d: BootstrapServiceDeps;
  readonly #steps: MachineSteps;
  readonly #enrollment: MachineEnrollment;
  /** Admitted hellos over the last minute (in memory: a restart starts quiet, at the base difficulty). */
  readonly #admitted = new AdmissionRateWindow();
  /** The requirement last asked for, to log when the adaptive difficulty moves. */
  #lastAdmission: AdmissionRequirement | undefined;

  constructor(deps: BootstrapServiceDeps, steps: MachineSteps, enrollment: MachineEnrollment) {
    this.#d = deps;
    this.#steps = steps;
    this.#enrollment = enrollment;
  }

  async hello(hello: BootstrapHelloV1): Promise<BootstrapChallengeV1> {
    const { store, cell, config, clock } = this.#d;
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
        await this.#steps.refuse(rec, hello.machine_id, 'hello', e, now);
      }
      throw e;
    }
    this.#admitted.admit(hello.machine_id, now);
    if (rec?.state === 'ENROLLED' && (rec.softwareOnly !== facts.softwareOnly || rec.ekHash !== (facts.ekHash ?? null))) {
      const e = new BootstrapError('mismatch', `machine ${hello.machine_id} is enrolled with ${rec.ekHash ?? 'no TPM'} and came back with ${facts.ekHash ?? 'no TPM'}`);
      await this.#steps.refuse(rec, hello.machine_id, 'hello', e, now);
      throw e;
    }
    const { challenge, session } = makeChallenge(hello, facts, { signer: cell.signer, certificate: cell.certificate }, policy, { now });
    rec = await this.#steps.record(
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
        placement: placementFactsOf(hello),
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

  async attest(attest: BootstrapAttestV1): Promise<BootstrapStatusV1> {
    const { store, cell, config, clock } = this.#d;
    const now = clock.now();
    const id = attest.machine_id;
    const attestDigest = BootstrapAttestV1.digest(attest);
    const rec = store.getMachine(id);
    if (rec !== undefined && rec.attestDigest === attestDigest) {
      // A retry of an attestation we already accepted (e.g. our reply was lost in a crash).
      return this.#enrollment.statusOf(await this.#enrollment.enrollIfDue(id), now);
    }
    const open = store.getSession(id);
    if (open === undefined) {
      const e = new BootstrapError('nonceReplay', 'no open challenge for this machine (already answered, expired, or never issued)');
      if (rec !== undefined) await this.#steps.refuse(rec, id, 'attest', e, now);
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
      if (e instanceof BootstrapError) await this.#steps.refuse(rec, id, 'attest', e, now, { deleteSession: id });
      throw e;
    }
    const q = attest.tpm_quote;
    const clockJson = out.clock !== undefined ? clockInfoToJson(out.clock) : undefined;
    const extra: StepExtra = { deleteSession: id };
    if (out.quoteDigest !== undefined) extra.seenQuote = { digest: out.quoteDigest, at: now };
    if (akName !== undefined && clockJson !== undefined) extra.akClock = { akName, clock: clockJson };
    await this.#steps.record(
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
    return this.#enrollment.statusOf(await this.#enrollment.enrollIfDue(id), now);
  }

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
}
