/**
 * Consistency proofs: the log at size n is an append-only extension of the
 * log at size m. Both halves side by side.
 *
 * Generation is RFC 6962 §2.1.2 SUBPROOF(m, D[n], true): descend toward the
 * boundary at m, collecting the sibling at each split; if the descent ends
 * on a subtree the verifier cannot already know, that subtree's root comes
 * first. O(log n) reads.
 *
 * Verification is RFC 9162 §2.1.4.2. A proof from the empty tree proves
 * nothing and is refused; m = n needs an empty proof and equal roots.
 */
import { equalHashes, nodeHash } from './hashing.js';
import { MerkleProofError, MerkleRequestError } from './merkle-errors.js';
import { subtreeHash, type MerkleNodeSource } from './node-source.js';
import { checkHash, checkHashList, checkNumber, checkRequestSize } from './proof-input.js';
import { consistencyProofLength, isPowerOfTwo, splitPoint } from './tree-math.js';

/** Proof that the first `m` leaves of `source` are a prefix of its first `n` (0 < m ≤ n). */
export function consistencyProof(source: MerkleNodeSource, m: number, n: number): Uint8Array[] {
  checkRequestSize('n', n, source.size);
  checkRequestSize('m', m, source.size);
  if (m === 0 || m > n) throw new MerkleRequestError(`no consistency proof from size ${m} to size ${n}`, source.size);
  if (m === n) return [];
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = n;
  // Whether [start, end) is still a prefix of the old tree's root path, i.e.
  // whether the verifier will know the hash where the descent stops.
  let known = true;
  while (end !== m) {
    const k = splitPoint(end - start);
    if (m - start <= k) {
      topDown.push(subtreeHash(source, start + k, end));
      end = start + k;
    } else {
      topDown.push(subtreeHash(source, start, start + k));
      start += k;
      known = false;
    }
  }
  const proof = known ? [] : [subtreeHash(source, start, end)];
  for (let i = topDown.length - 1; i >= 0; i--) proof.push(topDown[i] as Uint8Array);
  return proof;
}

const half = (x: number): number => Math.floor(x / 2);

/**
 * RFC 9162 §2.1.4.2: returns normally iff `proof` shows that the tree of
 * `m` leaves with root `root1` is a prefix of the tree of `n` leaves with
 * root `root2`. Otherwise throws MerkleProofError, and nothing else.
 */
export function verifyConsistency(m: number, n: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  checkNumber('consistency', 'm', m);
  checkNumber('consistency', 'n', n);
  checkHash('consistency', 'root1', root1);
  checkHash('consistency', 'root2', root2);
  if (m > n) throw new MerkleProofError('consistency', `size ${m} is larger than size ${n}: logs only grow`);
  if (m === 0) throw new MerkleProofError('consistency', 'a proof from the empty tree proves nothing');
  if (m === n) {
    checkHashList('consistency', 'proof', proof, 0);
    if (!equalHashes(root1, root2)) throw new MerkleProofError('consistency', `two different roots for the same size ${m}`);
    return;
  }
  checkHashList('consistency', 'proof', proof, consistencyProofLength(m, n));
  // When the old tree is perfect its root is the first node of the path.
  const path = isPowerOfTwo(m) ? [root1, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleProofError('consistency', 'proof does not reach the root');
  if (!equalHashes(fr, root1)) throw new MerkleProofError('consistency', `proof does not rebuild root1 of the tree of size ${m}`);
  if (!equalHashes(sr, root2)) throw new MerkleProofError('consistency', `proof does not rebuild root2 of the tree of size ${n}`);
}
