import type { AdmissionRequirement } from '../admission/requirement.js';
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
  /** The hello field at fault (`$.admission.kind`), where one is; carried into RefusalV1.path. */
  readonly path: string | undefined;
  /** For admission refusals: the proof the cell asks for now; carried into RefusalV1.admission_required. */
  readonly admissionRequired: AdmissionRequirement | undefined;
  constructor(
    kind: BootstrapRefusalKind,
    reason: string,
    options?: { cause?: unknown; path?: string; admissionRequired?: AdmissionRequirement },
  ) {
    super(BOOTSTRAP_CODES[kind], `bootstrap: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.reason = reason;
    this.path = options?.path;
    this.admissionRequired = options?.admissionRequired;
  }
  override toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      kind: this.kind,
      reason: this.reason,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.admissionRequired !== undefined ? { admission_required: this.admissionRequired } : {}),
    };
  }
}
