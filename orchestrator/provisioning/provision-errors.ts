/** Typed refusals of the provisioning service; each names what to fix. */
import { HolonError } from '../../bus-schemas/errors.js';

export type ProvisionRefusalKind = 'expired' | 'replay' | 'role' | 'budget' | 'placement' | 'tenant-busy' | 'unknown-holon' | 'not-ready' | 'forbidden' | 'unit-report' | 'holon-key' | 'holon-id-taken' | 'quota';

const CODES: Record<ProvisionRefusalKind, string> = {
  expired: 'HOLON_E_REQUEST_EXPIRED',
  replay: 'HOLON_E_REPLAY',
  role: 'HOLON_E_ROLE_NOT_ALLOWED',
  budget: 'HOLON_E_BUDGET_EXCEEDED',
  placement: 'HOLON_E_NO_PLACEMENT',
  'tenant-busy': 'HOLON_E_TENANT_BUSY',
  'unknown-holon': 'HOLON_E_UNKNOWN_HOLON',
  'not-ready': 'HOLON_E_NOT_READY',
  forbidden: 'HOLON_E_FORBIDDEN',
  'unit-report': 'HOLON_E_UNIT_REPORT',
  'holon-key': 'HOLON_E_HOLON_KEY_PROOF',
  'holon-id-taken': 'HOLON_E_HOLON_ID_TAKEN',
  quota: 'HOLON_E_QUOTA_EXCEEDED',
};

export class ProvisionError extends HolonError {
  readonly kind: ProvisionRefusalKind;
  readonly path: string | undefined;
  readonly reason: string;
  constructor(kind: ProvisionRefusalKind, reason: string, path?: string) {
    super(CODES[kind], `provision: ${path !== undefined ? `${path}: ` : ''}${reason}`);
    this.kind = kind;
    this.path = path;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, ...(this.path !== undefined ? { path: this.path } : {}), reason: this.reason };
  }
}
