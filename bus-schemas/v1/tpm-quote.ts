import { array, base64url, enumeration, integer, object, optional, refine, string, type Infer } from '../schema.js';
import { defineObject } from '../wire.js';

/**
 * TpmQuoteV1: a TPM 2.0 quote exactly as the TPM produced it, plus what a
 * verifier needs to check it (OBJ-ARP-01 step 3/4). The orchestrator's pure
 * TypeScript verifier does the real work (signature, extraData, PCR digest,
 * AK attributes, EK chain); the checks here are the cheap structural ones
 * that let us refuse garbage before any crypto:
 * - `attest` is a TPM2B_ATTEST (2-byte big-endian size ‖ TPMS_ATTEST) whose
 *   TPMS_ATTEST starts with TPM_GENERATED_VALUE and has type
 *   TPM_ST_ATTEST_QUOTE; the signature covers the TPMS_ATTEST part (the
 *   agent wraps what `tpm2_quote -m` writes in its size prefix; the verifier's
 *   `attestBody` takes it off again);
 * - `signature` is a TPMT_SIGNATURE whose sigAlg and hash agree with
 *   `signature_alg`;
 * - the PCR indices are sorted, unique, 0–23, and there is one value of the
 *   bank's digest size per selected PCR, in the same order;
 * - `ak_public` / `ek_public` are TPM2B_PUBLIC (size prefix matches) and
 *   `ek_certificate` is one DER SEQUENCE of exactly its length (agents trim
 *   the NV padding some vendors leave after the certificate);
 * - at least one of `ek_certificate` or `ek_public` identifies the EK.
 */

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
export const TPM_ALG_SHA256 = 0x000b;
export const TPM_ALG_RSASSA = 0x0014;
export const TPM_ALG_ECDSA = 0x0018;

export const SIGNATURE_ALGS = ['ecdsa-p256-sha256', 'rsassa-sha256'] as const;
export type TpmSignatureAlg = (typeof SIGNATURE_ALGS)[number];
const SIG_ALG_IDS: Record<TpmSignatureAlg, number> = {
  'ecdsa-p256-sha256': TPM_ALG_ECDSA,
  'rsassa-sha256': TPM_ALG_RSASSA,
};

export const PCR_BANKS = ['sha1', 'sha256', 'sha384'] as const;
export type PcrBank = (typeof PCR_BANKS)[number];
export const PCR_DIGEST_HEX_LENGTH: Record<PcrBank, number> = { sha1: 40, sha256: 64, sha384: 96 };
export const MAX_PCR_INDEX = 23;

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** Why `b64` is not a TPM2B of exactly its length, or undefined. */
export function checkTpm2b(b64: string, what: string): string | undefined {
  const bytes = Buffer.from(b64, 'base64url');
  if (bytes.length < 2 || bytes.readUInt16BE(0) !== bytes.length - 2) return `${what} size prefix does not match its length`;
  return undefined;
}

/** Why `b64` is not a quote TPM2B_ATTEST, or undefined. */
export function checkQuoteAttest(b64: string): string | undefined {
  const bytes = Buffer.from(b64, 'base64url');
  // tpm2_quote -m writes the bare TPMS_ATTEST; the wire form keeps the TPM's size prefix.
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === TPM_GENERATED_VALUE) return 'expected TPM2B_ATTEST (size-prefixed), got a bare TPMS_ATTEST';
  const sized = checkTpm2b(b64, 'TPM2B_ATTEST');
  if (sized !== undefined) return sized;
  if (bytes.length < 8 || bytes.readUInt32BE(2) !== TPM_GENERATED_VALUE) return 'not TPM-generated (magic is not 0xff544347)';
  const type = bytes.readUInt16BE(6);
  if (type !== TPM_ST_ATTEST_QUOTE) return `not a quote (type ${hex(type)}, expected ${hex(TPM_ST_ATTEST_QUOTE)})`;
  return undefined;
}

/** Why `b64` is not a TPMT_SIGNATURE made with `alg`, or undefined. */
export function checkSignatureHeader(b64: string, alg: TpmSignatureAlg): string | undefined {
  const bytes = Buffer.from(b64, 'base64url');
  if (bytes.length < 4) return 'TPMT_SIGNATURE shorter than its header';
  const sigAlg = bytes.readUInt16BE(0);
  if (sigAlg !== SIG_ALG_IDS[alg]) return `sigAlg ${hex(sigAlg)} does not match ${alg}`;
  const hash = bytes.readUInt16BE(2);
  if (hash !== TPM_ALG_SHA256) return `hash ${hex(hash)} is not sha256`;
  return undefined;
}

