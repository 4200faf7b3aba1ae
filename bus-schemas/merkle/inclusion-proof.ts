/**
 * Inclusion proofs (audit paths), both halves side by side.
 *
 * Generation follows RFC 6962 §2.1.1: PATH(m, D[n]) descends from the root,
 * taking the sibling subtree's hash at each split, and lists them leaf-first.
 * Each sibling is read from perfect-subtree hashes, so a proof costs O(log n)
 * reads; at most one sibling (on the right edge) is not itself perfect and
 * costs O(log n) hashes to assemble.
 *
 * Verification is RFC 9162 §2.1.3.2, which needs only the index, the size,
 * the leaf hash and the proof: ⌈log2 n⌉ hashes at most.
 */
import { equalHashes, nodeHash } from './hashing.js';
import { MerkleProofError, MerkleRequestError } from './merkle-errors.js';
import { subtreeHash, type MerkleNodeSource } from './node-source.js';
import { checkHash, checkHashList, checkNumber, checkRequestSize } from './proof-input.js';
import { inclusionProofLength, isTreeNumber, splitPoint } from './tree-math.js';

/** The audit path of leaf `index` in the tree of the first `size` leaves of `source`. */
export function inclusionProof(source: MerkleNodeSource, index: number, size: number): Uint8Array[] {
  checkRequestSize('size', size, source.size);
  if (!isTreeNumber(index) || index >= size) {
    throw new MerkleRequestError(`leaf index ${index} is not below the tree size ${size}`, source.size);
  }
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      topDown.push(subtreeHash(source, start + k, end));
      end = start + k;
    } else {
      topDown.push(subtreeHash(source, start, start + k));
      start += k;
    }
  }
  return topDown.reverse();
}

const half = (x: number): number => Math.floor(x / 2);

/**
 * The root that `proof` yields for `leafHash` at `index` in a tree of
 * `size` leaves. Throws MerkleProofError on malformed input.
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  checkNumber('inclusion', 'index', index);
  checkNumber('inclusion', 'size', size);
  if (index >= size) throw new MerkleProofError('inclusion', `index ${index} is not below the tree size ${size}`);
  checkHash('inclusion', 'leafHash', leafHash);
  checkHashList('inclusion', 'proof', proof, inclusionProofLength(index, size));
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // A left sibling at the right edge: climb past the levels where this
      // node has no sibling (the tree is not perfect there).
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Holds whenever the length check passed; kept as the RFC's own guard.
  if (sn !== 0) throw new MerkleProofError('inclusion', 'proof does not reach the root');
  return r;
}

/**
 * RFC 9162 §2.1.3.2: returns normally iff `proof` shows `leafHash` at
 * `index` in the tree of `size` leaves whose root is `root`. Otherwise
 * throws MerkleProofError, and nothing else, whatever the input.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash('inclusion', 'root', root);
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalHashes(computed, root)) {
    throw new MerkleProofError('inclusion', `leaf ${index} does not hash up to the root of the tree of size ${size}`);
  }
}
