/**
 * Test-only helpers: RFC 6962 §2.1.1 / §2.1.2 written as literally as the
 * RFC states them (recursion over lists of leaf hashes, O(n)), to check the
 * store-backed generators against, plus small byte helpers.
 */
import { randomBytes } from 'node:crypto';
import { leafHash, nodeHash, rootHash } from '../../bus-schemas/merkle/index.js';

export function hex(h: Uint8Array): string {
  return Buffer.from(h).toString('hex');
}

export function hexes(list: readonly Uint8Array[]): string[] {
  return list.map(hex);
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** A copy of `h` with bit `bit` (0 = most significant of byte 0) flipped. */
export function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = Uint8Array.from(h);
  const i = Math.floor(bit / 8);
  c[i] = (c[i] as number) ^ (0x80 >> bit % 8);
  return c;
}

/** Largest power of two strictly below n (n ≥ 2), by counting. */
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

/** RFC 6962 §2.1.1 PATH(m, D[n]). */
export function referencePath(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  const n = leaves.length;
  if (n === 1) return [];
  const s = k(n);
  if (m < s) return [...referencePath(m, leaves.slice(0, s)), rootHash(leaves.slice(s))];
  return [...referencePath(m - s, leaves.slice(s)), rootHash(leaves.slice(0, s))];
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
export function referenceConsistency(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  const sub = (mm: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] => {
    const n = d.length;
    if (mm === n) return b ? [] : [rootHash(d)];
    const s = k(n);
    if (mm <= s) return [...sub(mm, d.slice(0, s), b), rootHash(d.slice(s))];
    return [...sub(mm - s, d.slice(s), false), rootHash(d.slice(0, s))];
  };
  return sub(m, leaves, true);
}

/** `n` distinct random leaf hashes. */
export function randomLeaves(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(leafHash(randomBytes(8)));
  return out;
}

/**
 * A consistent synthetic inclusion proof for any size (even 2^40 or 10^12
 * leaves): descend the RFC 6962 tree toward `index`, make up a random hash
 * for every sibling subtree, and hash back up. Returns the leaf hash, the
 * proof (leaf first) and the root it implies.
 */
export function syntheticInclusion(index: number, size: number): { leaf: Uint8Array; proof: Uint8Array[]; root: Uint8Array } {
  const leaf = randomBytes(32);
  const proof: Uint8Array[] = [];
  const walk = (start: number, end: number): Uint8Array => {
    if (end - start === 1) return leaf;
    const s = k(end - start);
    const sibling = randomBytes(32);
    if (index < start + s) {
      const left = walk(start, start + s);
      proof.push(sibling);
      return nodeHash(left, sibling);
    }
    const right = walk(start + s, end);
    proof.push(sibling);
    return nodeHash(sibling, right);
  };
  const root = walk(0, size);
  return { leaf, proof, root };
}
