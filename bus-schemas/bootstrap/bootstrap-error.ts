import { HolonError } from '../errors.js';

/**
 * Why a bootstrap step was refused. Each kind has a stable code that is
 * recorded in the ledger and shown by `holonctl machines`.
 */
export const BOOTSTRAP_CODES = {
  untrustedCell: 'HOLON_E_BOOT_UNTRUSTED_CELL',
  badChallenge: 'HOLON_E_BOOT_BAD_CHALLENGE',
  badSeal: 'HOLON_E_BOOT_BAD_SEAL',
  clockSkew: 'HOLON_E_BOOT_CLOCK_SKEW',
  admission: 'HOLON_E_BOOT_ADMISSION',
  tpmRequired: 'HOLON_E_BOOT_TPM_REQUIRED',
  nonceStale: 'HOLON_E_BOOT_NONCE_STALE',
  nonceReplay: 'HOLON_E_BOOT_NONCE_REPLAY',
  quoteReplay: 'HOLON_E_BOOT_QUOTE_REPLAY',
  ekUntrusted: 'HOLON_E_BOOT_EK_UNTRUSTED',
  akAttributes: 'HOLON_E_BOOT_AK_ATTRIBUTES',
  activation: 'HOLON_E_BOOT_ACTIVATION',
  pcrPolicy: 'HOLON_E_BOOT_PCR_POLICY',
  pcrSelection: 'HOLON_E_BOOT_PCR_SELECTION',
  quote: 'HOLON_E_BOOT_QUOTE',
  jurisdiction: 'HOLON_E_BOOT_JURISDICTION',
  notApproved: 'HOLON_E_BOOT_NOT_APPROVED',
  mismatch: 'HOLON_E_BOOT_MISMATCH',
} as const;
export type BootstrapRefusalKind = keyof typeof BOOTSTRAP_CODES;

export class BootstrapError extends HolonError {
  readonly kind: BootstrapRefusalKind;
  readonly reason: string;
  constructor(kind: BootstrapRefusalKind, reason: string, options?: { cause?: unknown }) {
    super(BOOTSTRAP_CODES[kind], `bootstrap: ${reason}`, options);
    this.kind = kind;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, reason: this.reason };
  }
}
