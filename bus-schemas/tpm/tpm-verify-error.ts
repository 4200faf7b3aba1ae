import { HolonError } from '../errors.js';

/**
 * Why a TPM structure, quote, credential or EK was refused. One stable code
 * per reason so the orchestrator can put it in a signed refusal and an
 * operator can grep for it; `detail` carries the specifics (offsets, PCR
 * indices, expected vs actual) without any secret material.
 */
export const TPM_VERIFY_CODES = {
  /** Bytes are not the TPM structure they claim to be (parsers only throw this). */
  malformed: 'HOLON_E_TPM_MALFORMED',
  /** The quote signature does not verify with the AK public key. */
  badSignature: 'HOLON_E_TPM_BAD_SIGNATURE',
  /** The PCR values do not hash to the quote's pcrDigest. */
  pcrMismatch: 'HOLON_E_TPM_PCR_MISMATCH',
  /** The quoted PCR selection is not exactly the one asked for. */
  pcrSelection: 'HOLON_E_TPM_PCR_SELECTION',
  /** The PCR values are authentic but differ from the golden policy. */
  pcrPolicy: 'HOLON_E_TPM_PCR_POLICY',
  /** extraData is not the expected nonce binding. */
  nonce: 'HOLON_E_TPM_NONCE',
  /** The AK is not a restricted, TPM-bound signing key. */
  akAttributes: 'HOLON_E_TPM_AK_ATTRIBUTES',
  /** The quote's qualified signer is not this AK under this EK. */
  akBinding: 'HOLON_E_TPM_AK_BINDING',
  /** The EK certificate does not chain to a trusted CA, or the EK is not allow-listed. */
  ekUntrusted: 'HOLON_E_TPM_EK_UNTRUSTED',
  /** The EK certificate and the EK public key are different keys. */
  ekMismatch: 'HOLON_E_TPM_EK_MISMATCH',
  /** The TPM clock, reset or restart counter went backwards. */
  clock: 'HOLON_E_TPM_CLOCK',
  /** The activated credential is not the secret we wrapped. */
  activation: 'HOLON_E_TPM_ACTIVATION',
  /** A well-formed structure uses an algorithm we do not verify. */
  unsupported: 'HOLON_E_TPM_UNSUPPORTED',
} as const;

export type TpmVerifyReason = keyof typeof TPM_VERIFY_CODES;
export type TpmVerifyCode = (typeof TPM_VERIFY_CODES)[TpmVerifyReason];

export class TpmVerifyError extends HolonError {
  readonly reason: TpmVerifyReason;
  /** Which structure or field, e.g. `TPMS_ATTEST.extraData`, `TPMT_PUBLIC.objectAttributes`. */
  readonly field: string;
  /** What exactly was wrong, for the operator; never contains secrets. */
  readonly detail: string;

  constructor(reason: TpmVerifyReason, field: string, detail: string, options?: { cause?: unknown }) {
    super(TPM_VERIFY_CODES[reason], `tpm: ${field}: ${detail}`, options);
    this.reason = reason;
    this.field = field;
    this.detail = detail;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason, field: this.field, detail: this.detail };
  }
}

/** Shorthand for the one error a parser may throw. */
export function malformed(field: string, detail: string): TpmVerifyError {
  return new TpmVerifyError('malformed', field, detail);
}
