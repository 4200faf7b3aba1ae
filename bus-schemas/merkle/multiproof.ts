/**
 * Multiproofs: one proof that a set of leaves are all in the tree, sharing
 * every hash their paths have in common. Both halves side by side.
 *
 * The proof is the minimal set of hashes: the roots of the maximal subtrees
 * of the RFC 6962 tree that contain none of the proved leaves — every other
 * node is computable from the leaves and these. No such hash can be derived
 * from the given leaves, and dropping any one leaves a node unknown.
 *
 * ORDER: the subtrees are disjoint ranges of leaves, and the hashes are
 * listed left to right by the first leaf each covers (equivalently, the
 * order a depth-first, left-first walk of the tree meets them). The list is
 * thus a function of (size, indices) alone, and the verifier consumes it in
 * one pass.
 *
 * Cost: O(k log n) reads to build for k leaves, O(k log n) hashes to verify;
 * never more hashes than the k single inclusion proofs together.
 */
import { equalHashes, nodeHash } from './hashing.js';
import { MerkleProofError, MerkleRequestError } from './merkle-errors.js';
import { subtreeHash, type MerkleNodeSource } from './node-source.js';
import { checkHash, checkHashList, checkNumber, checkRequestSize, indicesProblem } from './proof-input.js';
import { splitPoint } from './tree-math.js';

/** First position in indices[lo, hi) holding a value ≥ bound (indices ascending). */
function partition(indices: readonly number[], lo: number, hi: number, bound: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((indices[mid] as number) < bound) a = mid + 1;
    else b = mid;
  }
  return a;
}

/**
 * Walk the tree over [start, end) with the proved leaves indices[lo, hi),
 * calling `absent` for each maximal subtree holding none of them, in
 * left-to-right order.
 */
function walkAbsent(
  indices: readonly number[],
  start: number,
  end: number,
  lo: number,
  hi: number,
  absent: (start: number, end: number) => void,
): void {
  if (lo === hi) {
    absent(start, end);
    return;
  }
  if (end - start === 1) return;
  const k = splitPoint(end - start);
  const mid = partition(indices, lo, hi, start + k);
  walkAbsent(indices, start, start + k, lo, mid, absent);
  walkAbsent(indices, start + k, end, mid, hi, absent);
}

/** Number of hashes in the multiproof for `indices` (valid, ascending) in a tree of `size` leaves. */
export function multiProofLength(indices: readonly number[], size: number): number {
  let count = 0;
  walkAbsent(indices, 0, size, 0, indices.length, () => {
    count++;
  });
  return count;
}

/**
 * The multiproof for leaves `indices` (strictly ascending, each < size) in
 * the tree of the first `size` leaves of `source`.
 */
export function multiProof(source: MerkleNodeSource, indices: readonly number[], size: number): Uint8Array[] {
  checkRequestSize('size', size, source.size);
  const problem = indicesProblem(indices, size);
  if (problem !== undefined) throw new MerkleRequestError(problem, source.size);
  const proof: Uint8Array[] = [];
  walkAbsent(indices, 0, size, 0, indices.length, (start, end) => {
    proof.push(subtreeHash(source, start, end));
  });
  return proof;
}

/**
 * Returns normally iff `leafHashes[i]` is the leaf at `indices[i]` for every
 * i, in the tree of `size` leaves whose root is `root`, as shown by
 * `proofHashes` (in the order documented above). Otherwise throws
 * MerkleProofError — and nothing else — naming what is wrong: the shape of
 * the input, too few or too many hashes, or a root mismatch.
 */
export function verifyMultiProof(
  size: number,
  root: Uint8Array,
  indices: readonly number[],
  leafHashes: readonly Uint8Array[],
  proofHashes: readonly Uint8Array[],
): void {
  checkNumber('multiproof', 'size', size);
  checkHash('multiproof', 'root', root);
  const problem = indicesProblem(indices, size);
  if (problem !== undefined) throw new MerkleProofError('multiproof', problem);
  checkHashList('multiproof', 'leafHashes', leafHashes, indices.length);
  checkHashList('multiproof', 'proofHashes', proofHashes, multiProofLength(indices, size));
  let next = 0;
  const rebuild = (start: number, end: number, lo: number, hi: number): Uint8Array => {
    if (lo === hi) return proofHashes[next++] as Uint8Array;
    // Strictly ascending indices: a one-leaf range holds exactly one of them.
    if (end - start === 1) return leafHashes[lo] as Uint8Array;
    const k = splitPoint(end - start);
    const mid = partition(indices, lo, hi, start + k);
    const left = rebuild(start, start + k, lo, mid);
    return nodeHash(left, rebuild(start + k, end, mid, hi));
  };
  const computed = rebuild(0, size, 0, indices.length);
  if (!equalHashes(computed, root)) {
    throw new MerkleProofError('multiproof', `the ${indices.length} leaves do not hash up to the root of the tree of size ${size}`);
  }
}
