/**
 * CapabilityError: every refusal of the capability lattice and of delegation
 * chains (DESIGN §4). One class, one stable code per `kind`, and the context
 * an operator needs to find the culprit: which link of the chain (depth,
 * 0 = root), which grant of that link's manifest, which field of the grant,
 * what the parent allowed and what the child asked for.
 */
import type { CasDigest } from '../digest.js';
import { HolonError } from '../errors.js';
import type { CapabilityCapsV1 } from '../v1/capability-manifest.js';

/** Stable codes, one per kind of refusal. */
export const CAPABILITY_ERROR_CODES = {
  amplification: 'HOLON_E_CAP_AMPLIFICATION',
  expired: 'HOLON_E_CAP_EXPIRED',
  'not-yet-valid': 'HOLON_E_CAP_NOT_YET_VALID',
  'broken-chain': 'HOLON_E_CAP_BROKEN_CHAIN',
  'depth-exhausted': 'HOLON_E_CAP_DEPTH_EXHAUSTED',
  revoked: 'HOLON_E_CAP_REVOKED',
  'untrusted-root': 'HOLON_E_CAP_UNTRUSTED_ROOT',
  denied: 'HOLON_E_CAP_DENIED',
} as const;

export type CapabilityErrorKind = keyof typeof CAPABILITY_ERROR_CODES;
export type CapabilityErrorCode = (typeof CAPABILITY_ERROR_CODES)[CapabilityErrorKind];

/** A field of a grant that can make it uncovered: the action, the resource, a window end, or a cap. */
export type GrantField = 'action' | 'resource' | 'not_before' | 'not_after' | keyof CapabilityCapsV1;

export interface CapabilityErrorContext {
  /** Depth of the offending link in its chain (0 = the root link). */
  linkDepth?: number;
  /** Digest of the offending link. */
  linkDigest?: CasDigest;
  /** Index of the offending grant in the offending manifest. */
  grantIndex?: number;
  /** The grant field that failed (a cap field such as `cpu_seconds`, or action/resource/window). */
  field?: GrantField;
  /** What the parent (or the clock, or the grant) allows. */
  allowed?: number | string;
  /** What was asked for. */
  requested?: number | string;
  cause?: unknown;
}

export class CapabilityError extends HolonError {
  readonly kind: CapabilityErrorKind;
  readonly linkDepth: number | undefined;
  readonly linkDigest: CasDigest | undefined;
  readonly grantIndex: number | undefined;
  readonly field: GrantField | undefined;
  readonly allowed: number | string | undefined;
  readonly requested: number | string | undefined;

  constructor(kind: CapabilityErrorKind, message: string, context: CapabilityErrorContext = {}) {
    super(CAPABILITY_ERROR_CODES[kind], `capability: ${locate(context)}${message}`, { cause: context.cause });
    this.kind = kind;
    this.linkDepth = context.linkDepth;
    this.linkDigest = context.linkDigest;
    this.grantIndex = context.grantIndex;
    this.field = context.field;
    this.allowed = context.allowed;
    this.requested = context.requested;
  }

  override toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, kind: this.kind, message: this.message };
    if (this.linkDepth !== undefined) out.link_depth = this.linkDepth;
    if (this.linkDigest !== undefined) out.link_digest = this.linkDigest;
    if (this.grantIndex !== undefined) out.grant_index = this.grantIndex;
    if (this.field !== undefined) out.field = this.field;
    if (this.allowed !== undefined) out.allowed = this.allowed;
    if (this.requested !== undefined) out.requested = this.requested;
    return out;
  }
}

function locate(c: CapabilityErrorContext): string {
  const parts: string[] = [];
  if (c.linkDepth !== undefined) parts.push(`link ${c.linkDepth}`);
  if (c.grantIndex !== undefined) parts.push(`grant ${c.grantIndex}`);
  return parts.length === 0 ? '' : `${parts.join(' ')}: `;
}
