/**
 * The three ways Merkle work can fail, one class each (errors are data):
 * a proof that does not verify, a request a log cannot answer, and a hash
 * store whose contents do not make a whole tree.
 */
import { HolonError } from '../errors.js';

export type MerkleProofKind = 'inclusion' | 'consistency' | 'multiproof';

/**
 * A proof did not verify, or its inputs were malformed (wrong hash length,
 * index not below the size, too few or too many hashes, root mismatch).
 * Verifiers throw this and nothing else on bad input.
 */
export class MerkleProofError extends HolonError {
  static readonly CODE = 'HOLON_E_MERKLE_PROOF';
  readonly kind: MerkleProofKind;
  readonly reason: string;
  constructor(kind: MerkleProofKind, reason: string) {
    super(MerkleProofError.CODE, `merkle ${kind} proof: ${reason}`);
    this.kind = kind;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, reason: this.reason };
  }
}

/**
 * A log was asked for something it cannot answer: a size beyond its leaves,
 * an index not below the size, indices out of order, a leaf hash of the
 * wrong length. Names the request and, where it matters, the log size.
 */
export class MerkleRequestError extends HolonError {
  static readonly CODE = 'HOLON_E_MERKLE_REQUEST';
  readonly reason: string;
  readonly logSize: number | undefined;
  constructor(reason: string, logSize?: number) {
    super(MerkleRequestError.CODE, `merkle log: ${reason}${logSize === undefined ? '' : ` (log size ${logSize})`}`);
    this.reason = reason;
    this.logSize = logSize;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason, log_size: this.logSize };
  }
}

/** A hash store's contents are not a whole tree (torn append, wrong hash length). */
export class MerkleStoreError extends HolonError {
  static readonly CODE = 'HOLON_E_MERKLE_STORE';
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(MerkleStoreError.CODE, `merkle store: ${reason}`, options);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}
