/**
 * MerkleLog: an append-only RFC 6962 log (the directory log of DESIGN §9,
 * and the log a witness cell proves replication from).
 *
 * State: the frontier (O(log n) hashes, for append and root) plus a hash
 * store in the stored-hash layout of tree-math.ts, which keeps every perfect
 * subtree's hash (about 2n hashes in all). From those:
 *   append                 1 leaf hash + amortized 1 node hash
 *   root()                 O(log n) hashes (cached per size)
 *   rootAt(m), proofs      O(log n) store reads and hashes
 *   multiproof of k leaves O(k log n) reads
 * Re-opening a MerkleLog over a persisted store rebuilds the frontier from
 * O(log n) reads.
 */
import { HASH_SIZE, leafHash as hashLeaf } from './hashing.js';
import { consistencyProof } from './consistency-proof.js';
import { MerkleFrontier } from './frontier.js';
import { MemoryHashStore, type MerkleHashStore } from './hash-store.js';
import { inclusionProof } from './inclusion-proof.js';
import { MerkleRequestError, MerkleStoreError } from './merkle-errors.js';
import { multiProof } from './multiproof.js';
import { treeRootAt, type MerkleNodeSource } from './node-source.js';
import { bitLength, isTreeNumber, leavesForStoredCount, storedHashIndex } from './tree-math.js';

export class MerkleLog implements MerkleNodeSource {
  readonly #store: MerkleHashStore;
  #frontier: MerkleFrontier;
  #root: { size: number; hash: Uint8Array } | undefined;

  /** A log over `store` (empty by default). A non-empty store is resumed where it ended. */
  constructor(store: MerkleHashStore = new MemoryHashStore()) {
    this.#store = store;
    this.#frontier = this.#frontierFromStore();
  }

  /** Leaves in the log. */
  get size(): number {
    return this.#frontier.size;
  }

  /** Append one entry (hashed as an RFC 6962 leaf); returns its index. */
  append(data: Uint8Array): number {
    return this.#appendOwned(hashLeaf(data));
  }

  /** Append a leaf by its hash (callers that already hold leaf hashes); returns its index. */
  appendLeafHash(leafHash: Uint8Array): number {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
      throw new MerkleRequestError('a leaf hash must be 32 bytes', this.size);
    }
    // A copy: the caller may reuse its buffer.
    return this.#appendOwned(Uint8Array.from(leafHash));
  }

  /** Append a leaf hash nobody else holds a reference to. */
  #appendOwned(leafHash: Uint8Array): number {
    const index = this.size;
    const completed = this.#frontier.append(leafHash);
    try {
      this.#store.append(completed);
    } catch (e) {
      // The store is the truth: step the frontier back to what it holds.
      this.#frontier = this.#frontierFromStore();
      throw new MerkleStoreError(`appending leaf ${index} failed`, { cause: e });
    }
    return index;
  }

  /** MTH of the whole log. */
  root(): Uint8Array {
    const size = this.size;
    if (this.#root?.size !== size) this.#root = { size, hash: this.#frontier.root() };
    return Uint8Array.from(this.#root.hash);
  }

  /** MTH of the first `size` leaves: the root the log had then. */
  rootAt(size: number): Uint8Array {
    return size === this.size ? this.root() : treeRootAt(this, size);
  }

  /** The leaf hash at `index`. */
  leafHash(index: number): Uint8Array {
    return this.perfectHash(0, index);
  }

  perfectHash(level: number, index: number): Uint8Array {
    if (!isTreeNumber(level) || !isTreeNumber(index) || (index + 1) * 2 ** level > this.size) {
      throw new MerkleRequestError(`no complete subtree at level ${level}, index ${index}`, this.size);
    }
    return this.#read(level, index);
  }

  /** RFC 6962 audit path for leaf `index` in the tree of the first `size` leaves (default: all). */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    return inclusionProof(this, index, size);
  }

  /** RFC 6962 consistency proof from size `m` to size `n` (default: all). */
  consistencyProof(m: number, n: number = this.size): Uint8Array[] {
    return consistencyProof(this, m, n);
  }

  /** Multiproof for `indices` (strictly ascending) in the tree of the first `size` leaves. */
  multiProof(indices: readonly number[], size: number = this.size): Uint8Array[] {
    return multiProof(this, indices, size);
  }

  /** The right edge of the tree the store holds: one perfect subtree per set bit of the size. */
  #frontierFromStore(): MerkleFrontier {
    const size = leavesForStoredCount(this.#store.count);
    if (size === undefined) {
      throw new MerkleStoreError(`${this.#store.count} stored hashes is not a whole number of leaves (torn append?)`);
    }
    const edge: Uint8Array[] = [];
    let pos = 0;
    for (let level = bitLength(size) - 1; level >= 0; level--) {
      const span = 2 ** level;
      if (Math.floor(size / span) % 2 === 0) continue;
      edge.push(this.#read(level, pos / span));
      pos += span;
    }
    return MerkleFrontier.restore(size, edge);
  }

  #read(level: number, index: number): Uint8Array {
    const h = this.#store.read(storedHashIndex(level, index));
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new MerkleStoreError(`hash for level ${level}, index ${index} is not 32 bytes`);
    }
    return h;
  }
}
