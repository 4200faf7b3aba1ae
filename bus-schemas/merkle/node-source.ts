/**
 * The port proof generators read from: hashes of perfect subtrees. A
 * MerkleLog answers it from its hash store; anything else that keeps the
 * same hashes (a persisted log, a test fake) can stand in.
 */
import { emptyRootHash, nodeHash } from './hashing.js';
import { MerkleRequestError } from './merkle-errors.js';
import { bitLength, isTreeNumber } from './tree-math.js';

export interface MerkleNodeSource {
  /** Leaves currently in the tree. */
  readonly size: number;
  /**
   * Hash of the perfect subtree over leaves [index·2^level, (index+1)·2^level);
   * level 0 is a leaf hash. Only asked for subtrees that lie inside [0, size).
   */
  perfectHash(level: number, index: number): Uint8Array;
}

/**
 * MTH(D[start:end]) for a subtree of the RFC 6962 tree, read as its perfect
 * pieces (largest first, each aligned to its own width) and folded from the
 * right: at most ⌈log2 n⌉ reads and as many hashes. The subtrees RFC 6962
 * recursion visits always decompose this way; a range that does not is
 * refused.
 */
export function subtreeHash(source: MerkleNodeSource, start: number, end: number): Uint8Array {
  if (!isTreeNumber(start) || !isTreeNumber(end) || start >= end || end > source.size) {
    throw new MerkleRequestError(`subtree [${start}, ${end}) is not a non-empty range inside the log`, source.size);
  }
  const width = end - start;
  const pieces: Uint8Array[] = [];
  let pos = start;
  for (let level = bitLength(width) - 1; level >= 0; level--) {
    const span = 2 ** level;
    if (Math.floor(width / span) % 2 === 0) continue;
    if (pos % span !== 0) {
      throw new MerkleRequestError(`subtree [${start}, ${end}) is not a node of the tree`, source.size);
    }
    pieces.push(source.perfectHash(level, pos / span));
    pos += span;
  }
  let h = pieces[pieces.length - 1] as Uint8Array;
  for (let i = pieces.length - 2; i >= 0; i--) h = nodeHash(pieces[i] as Uint8Array, h);
  return h;
}

/** MTH of the first `size` leaves: the root the log had at that size. O(log size). */
export function treeRootAt(source: MerkleNodeSource, size: number): Uint8Array {
  if (!isTreeNumber(size) || size > source.size) {
    throw new MerkleRequestError(`no tree of size ${size}`, source.size);
  }
  return size === 0 ? emptyRootHash() : subtreeHash(source, 0, size);
}
