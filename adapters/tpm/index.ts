/** Public names of the TPM adapter (tpm2-tools). Only composition roots (the main.ts files) import it. */
export { EK_CERT_NV_INDEX, TpmAttestor, type TpmAttestorOptions, type TpmIdentity, type TpmQuote } from './tpm-attestor.js';
export { TPM_ERROR_CODES, TpmError, type TpmErrorKind } from './tpm-error.js';
