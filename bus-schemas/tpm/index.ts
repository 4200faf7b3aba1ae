/**
 * The TPM 2.0 protocol logic, pure and shared (DESIGN §3, §12): the
 * orchestrator verifies with it, the agent's attestor and the tests build on
 * it. Structures mirror the TPM's bytes; every refusal is a TpmVerifyError.
 */
export { TPM_VERIFY_CODES, TpmVerifyError, type TpmVerifyCode, type TpmVerifyReason } from './tpm-verify-error.js';
export { TPM_ALG, TPMA_OBJECT, TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE, type TpmHashName } from './tpm-algorithms.js';
export {
  akQualifiedName,
  eccPointBytes,
  objectName,
  parseTpm2bPublic,
  parseTpmtPublic,
  publicKeyOf,
  qualifiedName,
  spkiOf,
  type TpmEccPublic,
  type TpmPublic,
  type TpmRsaPublic,
  type TpmScheme,
  type TpmSymmetric,
} from './tpm-public.js';
export { checkAkAttributes, MIN_AK_RSA_BITS } from './ak-attributes.js';
export { marshalTpm2b } from './tpm-reader.js';
export { attestBody, parseQuoteAttest, type TpmClockInfo, type TpmPcrSelection, type TpmQuoteAttest } from './tpm-attest.js';
export { ecdsaDer, parseTpmtSignature, verifyTpmSignature, type TpmSignature } from './tpm-signature.js';
export {
  bankAlg,
  checkPcrPolicy,
  checkPcrSelection,
  pcrDigestOf,
  pcrValuesFromHex,
  type PcrBank,
  type PcrPolicy,
  type PcrSelection,
} from './pcr-policy.js';
export { checkClockProgress, clockInfoFromJson, clockInfoToJson } from './clock-info.js';
export { quoteQualifyingData, verifyQuote, type QuoteEvidence, type QuoteExpectations, type VerifiedQuote } from './verify-quote.js';
export { kdfa, kdfe } from './kdf.js';
export {
  decodeCredentialFile,
  encodeCredentialFile,
  makeCredential,
  unwrapCredential,
  verifyActivatedSecret,
  type MadeCredential,
} from './make-credential.js';
export {
  checkEkAllowList,
  checkEkMatchesCertificate,
  derLength,
  ekHash,
  trimDer,
  verifyEkCertificate,
  type CertificateInput,
  type EkTrustAnchors,
  type VerifiedEkCertificate,
} from './ek-certificate.js';
