import { HolonError } from '../bus-schemas/errors.js';

/**
 * Why the cell refused a principal's request (approve, list) or a status
 * request. Stable codes; the message says what to fix.
 */
export const CELL_REQUEST_CODES = {
  notPrincipal: 'HOLON_E_NOT_PRINCIPAL',
  wrongCell: 'HOLON_E_WRONG_CELL',
  stale: 'HOLON_E_REQUEST_STALE',
  approvalExpired: 'HOLON_E_APPROVAL_EXPIRED',
  approvalNonceUsed: 'HOLON_E_APPROVAL_NONCE_USED',
  approvalClass: 'HOLON_E_APPROVAL_CLASS',
  unknownMachine: 'HOLON_E_MACHINE_UNKNOWN',
} as const;
export type CellRequestRefusal = keyof typeof CELL_REQUEST_CODES;

export class CellRequestError extends HolonError {
  readonly kind: CellRequestRefusal;
  readonly reason: string;
  constructor(kind: CellRequestRefusal, reason: string) {
    super(CELL_REQUEST_CODES[kind], `cell: ${reason}`);
    this.kind = kind;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, reason: this.reason };
  }
}
