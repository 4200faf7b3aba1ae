/**
 * Checks verifiers run on their inputs before hashing anything, so bad input
 * of any shape — a string for a hash, a 31-byte root, a negative or
 * fractional size, a non-array proof — ends in a MerkleProofError that says
 * which argument is wrong, never a TypeError from deep inside.
 */
import { HASH_SIZE } from './hashing.js';
import { MerkleProofError, MerkleRequestError, type MerkleProofKind } from './merkle-errors.js';
import { isTreeNumber } from './tree-math.js';

export function checkNumber(kind: MerkleProofKind, name: string, value: unknown): number {
  if (!isTreeNumber(value)) throw new MerkleProofError(kind, `${name} must be a non-negative safe integer`);
  return value;
}

export function checkHash(kind: MerkleProofKind, name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new MerkleProofError(kind, `${name} is not a byte array`);
  if (value.length !== HASH_SIZE) throw new MerkleProofError(kind, `${name} is ${value.length} bytes, not ${HASH_SIZE}`);
  return value;
}

/** An array of 32-byte hashes of exactly `expected` entries (if given). */
export function checkHashList(kind: MerkleProofKind, name: string, value: unknown, expected?: number): readonly Uint8Array[] {
  if (!Array.isArray(value)) throw new MerkleProofError(kind, `${name} is not an array`);
  const list = value as readonly unknown[];
  if (expected !== undefined && list.length !== expected) {
    const adjective = list.length < expected ? 'too few' : 'too many';
    throw new MerkleProofError(kind, `${adjective} hashes in ${name}: got ${list.length}, expected ${expected}`);
  }
  for (let i = 0; i < list.length; i++) {
    const h = list[i];
    // Name the entry only when it is wrong: this loop is on the hot path.
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) checkHash(kind, `${name}[${i}]`, h);
  }
  return list as readonly Uint8Array[];
}

/**
 * Leaf indices for a multiproof: a non-empty array of safe integers,
 * strictly ascending, each below `size`. Returns the reason it is not, or
 * undefined when it is; the caller picks the error class (a verifier refuses
 * a proof, a generator refuses a request).
 */
export function indicesProblem(indices: unknown, size: number): string | undefined {
  if (!Array.isArray(indices)) return 'indices is not an array';
  const list = indices as readonly unknown[];
  if (list.length === 0) return 'no leaf indices to prove';
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isTreeNumber(v)) return `indices[${i}] must be a non-negative safe integer`;
    if (v >= size) return `indices[${i}] = ${v} is not below the tree size ${size}`;
    if (i > 0 && v <= (list[i - 1] as number)) return `indices[${i}] = ${v} is not above indices[${i - 1}]; indices must be strictly ascending`;
  }
  return undefined;
}

/** Request-side checks shared by the generators: a size the source holds. */
export function checkRequestSize(name: string, value: unknown, logSize: number): number {
  if (!isTreeNumber(value)) throw new MerkleRequestError(`${name} must be a non-negative safe integer`, logSize);
  if (value > logSize) throw new MerkleRequestError(`${name} ${value} exceeds the log`, logSize);
  return value;
}
