/**
 * RFC 6962 §2.1 Merkle tree hashing with SHA-256 (node:crypto):
 *
 *   MTH({})       = SHA-256()                       the empty tree
 *   MTH({d0})     = SHA-256(0x00 ‖ d0)              a leaf
 *   MTH(D[n])     = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))
 *                   where k is the largest power of two smaller than n
 *
 * The 0x00 / 0x01 prefixes keep a leaf from ever being read as an interior
 * node (second-preimage resistance across levels).
 */
import { createHash, hash } from 'node:crypto';
import { MalformedError } from '../errors.js';
import { splitPoint } from './tree-math.js';

/** Bytes in one node hash (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);
// One reusable buffer for the hot path (two 32-byte children): node:crypto's
// one-shot `hash` is markedly faster than createHash().update().digest(), and
// it reads the input synchronously, so reusing the buffer is safe.
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;
const SMALL_LEAF = 1024;

const EMPTY_ROOT: Uint8Array = hash('sha256', new Uint8Array(0), 'buffer');

/** Root of the empty tree: SHA-256 of the empty string. A fresh copy each call. */
export function emptyRootHash(): Uint8Array {
  return Uint8Array.from(EMPTY_ROOT);
}

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  if (data.length <= SMALL_LEAF) {
    const buf = Buffer.allocUnsafe(1 + data.length);
    buf[0] = 0x00;
    buf.set(data, 1);
    return hash('sha256', buf, 'buffer');
  }
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 1 + HASH_SIZE);
    return hash('sha256', nodeScratch, 'buffer');
  }
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * MTH over a list of leaf hashes, straight from the RFC definition: O(n)
 * hashes. The reference the incremental structures are checked against.
 */
export function rootHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRootHash();
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

function subtreeRoot(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end - start === 1) return leaves[start] as Uint8Array;
  const k = splitPoint(end - start);
  return nodeHash(subtreeRoot(leaves, start, start + k), subtreeRoot(leaves, start + k, end));
}

/** Byte equality of two hashes (roots are public; no need for constant time). */
export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A hash as 64 lowercase hex digits (the wire form in ReceiptMultiProofV1). */
export function hashToHex(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/** Parse 64 lowercase hex digits into a hash; MalformedError otherwise. */
export function hashFromHex(hex: string, path = '$'): Uint8Array {
  if (typeof hex !== 'string' || !HEX_HASH.test(hex)) throw new MalformedError(path, 'expected 64 lowercase hex digits');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
