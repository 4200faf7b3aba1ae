/**
 * Multiproofs: for random index sets the proof verifies, is the documented
 * left-to-right list of maximal leaf-free subtrees, holds no hash the
 * leaves already determine, is never longer than the union of the single
 * inclusion proofs, and any altered, dropped or added hash is refused.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  MerkleLog,
  MerkleProofError,
  multiProof,
  multiProofLength,
  subtreeHash,
  verifyMultiProof,
} from '../../bus-schemas/merkle/index.js';
import { refuses } from '../helpers/refuses.js';
import { flipBit, hex, hexes, randomLeaves } from './reference.js';

function logOf(leaves: readonly Uint8Array[]): MerkleLog {
  const log = new MerkleLog();
  for (const h of leaves) log.appendLeafHash(h);
  return log;
}

/** Hashes of every node on the root-to-leaf paths of `indices`: all computable from those leaves. */
function computableHashes(log: MerkleLog, indices: readonly number[], size: number): Set<string> {
  const out = new Set<string>();
  for (const i of indices) {
    let start = 0;
    let end = size;
    for (;;) {
      out.add(hex(subtreeHash(log, start, end)));
      if (end - start === 1) break;
      let k = 1;
      while (k * 2 < end - start) k *= 2;
      if (i < start + k) end = start + k;
      else start += k;
    }
  }
  return out;
}

const refusedTyped = (run: () => void): boolean => {
  try {
    run();
    return false;
  } catch (e) {
    return e instanceof MerkleProofError;
  }
};

const caseArb = fc
  .integer({ min: 1, max: 2000 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      indices: fc.uniqueArray(fc.nat({ max: n - 1 }), { minLength: 1, maxLength: Math.min(n, 40) }).map((a) => [...a].sort((x, y) => x - y)),
      pick: fc.nat(),
      bit: fc.integer({ min: 0, max: 255 }),
    }),
  );

void t.test('the order is left to right by first leaf covered (8-leaf example)', async (t) => {
  const leaves = randomLeaves(8);
  const log = logOf(leaves);
  // Leaves 1, 5, 6 leave these maximal subtrees without a proved leaf:
  // [0,1), [2,4), [4,5), [7,8) — listed by their first leaf.
  const want = [log.perfectHash(0, 0), log.perfectHash(1, 1), log.perfectHash(0, 4), log.perfectHash(0, 7)];
  const proof = multiProof(log, [1, 5, 6], 8);
  t.same(hexes(proof), hexes(want));
  verifyMultiProof(8, log.root(), [1, 5, 6], [1, 5, 6].map((i) => leaves[i] as Uint8Array), proof);
  t.same(hexes(log.multiProof([1, 5, 6])), hexes(proof), 'MerkleLog.multiProof is the same function');
  t.equal(multiProof(log, [0, 1, 2, 3, 4, 5, 6, 7], 8).length, 0, 'all leaves: nothing to add');
  t.equal(multiProof(log, [3], 8).length, 3, 'one leaf: its audit path');
  const one = logOf(leaves.slice(0, 1));
  t.equal(multiProof(one, [0], 1).length, 0);
  verifyMultiProof(1, one.root(), [0], [leaves[0] as Uint8Array], []);
});

void t.test('random index sets: verify, minimal, within the union of single proofs', async (t) => {
  fc.assert(
    fc.property(caseArb, ({ n, indices }) => {
      const leaves = randomLeaves(n);
      const log = logOf(leaves);
      const root = log.root();
      const proof = multiProof(log, indices, n);
      verifyMultiProof(n, root, indices, indices.map((i) => leaves[i] as Uint8Array), proof);
      if (proof.length !== multiProofLength(indices, n)) return false;
      const union = new Set<string>();
      let singles = 0;
      for (const i of indices) {
        const p = log.inclusionProof(i, n);
        singles += p.length;
        for (const h of p) union.add(hex(h));
      }
      if (proof.length > union.size || proof.length > singles) return false;
      const mine = hexes(proof);
      if (!mine.every((h) => union.has(h))) return false;
      if (new Set(mine).size !== mine.length) return false;
      const computable = computableHashes(log, indices, n);
      return mine.every((h) => !computable.has(h));
    }),
    { numRuns: 40, examples: [[{ n: 1, indices: [0], pick: 0, bit: 0 }], [{ n: 2000, indices: [0, 1999], pick: 0, bit: 0 }]] },
  );
  t.pass('fast-check found no counterexample');
});

