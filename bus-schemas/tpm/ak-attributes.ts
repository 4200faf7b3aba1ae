import { TPMA_OBJECT, TPM_ALG, TPM_ECC_CURVES, hex16, hex32 } from './tpm-algorithms.js';
import type { TpmPublic } from './tpm-public.js';
import { TpmVerifyError } from './tpm-verify-error.js';

/**
 * What makes a key an attestation key we can believe (DESIGN §3, TCG EK/AK
 * profile): it signs only TPM-generated structures (restricted + sign), it
 * can never leave this TPM (fixedTPM, fixedParent), the TPM made its private
 * part (sensitiveDataOrigin), and it cannot also decrypt. A non-restricted
 * key could sign a forged TPMS_ATTEST that merely starts with the magic
 * value, so this check is what gives a quote signature its meaning.
 */

const REQUIRED: ReadonlyArray<[keyof typeof TPMA_OBJECT, number]> = [
  ['restricted', TPMA_OBJECT.restricted],
  ['sign', TPMA_OBJECT.sign],
  ['fixedTPM', TPMA_OBJECT.fixedTPM],
  ['fixedParent', TPMA_OBJECT.fixedParent],
  ['sensitiveDataOrigin', TPMA_OBJECT.sensitiveDataOrigin],
];

const SIGNING_SCHEMES: Record<'rsa' | 'ecc', readonly number[]> = {
  rsa: [TPM_ALG.RSASSA, TPM_ALG.RSAPSS],
  ecc: [TPM_ALG.ECDSA],
};

/** Minimum RSA modulus for an AK. */
export const MIN_AK_RSA_BITS = 2048;

/** Refuse (TpmVerifyError 'akAttributes') unless `ak` is a restricted, TPM-bound signing key with a fixed scheme. */
export function checkAkAttributes(ak: TpmPublic): void {
  const field = 'TPMT_PUBLIC.objectAttributes';
  const missing = REQUIRED.filter(([, bit]) => (ak.attributes & bit) === 0).map(([name]) => name);
  if (missing.length > 0) {
    throw new TpmVerifyError('akAttributes', field, `attributes ${hex32(ak.attributes)} lack ${missing.join(', ')}`);
  }
  if ((ak.attributes & TPMA_OBJECT.decrypt) !== 0) {
    throw new TpmVerifyError('akAttributes', field, `attributes ${hex32(ak.attributes)} allow decrypt; an AK must only sign`);
  }
  if (ak.scheme === null || !SIGNING_SCHEMES[ak.type].includes(ak.scheme.alg)) {
    const got = ak.scheme === null ? 'TPM_ALG_NULL' : hex16(ak.scheme.alg);
    throw new TpmVerifyError('akAttributes', 'TPMT_PUBLIC.parameters.scheme', `an AK needs a fixed signing scheme, got ${got}`);
  }
  if (ak.scheme.hashAlg === TPM_ALG.SHA1) {
    throw new TpmVerifyError('akAttributes', 'TPMT_PUBLIC.parameters.scheme', 'SHA-1 signing schemes are refused');
  }
  if (ak.type === 'rsa' && ak.keyBits < MIN_AK_RSA_BITS) {
    throw new TpmVerifyError('akAttributes', 'TPMT_PUBLIC.parameters.keyBits', `RSA-${ak.keyBits} is below ${MIN_AK_RSA_BITS} bits`);
  }
  if (ak.type === 'ecc' && !TPM_ECC_CURVES.has(ak.curveId)) {
    throw new TpmVerifyError('akAttributes', 'TPMT_PUBLIC.parameters.curveID', `curve ${hex16(ak.curveId)} is not supported`);
  }
}
