/**
 * The right edge of an append-only RFC 6962 tree: one hash per set bit of
 * the size — the roots of the perfect subtrees that tile [0, size), largest
 * first (a "compact range", as CT logs and Go's sumdb tlog keep it). That is
 * all the state needed to append and to compute the root: O(log n) hashes.
 *
 * Appending a leaf merges equal-sized subtrees like binary carry: amortized
 * one node hash per leaf. The root folds the edge from the right: O(log n).
 */
import { emptyRootHash, HASH_SIZE, nodeHash } from './hashing.js';
import { MerkleRequestError } from './merkle-errors.js';
import { isTreeNumber, popcount } from './tree-math.js';

export class MerkleFrontier {
  #size = 0;
  readonly #edge: Uint8Array[] = [];

  /** Leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Append one leaf hash. Returns the hashes that became computable, in the
   * stored-hash layout order: the leaf hash, then each perfect subtree it
   * completed, lowest level first. The frontier keeps the last of them:
   * copy before modifying any.
   */
  append(leafHash: Uint8Array): Uint8Array[] {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
      throw new MerkleRequestError('a leaf hash must be 32 bytes');
    }
    const completed: Uint8Array[] = [leafHash];
    let carry = leafHash;
    for (let n = this.#size; n % 2 === 1; n = (n - 1) / 2) {
      carry = nodeHash(this.#edge.pop() as Uint8Array, carry);
      completed.push(carry);
    }
    this.#edge.push(carry);
    this.#size++;
    return completed;
  }

  /** MTH of everything appended so far. */
  root(): Uint8Array {
    if (this.#edge.length === 0) return emptyRootHash();
    if (this.#edge.length === 1) return Uint8Array.from(this.#edge[0] as Uint8Array);
    let h = this.#edge[this.#edge.length - 1] as Uint8Array;
    for (let i = this.#edge.length - 2; i >= 0; i--) h = nodeHash(this.#edge[i] as Uint8Array, h);
    return h;
  }

  /** The edge hashes, largest subtree first (copies: what to persist to resume later). */
  edge(): Uint8Array[] {
    return this.#edge.map((h) => Uint8Array.from(h));
  }

  /** Resume from a persisted edge: `edge` must hold one hash per set bit of `size`, largest first. */
  static restore(size: number, edge: readonly Uint8Array[]): MerkleFrontier {
    if (!isTreeNumber(size)) throw new MerkleRequestError(`frontier size ${String(size)} is not a non-negative safe integer`);
    if (edge.length !== popcount(size)) {
      throw new MerkleRequestError(`a frontier of size ${size} has ${popcount(size)} hashes, got ${edge.length}`);
    }
    const f = new MerkleFrontier();
    for (const h of edge) {
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new MerkleRequestError('frontier hashes must be 32 bytes');
      f.#edge.push(Uint8Array.from(h));
    }
    f.#size = size;
    return f;
  }
}
