/**
 * The cell's half of the bilateral bootstrap (DESIGN §3): check a hello,
 * answer it with a challenge that proves the cell's authority, and check the
 * attestation that answers the challenge. Pure: randomness, time, the nonce
 * session and the replay memory are passed in by the orchestrator, which
 * persists them, so a restart in the middle resumes the same bootstrap.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AdmissionError } from '../admission/hashcash.js';
import { verifyAdmission } from '../admission/proof.js';
import { normalizeRequirement, type AdmissionRequirementInput } from '../admission/requirement.js';
import { toCasDigest, type CasDigest } from '../digest.js';
import { type HolonError } from '../errors.js';
import { idPublicKey, type PublicKeyIdV1 } from '../ids.js';
import type { Signer } from '../keys.js';
import {
  checkAkAttributes,
  checkEkAllowList,
  checkEkMatchesCertificate,
  ekHash,
  makeCredential,
  objectName,
  parseTpm2bPublic,
  quoteQualifyingData,
  TpmVerifyError,
  verifyEkCertificate,
  verifyQuote,
  type CertificateInput,
  type PcrPolicy,
  type PcrSelection,
  type TpmClockInfo,
  type TpmPublic,
} from '../tpm/index.js';
import { BootstrapAttestV1 } from '../v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../v1/bootstrap-hello.js';
import type { CellCertificateV1 } from '../v1/cell-certificate.js';
import { JurisdictionAttestationV1 } from '../v1/jurisdiction-attestation.js';
import { BootstrapError, type BootstrapRefusalKind } from './bootstrap-error.js';

export interface CellBootstrapPolicy {
  tpm: 'required' | 'optional';
  /** CAs an EK certificate may chain to (DER or PEM). */
  ekRoots: readonly CertificateInput[];
  ekIntermediates?: readonly CertificateInput[];
  /** EK hashes (sha256:<hex> of the EK public area) accepted without a certificate. */
  ekAllowList: readonly string[];
  /** What the quote must cover. */
  pcrSelection: PcrSelection;
  /** Golden values; absent = authenticity only. */
  pcrPolicy?: PcrPolicy;
  maxClockSkewMs: number;
  challengeTtlMs: number;
  deniedJurisdictions: readonly string[];
  /** Provider keys whose jurisdiction attestations are believed. */
  trustedProviders: readonly PublicKeyIdV1[];
}

export interface HelloFacts {
  machineId: PublicKeyIdV1;
  softwareOnly: boolean;
  ek?: TpmPublic;
  ak?: TpmPublic;
  akName?: Uint8Array;
  /** The AK's TPM2B_PUBLIC as the hello carried it (base64url). */
  akPublic?: string;
  ekHash?: CasDigest;
  ekTrustedBy?: 'certificate' | 'allow-list';
}

function refuse(kind: BootstrapRefusalKind, reason: string, cause?: unknown): never {
  throw new BootstrapError(kind, reason, cause === undefined ? undefined : { cause });
}

/**
 * Check a hello: its seal, its clock, its admission proof against what the
 * cell asks for now (`ctx.admission`: kind, epoch, work — see
 * admission/adaptive.ts), then its TPM keys. An admission refusal names the
 * proof field at fault (`$.admission.kind`, `.epoch`, `.difficulty` …) and
 * carries the requirement, so the agent can solve again at the right epoch
 * and difficulty.
 */
