/**
 * Where a MerkleLog keeps its hashes: a flat, append-only sequence in the
 * stored-hash layout of tree-math.ts (leaf hash, then the perfect subtrees
 * that leaf completes). Appending a leaf appends all of its hashes in one
 * call, so an adapter that persists the sequence (a file, a SQLite table, a
 * KV bucket) makes each leaf atomic by making `append` atomic.
 */
import { HASH_SIZE } from './hashing.js';
import { MerkleStoreError } from './merkle-errors.js';

export interface MerkleHashStore {
  /** Number of hashes held. */
  readonly count: number;
  /** Store `hashes` at positions count, count+1, …; all of them or none. */
  append(hashes: readonly Uint8Array[]): void;
  /** The 32-byte hash at `position` (< count). */
  read(position: number): Uint8Array;
}

const INITIAL_CAPACITY = 1024;

/**
 * The in-memory store: hashes packed into one growing byte buffer (32 bytes
 * each, no per-hash object), so a million-leaf log costs about 64 MB.
 */
export class MemoryHashStore implements MerkleHashStore {
  #bytes = new Uint8Array(INITIAL_CAPACITY * HASH_SIZE);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  append(hashes: readonly Uint8Array[]): void {
    for (const h of hashes) {
      if (h.length !== HASH_SIZE) throw new MerkleStoreError(`refusing a ${h.length}-byte hash`);
    }
    const needed = (this.#count + hashes.length) * HASH_SIZE;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#count * HASH_SIZE));
      this.#bytes = grown;
    }
    for (const h of hashes) {
      this.#bytes.set(h, this.#count * HASH_SIZE);
      this.#count++;
    }
  }

  read(position: number): Uint8Array {
    if (!Number.isSafeInteger(position) || position < 0 || position >= this.#count) {
      throw new MerkleStoreError(`no hash at position ${position} (store holds ${this.#count})`);
    }
    const at = position * HASH_SIZE;
    // A copy: callers (and proofs handed to them) must not alias the store.
    return this.#bytes.slice(at, at + HASH_SIZE);
  }
}
