/**
 * Consistency proofs: for every 0 < m ≤ n ≤ 64 the generated proof equals
 * RFC 6962 PROOF(m, D[n]) and verifies; alterations, swapped roots and
 * wrong sizes are refused; bad input gets a typed refusal.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  consistencyProofLength,
  MerkleLog,
  MerkleProofError,
  verifyConsistency,
} from '../../bus-schemas/merkle/index.js';
import { refuses } from '../helpers/refuses.js';
import { flipBit, hexes, randomLeaves, referenceConsistency } from './reference.js';

const leaves = randomLeaves(64);
const log = new MerkleLog();
for (const h of leaves) log.appendLeafHash(h);
const roots = Array.from({ length: 65 }, (_, n) => log.rootAt(n));
const rootAt = (n: number): Uint8Array => roots[n] as Uint8Array;

void t.test('every 0 < m ≤ n ≤ 64: the proof is RFC 6962 PROOF(m, D[n]) and verifies', async (t) => {
  let pairs = 0;
  let mismatches = 0;
  for (let n = 1; n <= 64; n++) {
    for (let m = 1; m <= n; m++) {
      const proof = log.consistencyProof(m, n);
      const want = m === n ? [] : referenceConsistency(m, leaves.slice(0, n));
      if (hexes(proof).join() !== hexes(want).join()) mismatches++;
      if (m < n && proof.length !== consistencyProofLength(m, n)) mismatches++;
      verifyConsistency(m, n, rootAt(m), rootAt(n), proof);
      pairs++;
    }
  }
  t.equal(pairs, 2080);
  t.equal(mismatches, 0, 'generator and length formula agree with the RFC definition');
});

void t.test('every 0 < m < n ≤ 24: each single-bit change to a root or proof hash is refused', async (t) => {
  let tried = 0;
  let refused = 0;
  for (let n = 2; n <= 24; n++) {
    for (let m = 1; m < n; m++) {
      const proof = log.consistencyProof(m, n);
      for (const bit of [0, 77, 255]) {
        const variants: [Uint8Array, Uint8Array, Uint8Array[]][] = [
          [flipBit(rootAt(m), bit), rootAt(n), proof],
          [rootAt(m), flipBit(rootAt(n), bit), proof],
          ...proof.map((_, j): [Uint8Array, Uint8Array, Uint8Array[]] => [rootAt(m), rootAt(n), proof.map((h, x) => (x === j ? flipBit(h, bit) : h))]),
        ];
        for (const [r1, r2, p] of variants) {
          tried++;
          try {
            verifyConsistency(m, n, r1, r2, p);
          } catch (e) {
            if (e instanceof MerkleProofError) refused++;
          }
        }
      }
    }
  }
  t.equal(refused, tried, `all ${tried} altered proofs refused`);
});

void t.test('random bit flips at random sizes up to 2000', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 2000 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (n, mSeed, where, bit) => {
      const big = new MerkleLog();
      for (const h of randomLeaves(n)) big.appendLeafHash(h);
      const m = 1 + (mSeed % (n - 1));
      const proof = big.consistencyProof(m, n);
      verifyConsistency(m, n, big.rootAt(m), big.rootAt(n), proof);
      const slot = where % (proof.length + 2);
      const r1 = slot === 0 ? flipBit(big.rootAt(m), bit) : big.rootAt(m);
      const r2 = slot === 1 ? flipBit(big.rootAt(n), bit) : big.rootAt(n);
      const p = proof.map((h, x) => (slot === x + 2 ? flipBit(h, bit) : h));
      try {
        verifyConsistency(m, n, r1, r2, p);
        return false;
      } catch (e) {
        return e instanceof MerkleProofError;
      }
    }),
    { numRuns: 40 },
  );
  t.pass('fast-check found no altered proof that verifies');
});

void t.test('wrong sizes, swapped roots, a forked log', async (t) => {
  const proof = log.consistencyProof(6, 13);
  t.throws(() => verifyConsistency(6, 13, rootAt(13), rootAt(6), proof), MerkleProofError, 'swapped roots');
  t.throws(() => verifyConsistency(5, 13, rootAt(5), rootAt(13), proof), MerkleProofError, 'other m');
  t.throws(() => verifyConsistency(6, 14, rootAt(6), rootAt(14), proof), MerkleProofError, 'other n');
  // A log that rewrote leaf 3 after size 6 cannot prove consistency with the old root.
  const forked = new MerkleLog();
  leaves.slice(0, 13).forEach((h, i) => forked.appendLeafHash(i === 3 ? (leaves[40] as Uint8Array) : h));
  const fp = forked.consistencyProof(6, 13);
  t.throws(() => verifyConsistency(6, 13, rootAt(6), forked.rootAt(13), fp), MerkleProofError, 'forked history refused');
  verifyConsistency(6, 13, forked.rootAt(6), forked.rootAt(13), fp);
  t.pass('the fork is self-consistent, only not with the original');
});

void t.test('typed refusals on malformed input, naming the argument', async (t) => {
  const code = 'HOLON_E_MERKLE_PROOF';
  const p = log.consistencyProof(6, 13);
  t.equal(p.length, consistencyProofLength(6, 13));
  refuses(t, () => verifyConsistency(13, 6, rootAt(13), rootAt(6), p), { code, kind: 'consistency', reason: 'size 13 is larger than size 6: logs only grow' });
  refuses(t, () => verifyConsistency(0, 6, rootAt(0), rootAt(6), []), { code, reason: 'a proof from the empty tree proves nothing' });
  refuses(t, () => verifyConsistency(6, 6, rootAt(6), rootAt(6), p), { code, reason: 'too many hashes in proof: got 4, expected 0' });
  refuses(t, () => verifyConsistency(6, 6, rootAt(6), rootAt(7), []), { code, reason: 'two different roots for the same size 6' });
  refuses(t, () => verifyConsistency(6, 13, rootAt(6), rootAt(13), p.slice(1)), { code, reason: `too few hashes in proof: got ${p.length - 1}, expected ${p.length}` });
  refuses(t, () => verifyConsistency(6, 13, rootAt(6), rootAt(13), [...p, rootAt(1)]), { code, reason: /^too many hashes in proof/ });
  refuses(t, () => verifyConsistency(6, 13, rootAt(6).subarray(0, 20), rootAt(13), p), { code, reason: 'root1 is 20 bytes, not 32' });
  refuses(t, () => verifyConsistency(6, 13, rootAt(6), 'root' as never, p), { code, reason: 'root2 is not a byte array' });
  refuses(t, () => verifyConsistency(6, -13, rootAt(6), rootAt(13), p), { code, reason: 'n must be a non-negative safe integer' });
  refuses(t, () => verifyConsistency(6, 13, rootAt(6), rootAt(13), p.map((h, i) => (i === 1 ? h.subarray(1) : h))), { code, reason: 'proof[1] is 31 bytes, not 32' });
  refuses(t, () => verifyConsistency(6, 13, rootAt(6), rootAt(13), p.map((h, i) => (i === 1 ? flipBit(h, 3) : h))), {
    code,
    reason: /^proof does not rebuild root[12] of the tree of size/,
  });
  verifyConsistency(6, 6, rootAt(6), rootAt(6), []);
  t.pass('equal sizes with equal roots and no hashes verify');
  refuses(t, () => log.consistencyProof(0, 6), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'no consistency proof from size 0 to size 6' });
  refuses(t, () => log.consistencyProof(7, 6), { code: 'HOLON_E_MERKLE_REQUEST' });
  refuses(t, () => log.consistencyProof(6, 65), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'n 65 exceeds the log', logSize: 64 });
});

void t.test('verifyConsistency throws only MerkleProofError on arbitrary input', async (t) => {
  fc.assert(
    fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), fc.anything(), (a, b, c, d, e) => {
      try {
        verifyConsistency(a as number, b as number, c as Uint8Array, d as Uint8Array, e as Uint8Array[]);
        return false;
      } catch (err) {
        return err instanceof MerkleProofError;
      }
    }),
    { numRuns: 300 },
  );
  t.pass('no other exception escaped');
});