export function checkHello(
  hello: BootstrapHelloV1,
  policy: CellBootstrapPolicy,
  ctx: { now: number; admission: AdmissionRequirementInput },
): HelloFacts {
  try {
    BootstrapHelloV1.verify(hello, hello.machine_id);
  } catch (e) {
    refuse('badSeal', 'hello is not sealed by the machine key it names', e);
  }
  if (Math.abs(ctx.now - hello.sent_at.unix_ms) > policy.maxClockSkewMs) {
    refuse('clockSkew', `hello was sent at ${hello.sent_at.unix_ms}, ${ctx.now - hello.sent_at.unix_ms} ms from our clock`);
  }
  const required = normalizeRequirement(ctx.admission);
  try {
    verifyAdmission(hello.machine_id, hello.admission, required);
  } catch (e) {
    const path = `$.admission${e instanceof AdmissionError ? (e.path ?? '') : ''}`;
    const why = e instanceof AdmissionError ? e.message : 'admission: the proof could not be checked';
    throw new BootstrapError('admission', why, { cause: e, path, admissionRequired: required });
  }
  if (hello.tpm === undefined) {
    if (policy.tpm === 'required') refuse('tpmRequired', 'policy requires a TPM 2.0 and the machine offered none');
    return { machineId: hello.machine_id, softwareOnly: true };
  }
  let ek: TpmPublic;
  let ak: TpmPublic;
  try {
    ek = parseTpm2bPublic(Buffer.from(hello.tpm.ek_public, 'base64url'));
    ak = parseTpm2bPublic(Buffer.from(hello.tpm.ak_public, 'base64url'));
  } catch (e) {
    refuse('mismatch', `TPM public area unreadable: ${(e as HolonError).message}`, e);
  }
  try {
    checkAkAttributes(ak);
  } catch (e) {
    refuse('akAttributes', (e as HolonError).message, e);
  }
  const hash = ekHash(ek);
  let trustedBy: HelloFacts['ekTrustedBy'];
  const reasons: string[] = [];
  if (hello.tpm.ek_certificate !== undefined) {
    try {
      const v = verifyEkCertificate(Buffer.from(hello.tpm.ek_certificate, 'base64url'), { roots: policy.ekRoots, intermediates: policy.ekIntermediates ?? [] }, ctx.now);
      checkEkMatchesCertificate(ek, v.certificate);
      trustedBy = 'certificate';
    } catch (e) {
      reasons.push((e as HolonError).message);
    }
  }
  if (trustedBy === undefined) {
    try {
      checkEkAllowList(ek, policy.ekAllowList);
      trustedBy = 'allow-list';
    } catch (e) {
      reasons.push((e as HolonError).message);
    }
  }
  if (trustedBy === undefined) refuse('ekUntrusted', `EK ${hash} is neither certified by a trusted CA nor allow-listed (${reasons.join('; ')})`);
  return { ...tpmFactsOf(hello.machine_id, hello.tpm.ak_public, ek, ak), ekTrustedBy: trustedBy };
}

/**
 * The TPM facts of a hello whose EK and AK were already checked — for a cell
 * resuming a bootstrap from the hello it stored (ekTrustedBy comes from its
 * own records then).
 */
export function helloFacts(hello: BootstrapHelloV1): HelloFacts {
  if (hello.tpm === undefined) return { machineId: hello.machine_id, softwareOnly: true };
  const ek = parseTpm2bPublic(Buffer.from(hello.tpm.ek_public, 'base64url'));
  const ak = parseTpm2bPublic(Buffer.from(hello.tpm.ak_public, 'base64url'));
  return tpmFactsOf(hello.machine_id, hello.tpm.ak_public, ek, ak);
}

function tpmFactsOf(machineId: PublicKeyIdV1, akPublic: string, ek: TpmPublic, ak: TpmPublic): HelloFacts {
  return { machineId, softwareOnly: false, ek, ak, akName: objectName(ak), akPublic, ekHash: ekHash(ek) };
}

/** What the cell must remember (persist) between challenge and attest. */
export interface BootstrapSession {
  machineId: PublicKeyIdV1;
  agentNonce: string;
  cellNonce: string;
  /** base64url activation secret; empty for software-only. Never leaves the cell. */
  secret: string;
  expiresAt: number;
  pcrSelection?: PcrSelection;
}

export function makeChallenge(
  hello: BootstrapHelloV1,
  facts: HelloFacts,
  cell: { signer: Signer; certificate: CellCertificateV1 },
  policy: CellBootstrapPolicy,
  ctx: { now: number; random?: (n: number) => Uint8Array },
): { challenge: BootstrapChallengeV1; session: BootstrapSession } {
  const random = ctx.random ?? ((n: number) => randomBytes(n));
  const cellNonce = Buffer.from(random(32)).toString('base64url');
  const expiresAt = ctx.now + policy.challengeTtlMs;
  let secret = '';
  let tpmPart: Pick<BootstrapChallengeV1, 'credential' | 'pcr_selection'> = {};
  if (!facts.softwareOnly && facts.ek && facts.akName) {
    const secretBytes = random(32);
    secret = Buffer.from(secretBytes).toString('base64url');
    const cred = makeCredential(facts.ek, facts.akName, secretBytes);
    tpmPart = {
      credential: {
        id_object: Buffer.from(cred.idObject).toString('base64url'),
        encrypted_secret: Buffer.from(cred.encryptedSecret).toString('base64url'),
      },
      pcr_selection: { bank: policy.pcrSelection.bank as 'sha256', pcrs: [...policy.pcrSelection.pcrs] },
    };
  }
  const challenge = BootstrapChallengeV1.seal(
    {
      cell_certificate: cell.certificate,
      machine_id: hello.machine_id,
      agent_nonce: hello.agent_nonce,
      cell_nonce: cellNonce,
      ...tpmPart,
      expires_at: expiresAt,
    },
    cell.signer,
  );
  const session: BootstrapSession = {
    machineId: hello.machine_id,
    agentNonce: hello.agent_nonce,
    cellNonce,
    secret,
    expiresAt,
    ...(tpmPart.pcr_selection ? { pcrSelection: policy.pcrSelection } : {}),
  };
  return { challenge, session };
}

