/**
 * The agent's half of the bilateral bootstrap (DESIGN §3, OBJ-ARP-01): build
 * the hello, and refuse to go on unless the cell proves its authority — a
 * certificate chaining to a principal root pinned at install, and a seal over
 * our own fresh nonce. Nothing else is sent to a cell that fails this.
 */
import { randomBytes } from 'node:crypto';
import { convertId, encodeId, type PublicKeyIdV1 } from '../ids.js';
import type { Signer } from '../keys.js';
import { solveAdmission, type AdmissionProof } from '../admission/proof.js';
import { describeRequirement, normalizeRequirement, type AdmissionRequirement, type AdmissionRequirementInput } from '../admission/requirement.js';
import { RefusalV1 } from '../v1/refusal.js';
import { BootstrapChallengeV1 } from '../v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../v1/bootstrap-hello.js';
import { CellCertificateV1 } from '../v1/cell-certificate.js';
import { BootstrapAttestV1 } from '../v1/bootstrap-attest.js';
import type { JurisdictionAttestationV1 } from '../v1/jurisdiction-attestation.js';
import type { TpmQuoteV1 } from '../v1/tpm-quote.js';
import { BOOTSTRAP_CODES, BootstrapError } from './bootstrap-error.js';

export type HelloBody = Omit<BootstrapHelloV1, 'machine_id' | 'agent_nonce' | 'admission' | 'sent_at' | 'machine_seal'>;

export interface HelloOptions {
  now: number;
  /** The admission proof to make: kind, epoch and work (what the cell asked for, or our first guess). */
  admission: AdmissionRequirementInput;
  /** A proof already solved for `admission` (admissionSteps, run in slices); otherwise solved here. */
  proof?: AdmissionProof;
  /** For tests only: a fixed nonce. */
  agentNonce?: Uint8Array;
}

export function makeHello(machine: Signer, body: HelloBody, opts: HelloOptions): BootstrapHelloV1 {
  const machineId = encodeId('key', machine.publicKey);
  const nonce = opts.agentNonce ?? randomBytes(32);
  return BootstrapHelloV1.seal(
    {
      ...body,
      machine_id: machineId,
      agent_nonce: Buffer.from(nonce).toString('base64url'),
      admission: opts.proof ?? solveAdmission(machineId, normalizeRequirement(opts.admission)),
      sent_at: { unix_ms: opts.now, source: 'SYSTEM' },
    },
    machine,
  );
}

/**
 * Check the cell's reply before answering it. Throws BootstrapError:
 * untrustedCell (certificate not by a pinned root, not valid now, not allowed
 * to enroll hosts, or badly sealed) or badChallenge (seal not by the certified
 * cell key, does not cover our nonce or our machine key, expired, or no TPM
 * challenge although we offered a TPM).
 */
export function verifyChallenge(
  challenge: BootstrapChallengeV1,
  opts: { pinnedRoots: readonly PublicKeyIdV1[]; hello: BootstrapHelloV1; now: number },
): void {
  const cert = challenge.cell_certificate;
  if (!opts.pinnedRoots.includes(cert.principal_key)) {
    throw new BootstrapError('untrustedCell', `cell certificate is signed by ${cert.principal_key}, which is not a pinned principal root`);
  }
  try {
    CellCertificateV1.verify(cert, cert.principal_key);
  } catch (e) {
    throw new BootstrapError('untrustedCell', 'cell certificate seal does not verify', { cause: e });
  }
  if (opts.now < cert.not_before || opts.now > cert.not_after) {
    throw new BootstrapError('untrustedCell', 'cell certificate is not valid now');
  }
  if (!cert.allowed_roles.includes('HOST')) throw new BootstrapError('untrustedCell', 'cell is not certified to enroll hosts');
  try {
    BootstrapChallengeV1.verify(challenge, convertId(cert.cell_id, 'key'));
  } catch (e) {
    throw new BootstrapError('badChallenge', 'challenge is not sealed by the certified cell key', { cause: e });
  }
  if (challenge.machine_id !== opts.hello.machine_id) throw new BootstrapError('badChallenge', 'challenge names another machine');
  if (challenge.agent_nonce !== opts.hello.agent_nonce) throw new BootstrapError('badChallenge', 'challenge does not cover our nonce');
  if (opts.now > challenge.expires_at) throw new BootstrapError('badChallenge', 'challenge has expired');
  if (opts.hello.tpm !== undefined && challenge.credential === undefined) {
    throw new BootstrapError('badChallenge', 'we offered a TPM but the cell did not challenge it');
  }
}

export function makeAttest(
  machine: Signer,
  challenge: BootstrapChallengeV1,
  evidence: { quote?: TpmQuoteV1; jurisdiction?: JurisdictionAttestationV1; now: number },
): BootstrapAttestV1 {
  return BootstrapAttestV1.seal(
    {
      machine_id: challenge.machine_id,
      agent_nonce: challenge.agent_nonce,
      cell_nonce: challenge.cell_nonce,
      ...(evidence.quote ? { tpm_quote: evidence.quote } : {}),
      ...(evidence.jurisdiction ? { jurisdiction_attestation: evidence.jurisdiction } : {}),
      sent_at: { unix_ms: evidence.now, source: 'SYSTEM' },
    },
    machine,
  );
}

/**
 * The admission proof a cell asks for in its refusal of our hello
 * (RefusalV1.admission_required of a HOLON_E_BOOT_ADMISSION refusal), or
 * undefined when the reply is not such a refusal or names none (an older
 * cell). The cell has not proven itself at this point, so this is a hint
 * from an unauthenticated peer: check it with checkAdmissionCaps first.
 */
export function admissionRequiredIn(replyBytes: Uint8Array): AdmissionRequirement | undefined {
  try {
    const refusal = RefusalV1.decode(replyBytes);
    RefusalV1.verify(refusal);
    return refusal.code === BOOTSTRAP_CODES.admission ? refusal.admission_required : undefined;
  } catch {
    return undefined;
  }
}

/** The most work an agent will do for one admission proof, so a hostile cell cannot make it spin forever. */
export interface AdmissionCaps {
  /** hashcash leading zero bits */
  maxDifficulty: number;
  /** VDF squarings */
  maxVdfIterations: number;
}

/** Throws BootstrapError('admission') when the cell asks for more work than `caps` allow. */
export function checkAdmissionCaps(required: AdmissionRequirement, caps: AdmissionCaps): void {
  if (required.kind === 'hashcash' && required.difficulty > caps.maxDifficulty) {
    throw new BootstrapError(
      'admission',
      `the cell asks for ${describeRequirement(required)}; this agent solves at most ${caps.maxDifficulty} bits (admission_max_difficulty)`,
      { admissionRequired: required },
    );
  }
  if (required.kind === 'vdf' && required.iterations > caps.maxVdfIterations) {
    throw new BootstrapError(
      'admission',
      `the cell asks for ${describeRequirement(required)}; this agent does at most ${caps.maxVdfIterations} squarings (admission_max_vdf_iterations)`,
      { admissionRequired: required },
    );
  }
}
