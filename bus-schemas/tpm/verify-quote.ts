import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { checkAkAttributes } from './ak-attributes.js';
import { checkClockProgress } from './clock-info.js';
import { checkPcrPolicy, checkPcrSelection, checkPcrValueShapes, pcrDigestOf, type PcrPolicy, type PcrSelection } from './pcr-policy.js';
import { toHex } from './tpm-algorithms.js';
import { parseQuoteAttest, type TpmClockInfo, type TpmQuoteAttest } from './tpm-attest.js';
import { akQualifiedName, objectName, parseTpm2bPublic, publicKeyOf, type TpmPublic } from './tpm-public.js';
import { u16be } from './tpm-reader.js';
import { parseTpmtSignature, verifyTpmSignature } from './tpm-signature.js';
import { TpmVerifyError } from './tpm-verify-error.js';

/**
 * The orchestrator's quote check (DESIGN §3 step 4), pure TypeScript over
 * the bytes the agent sent. It does what `tpm2_checkquote` does — signature,
 * extraData, PCR digest — and what it does not: the AK's attributes, the
 * quote's magic and type, that the TPM selected exactly the PCRs we asked
 * for, golden PCR values, clock monotonicity and, given the EK, that the
 * signer is this AK under this EK (the quote's qualifiedSigner).
 */

export interface QuoteEvidence {
  /** TPMS_ATTEST as tpm2_quote writes it, or TPM2B_ATTEST (size-prefixed) as on the wire. */
  attest: Uint8Array;
  /** TPMT_SIGNATURE. */
  signature: Uint8Array;
  /** The AK: TPM2B_PUBLIC bytes, or already parsed (its attributes are checked either way). */
  akPublic: Uint8Array | TpmPublic;
  /** The selection the PCR values are for. */
  pcrSelection: PcrSelection;
  /** One value per selected PCR, in selection order. */
  pcrValues: readonly Uint8Array[];
}

export interface QuoteExpectations {
  /** The extraData we required (the nonce binding, see quoteQualifyingData). */
  qualifyingData: Uint8Array;
  /** The selection we asked for; the quote must be over exactly this. */
  pcrSelection: PcrSelection;
  /** Golden PCR values; when absent only authenticity is checked. */
  pcrPolicy?: PcrPolicy;
  /** The clock of the last quote accepted from this AK. */
  previousClock?: TpmClockInfo;
  /** The EK the AK was certified under: the quote's qualifiedSigner must be this AK under it. */
  ekPublic?: TpmPublic;
  /** A cached KeyObject for the AK (benchmarks, repeated checks of one AK). */
  akKey?: KeyObject;
}

export interface VerifiedQuote {
  ak: TpmPublic;
  akName: Uint8Array;
  attest: TpmQuoteAttest;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Verify a quote; returns the parsed quote or throws a TpmVerifyError naming the first failed check. */
export function verifyQuote(evidence: QuoteEvidence, expected: QuoteExpectations): VerifiedQuote {
  const ak = evidence.akPublic instanceof Uint8Array ? parseTpm2bPublic(evidence.akPublic) : evidence.akPublic;
  checkAkAttributes(ak);
  const attest = parseQuoteAttest(evidence.attest);
  const signature = parseTpmtSignature(evidence.signature);
  verifyTpmSignature(ak, signature, attest.signed, expected.akKey ?? publicKeyOf(ak));

  if (!sameBytes(attest.extraData, expected.qualifyingData)) {
    throw new TpmVerifyError('nonce', 'TPMS_ATTEST.extraData', `extraData ${toHex(attest.extraData)} is not the expected nonce binding`);
  }
  checkPcrSelection(attest.pcrSelection, expected.pcrSelection);
  const claimed = evidence.pcrSelection;
  if (claimed.bank !== expected.pcrSelection.bank || claimed.pcrs.join(',') !== expected.pcrSelection.pcrs.join(',')) {
    throw new TpmVerifyError('pcrSelection', 'pcrSelection', `PCR values are for ${claimed.bank}:[${claimed.pcrs.join(',')}], not the quoted selection`);
  }
  checkPcrValueShapes(claimed, evidence.pcrValues);
  const recomputed = pcrDigestOf(signature.hashAlg, evidence.pcrValues);
  if (!sameBytes(recomputed, attest.pcrDigest)) {
    throw new TpmVerifyError('pcrMismatch', 'TPMS_QUOTE_INFO.pcrDigest', `the PCR values hash to ${toHex(recomputed)}, the TPM quoted ${toHex(attest.pcrDigest)}`);
  }
  if (expected.pcrPolicy !== undefined) checkPcrPolicy(expected.pcrPolicy, claimed, evidence.pcrValues);
  if (expected.previousClock !== undefined) checkClockProgress(expected.previousClock, attest.clockInfo);
  if (expected.ekPublic !== undefined) {
    const want = akQualifiedName(expected.ekPublic, ak);
    if (!sameBytes(want, attest.qualifiedSigner)) {
      throw new TpmVerifyError('akBinding', 'TPMS_ATTEST.qualifiedSigner', `${toHex(attest.qualifiedSigner)} is not this AK under this EK (${toHex(want)})`);
    }
  }
  return { ak, akName: objectName(ak), attest };
}

const BINDING_DOMAIN = new TextEncoder().encode('holonet.v1.TpmQuoteBinding');

/**
 * The quote's qualifying data for the bootstrap (DESIGN §3 step 3):
 * SHA-256(domain ‖ 0 ‖ len ‖ Nb ‖ len ‖ machine key ‖ len ‖ secret), each
 * part prefixed by its 2-byte length so no two different triples collide.
 * 32 bytes, well under the TPM's 64-byte extraData limit.
 */
export function quoteQualifyingData(orchestratorNonce: Uint8Array, machineKey: Uint8Array, activatedSecret: Uint8Array): Uint8Array {
  const h = createHash('sha256').update(BINDING_DOMAIN).update(Uint8Array.of(0));
  for (const part of [orchestratorNonce, machineKey, activatedSecret]) {
    if (part.length > 0xffff) throw new TpmVerifyError('malformed', 'quoteQualifyingData', 'a part is longer than 65535 bytes');
    h.update(u16be(part.length)).update(part);
  }
  return h.digest();
}