export interface AttestFacts {
  softwareOnly: boolean;
  /** Digest of the accepted quote's attest bytes, to refuse its replay later. */
  quoteDigest?: CasDigest;
  clock?: TpmClockInfo;
  jurisdiction?: string;
}

const TPM_TO_BOOT: Record<string, BootstrapRefusalKind> = {
  nonce: 'activation',
  pcrMismatch: 'pcrPolicy',
  pcrPolicy: 'pcrPolicy',
  pcrSelection: 'pcrSelection',
  akAttributes: 'akAttributes',
  akBinding: 'mismatch',
};

export function checkAttest(
  attest: BootstrapAttestV1,
  session: BootstrapSession,
  facts: HelloFacts,
  policy: CellBootstrapPolicy,
  ctx: { now: number; previousClock?: TpmClockInfo; seenQuote: (digest: CasDigest) => boolean },
): AttestFacts {
  try {
    BootstrapAttestV1.verify(attest, session.machineId);
  } catch (e) {
    refuse('badSeal', 'attestation is not sealed by the machine key', e);
  }
  if (attest.cell_nonce !== session.cellNonce || attest.agent_nonce !== session.agentNonce || attest.machine_id !== session.machineId) {
    refuse('nonceReplay', 'attestation does not answer the open challenge for this machine');
  }
  if (ctx.now > session.expiresAt) refuse('nonceStale', `challenge expired ${ctx.now - session.expiresAt} ms ago`);

  const out: AttestFacts = { softwareOnly: facts.softwareOnly };
  if (attest.jurisdiction_attestation !== undefined) out.jurisdiction = checkJurisdiction(attest.jurisdiction_attestation, policy, ctx.now);

  if (facts.softwareOnly) {
    if (attest.tpm_quote !== undefined) refuse('mismatch', 'a quote was sent although the hello offered no TPM');
    return out;
  }
  const q = attest.tpm_quote;
  if (q === undefined) refuse('quote', 'the challenge asked for a TPM quote and none was sent');
  if (q.ak_public !== facts.akPublic) {
    refuse('mismatch', 'the quote is by another AK than the one in the hello');
  }
  const attestBytes = Buffer.from(q.attest, 'base64url');
  const quoteDigest = toCasDigest(createHash('sha256').update(attestBytes).digest());
  if (ctx.seenQuote(quoteDigest)) refuse('quoteReplay', 'this quote was already presented in an earlier bootstrap');
  try {
    const verified = verifyQuote(
      {
        attest: attestBytes,
        signature: Buffer.from(q.signature, 'base64url'),
        akPublic: facts.ak as TpmPublic,
        pcrSelection: { bank: q.pcr_selection.bank, pcrs: q.pcr_selection.pcrs },
        pcrValues: q.pcr_values.map((h) => Buffer.from(h, 'hex')),
      },
      {
        qualifyingData: quoteQualifyingData(
          Buffer.from(session.cellNonce, 'base64url'),
          idPublicKey(session.machineId, 'key'),
          Buffer.from(session.secret, 'base64url'),
        ),
        pcrSelection: session.pcrSelection ?? policy.pcrSelection,
        ...(policy.pcrPolicy ? { pcrPolicy: policy.pcrPolicy } : {}),
        ...(ctx.previousClock ? { previousClock: ctx.previousClock } : {}),
        ...(facts.ek ? { ekPublic: facts.ek } : {}),
      },
    );
    out.quoteDigest = quoteDigest;
    out.clock = verified.attest.clockInfo;
  } catch (e) {
    if (e instanceof TpmVerifyError) {
      const kind = TPM_TO_BOOT[e.reason] ?? 'quote';
      const why = kind === 'activation' ? 'the quote is not bound to this challenge (wrong activation secret, or a quote from another bootstrap)' : e.message;
      refuse(kind, why, e);
    }
    throw e;
  }
  return out;
}

function checkJurisdiction(j: JurisdictionAttestationV1, policy: CellBootstrapPolicy, now: number): string {
  if (!policy.trustedProviders.includes(j.provider_key)) refuse('jurisdiction', `provider ${j.provider_key} is not a registered provider`);
  try {
    JurisdictionAttestationV1.verify(j, j.provider_key);
  } catch (e) {
    refuse('jurisdiction', 'provider attestation seal does not verify', e);
  }
  if (now < j.not_before || now > j.not_after) refuse('jurisdiction', 'provider attestation is not valid now');
  if (policy.deniedJurisdictions.includes(j.jurisdiction)) refuse('jurisdiction', `jurisdiction ${j.jurisdiction} is deny-listed`);
  return j.jurisdiction;
}