/** Why `b64` is not one DER SEQUENCE spanning all of its bytes, or undefined. */
export function checkDerSequence(b64: string): string | undefined {
  const bytes = Buffer.from(b64, 'base64url');
  if (bytes.length < 2 || bytes[0] !== 0x30) return 'not a DER SEQUENCE';
  const first = bytes[1] as number;
  let header = 2;
  let length = first;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n < 1 || n > 3 || bytes.length < 2 + n) return 'unsupported DER length';
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (bytes[2 + i] as number);
    header = 2 + n;
  }
  if (header + length !== bytes.length) return `DER length ${header + length} does not match ${bytes.length} bytes`;
  return undefined;
}

export const PcrSelectionV1Schema = object(
  {
    bank: enumeration(PCR_BANKS, 'PCR bank hash'),
    pcrs: refine(array(integer({ min: 0, max: MAX_PCR_INDEX }), { min: 1, max: MAX_PCR_INDEX + 1 }), (pcrs) => {
      for (let i = 1; i < pcrs.length; i++) {
        if ((pcrs[i] as number) <= (pcrs[i - 1] as number)) {
          return { path: `[${i}]`, reason: 'PCR indices must be strictly ascending' };
        }
      }
      return undefined;
    }),
  },
  'PCR selection: one bank and its sorted PCR indices',
);
export type PcrSelectionV1 = Infer<typeof PcrSelectionV1Schema>;

export const TpmPublicSchema = refine(base64url({ minBytes: 4, maxBytes: 1024, description: 'TPM2B_PUBLIC' }), (s) =>
  checkTpm2b(s, 'TPM2B_PUBLIC'),
);

export const TpmQuoteV1Schema = refine(
  object(
    {
      attest: refine(base64url({ minBytes: 8, maxBytes: 2048, description: 'TPM2B_ATTEST as the TPM returned it' }), checkQuoteAttest),
      signature: base64url({ minBytes: 4, maxBytes: 1024, description: 'TPMT_SIGNATURE over the TPMS_ATTEST' }),
      signature_alg: enumeration(SIGNATURE_ALGS, 'AK signature scheme'),
      pcr_selection: PcrSelectionV1Schema,
      /** pcr_values[i] is the value of pcr_selection.pcrs[i], lowercase hex of the bank's digest size */
      pcr_values: array(string({ min: 40, max: 96, pattern: /^[0-9a-f]+$/, format: 'lowercase hex PCR digest' }), {
        min: 1,
        max: MAX_PCR_INDEX + 1,
      }),
      ak_public: TpmPublicSchema,
      ek_certificate: optional(refine(base64url({ minBytes: 2, maxBytes: 4096, description: 'EK certificate, DER' }), checkDerSequence)),
      ek_public: optional(TpmPublicSchema),
    },
    'TpmQuoteV1: a TPM 2.0 quote with the PCR values and keys needed to verify it',
  ),
  (q) => {
    const header = checkSignatureHeader(q.signature, q.signature_alg);
    if (header !== undefined) return { path: '.signature', reason: header };
    const want = q.pcr_selection.pcrs.length;
    if (q.pcr_values.length !== want) {
      return { path: '.pcr_values', reason: `expected ${want} values, one per selected PCR` };
    }
    const size = PCR_DIGEST_HEX_LENGTH[q.pcr_selection.bank];
    for (let i = 0; i < q.pcr_values.length; i++) {
      if ((q.pcr_values[i] as string).length !== size) {
        return { path: `.pcr_values[${i}]`, reason: `expected ${size} hex digits for a ${q.pcr_selection.bank} bank` };
      }
    }
    if (q.ek_certificate === undefined && q.ek_public === undefined) {
      return { path: '.ek_certificate', reason: 'one of ek_certificate or ek_public is required' };
    }
    return undefined;
  },
);
export type TpmQuoteV1 = Infer<typeof TpmQuoteV1Schema>;
export const TpmQuoteV1 = defineObject('TpmQuoteV1', TpmQuoteV1Schema, { maxBytes: 16 * 1024 });