void t.test('altered leaf or hash, dropped or added hash, shifted index: refused', async (t) => {
  fc.assert(
    fc.property(caseArb, ({ n, indices, pick, bit }) => {
      const leaves = randomLeaves(n);
      const log = logOf(leaves);
      const root = log.root();
      const proof = multiProof(log, indices, n);
      const lh = indices.map((i) => leaves[i] as Uint8Array);
      const li = pick % lh.length;
      const verdicts = [
        refusedTyped(() => verifyMultiProof(n, root, indices, lh.map((h, x) => (x === li ? flipBit(h, bit) : h)), proof)),
        refusedTyped(() => verifyMultiProof(n, flipBit(root, bit), indices, lh, proof)),
        refusedTyped(() => verifyMultiProof(n, root, indices, lh, [...proof.slice(0, pick % (proof.length + 1)), root, ...proof.slice(pick % (proof.length + 1))])),
      ];
      if (proof.length > 0) {
        const pi = pick % proof.length;
        verdicts.push(refusedTyped(() => verifyMultiProof(n, root, indices, lh, proof.map((h, x) => (x === pi ? flipBit(h, bit) : h)))));
        verdicts.push(refusedTyped(() => verifyMultiProof(n, root, indices, lh, proof.filter((_, x) => x !== pi))));
        // a hash that belongs to the tree but not to this proof
        verdicts.push(refusedTyped(() => verifyMultiProof(n, root, indices, lh.map((h, x) => (x === li ? (proof[pi] as Uint8Array) : h)), proof)));
      }
      const free = Array.from({ length: n }, (_, i) => i).find((i) => !indices.includes(i));
      if (free !== undefined) {
        // the same leaf claimed at a position it is not at
        const moved = [...indices.filter((_, x) => x !== li), free].sort((a, b) => a - b);
        const movedLeaves = moved.map((i) => (i === free ? (lh[li] as Uint8Array) : (leaves[i] as Uint8Array)));
        verdicts.push(refusedTyped(() => verifyMultiProof(n, root, moved, movedLeaves, multiProof(log, moved, n))));
      }
      if (lh.length > 1 && hex(lh[0] as Uint8Array) !== hex(lh[1] as Uint8Array)) {
        verdicts.push(refusedTyped(() => verifyMultiProof(n, root, indices, [lh[1], lh[0], ...lh.slice(2)] as Uint8Array[], proof)));
      }
      return verdicts.every(Boolean);
    }),
    { numRuns: 40 },
  );
  t.pass('every alteration was refused with MerkleProofError');
});

void t.test('typed refusals on malformed input, naming the argument', async (t) => {
  const leaves = randomLeaves(10);
  const log = logOf(leaves);
  const root = log.root();
  const idx = [2, 3, 7];
  const lh = idx.map((i) => leaves[i] as Uint8Array);
  const proof = multiProof(log, idx, 10);
  const code = 'HOLON_E_MERKLE_PROOF';
  verifyMultiProof(10, root, idx, lh, proof);
  refuses(t, () => verifyMultiProof(10, root, [], [], [root]), { code, kind: 'multiproof', reason: 'no leaf indices to prove' });
  refuses(t, () => verifyMultiProof(10, root, [3, 2, 7], lh, proof), { code, reason: 'indices[1] = 2 is not above indices[0]; indices must be strictly ascending' });
  refuses(t, () => verifyMultiProof(10, root, [2, 2, 7], lh, proof), { code, reason: /strictly ascending/ });
  refuses(t, () => verifyMultiProof(10, root, [2, 3, 10], lh, proof), { code, reason: 'indices[2] = 10 is not below the tree size 10' });
  refuses(t, () => verifyMultiProof(10, root, [2, 3.5, 7], lh, proof), { code, reason: 'indices[1] must be a non-negative safe integer' });
  refuses(t, () => verifyMultiProof(10, root, idx, lh.slice(1), proof), { code, reason: 'too few hashes in leafHashes: got 2, expected 3' });
  refuses(t, () => verifyMultiProof(10, root, idx, lh, proof.slice(1)), { code, reason: `too few hashes in proofHashes: got ${proof.length - 1}, expected ${proof.length}` });
  refuses(t, () => verifyMultiProof(10, root, idx, lh, [...proof, root]), { code, reason: /^too many hashes in proofHashes/ });
  refuses(t, () => verifyMultiProof(10, root.subarray(2), idx, lh, proof), { code, reason: 'root is 30 bytes, not 32' });
  refuses(t, () => verifyMultiProof(10, root, idx, [lh[0], 'x', lh[2]] as never, proof), { code, reason: 'leafHashes[1] is not a byte array' });
  refuses(t, () => verifyMultiProof(0, root, idx, lh, proof), { code, reason: 'indices[0] = 2 is not below the tree size 0' });
  refuses(t, () => verifyMultiProof(10, root, 'abc' as never, lh, proof), { code, reason: 'indices is not an array' });
  refuses(t, () => verifyMultiProof(10, root, idx, lh, [...proof.slice(1), proof[0] as Uint8Array]), {
    code,
    reason: 'the 3 leaves do not hash up to the root of the tree of size 10',
  });
  refuses(t, () => multiProof(log, [4, 4], 10), { code: 'HOLON_E_MERKLE_REQUEST', reason: /strictly ascending/ });
  refuses(t, () => multiProof(log, [1], 11), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'size 11 exceeds the log' });
});

void t.test('verifyMultiProof throws only MerkleProofError on arbitrary input', async (t) => {
  fc.assert(
    fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), fc.anything(), (a, b, c, d, e) =>
      refusedTyped(() => verifyMultiProof(a as number, b as Uint8Array, c as number[], d as Uint8Array[], e as Uint8Array[])),
    ),
    { numRuns: 300 },
  );
  t.pass('no other exception escaped');
});
