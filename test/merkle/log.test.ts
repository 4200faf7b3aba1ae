/**
 * MerkleLog, MerkleFrontier, the stored-hash layout and the size arithmetic:
 * roots agree with the RFC definition at every size, a log re-opened over
 * its store carries on, a torn or failing store is refused, and proofs read
 * O(log n) hashes.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  consistencyProofLength,
  inclusionProofLength,
  MemoryHashStore,
  MerkleFrontier,
  MerkleLog,
  MerkleStoreError,
  rootHash,
  storedHashCount,
  storedHashIndex,
  subtreeHash,
  type MerkleHashStore,
} from '../../bus-schemas/merkle/index.js';
import { bitLength, popcount, splitPoint, trailingZeros, xorBits } from '../../bus-schemas/merkle/tree-math.js';
import { refuses } from '../helpers/refuses.js';
import { hex, randomLeaves } from './reference.js';

void t.test('bit arithmetic is exact beyond 32 bits (checked with BigInt)', async (t) => {
  const safe = fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) });
  const bits = (b: bigint): number => b.toString(2).replace(/^0$/, '').length;
  fc.assert(
    fc.property(safe, safe, (a, b) => {
      const x = Number(a);
      const y = Number(b);
      return (
        bitLength(x) === bits(a) &&
        popcount(x) === [...a.toString(2)].filter((c) => c === '1').length &&
        xorBits(x, y) === Number(a ^ b) &&
        (a === 0n || trailingZeros(x) === bits(a & -a) - 1) &&
        (a < 2n || splitPoint(x) === Number(1n << BigInt(bits(a - 1n) - 1)))
      );
    }),
    { numRuns: 2000, examples: [[2n ** 32n, 2n ** 32n - 1n], [2n ** 40n, 1n], [2n ** 53n - 1n, 0n]] },
  );
  t.equal(splitPoint(2 ** 40 + 1), 2 ** 40);
  t.equal(splitPoint(2 ** 40), 2 ** 39);
  t.equal(inclusionProofLength(2 ** 40 - 1, 2 ** 40), 40);
  t.equal(consistencyProofLength(2 ** 39, 2 ** 40), 1, 'a perfect half needs only its sibling');
});

void t.test('roots agree with the RFC definition after every append and at every past size', async (t) => {
  const leaves = randomLeaves(130);
  const log = new MerkleLog();
  const frontier = new MerkleFrontier();
  let bad = 0;
  for (let n = 1; n <= leaves.length; n++) {
    log.appendLeafHash(leaves[n - 1] as Uint8Array);
    frontier.append(leaves[n - 1] as Uint8Array);
    const want = hex(rootHash(leaves.slice(0, n)));
    if (hex(log.root()) !== want || hex(frontier.root()) !== want) bad++;
    if (frontier.edge().length !== popcount(n)) bad++;
  }
  for (let m = 0; m <= leaves.length; m++) if (hex(log.rootAt(m)) !== hex(rootHash(leaves.slice(0, m)))) bad++;
  t.equal(bad, 0, '130 appends, 131 past roots');
  t.equal(log.size, 130);
  t.equal(hex(MerkleFrontier.restore(130, frontier.edge()).root()), hex(log.root()), 'a restored frontier has the same root');
  refuses(t, () => MerkleFrontier.restore(130, frontier.edge().slice(1)), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'a frontier of size 130 has 2 hashes, got 1' });
});

void t.test('stored-hash layout: every perfect subtree at its tlog position', async (t) => {
  const leaves = randomLeaves(37);
  const store = new MemoryHashStore();
  const log = new MerkleLog(store);
  for (const h of leaves) log.appendLeafHash(h);
  t.equal(store.count, storedHashCount(37));
  t.equal(storedHashCount(37), 2 * 37 - 3);
  let checked = 0;
  for (let level = 0; 2 ** level <= 37; level++) {
    for (let i = 0; (i + 1) * 2 ** level <= 37; i++) {
      const want = rootHash(leaves.slice(i * 2 ** level, (i + 1) * 2 ** level));
      t.equal(hex(store.read(storedHashIndex(level, i))), hex(want), `level ${level} node ${i}`);
      checked++;
    }
  }
  t.equal(checked, storedHashCount(37), 'every stored hash accounted for, none extra');
  t.same([storedHashIndex(0, 0), storedHashIndex(0, 1), storedHashIndex(1, 0), storedHashIndex(0, 2), storedHashIndex(2, 0)], [0, 1, 2, 3, 6]);
  refuses(t, () => log.perfectHash(3, 4), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'no complete subtree at level 3, index 4' });
  refuses(t, () => subtreeHash(log, 1, 3), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'subtree [1, 3) is not a node of the tree' });
});

void t.test('a log re-opened over its store carries on where it ended', async (t) => {
  const leaves = randomLeaves(50);
  const store = new MemoryHashStore();
  const first = new MerkleLog(store);
  for (const h of leaves.slice(0, 29)) first.appendLeafHash(h);
  const reopened = new MerkleLog(store);
  t.equal(reopened.size, 29);
  t.equal(hex(reopened.root()), hex(first.root()));
  for (const h of leaves.slice(29)) reopened.appendLeafHash(h);
  t.equal(hex(reopened.root()), hex(rootHash(leaves)));
  t.equal(hex(reopened.rootAt(29)), hex(rootHash(leaves.slice(0, 29))));
});

void t.test('a torn or failing store is refused, and the log stays whole', async (t) => {
  const store = new MemoryHashStore();
  const log = new MerkleLog(store);
  for (const h of randomLeaves(7)) log.appendLeafHash(h);
  t.equal(new MerkleLog(store).size, 7, 'a whole store re-opens');
  // Leaf 7 completes three subtrees (4 hashes in all); keep only two of them.
  store.append([new Uint8Array(32), new Uint8Array(32)]);
  refuses(t, () => new MerkleLog(store), { code: 'HOLON_E_MERKLE_STORE', reason: '13 stored hashes is not a whole number of leaves (torn append?)' });
  refuses(t, () => store.append([new Uint8Array(31)]), MerkleStoreError);

  let fail = false;
  const inner = new MemoryHashStore();
  const flaky: MerkleHashStore = {
    get count() {
      return inner.count;
    },
    append(hashes) {
      if (fail) throw new Error('disk full');
      inner.append(hashes);
    },
    read: (p) => inner.read(p),
  };
  const leaves = randomLeaves(8);
  const flog = new MerkleLog(flaky);
  for (const h of leaves.slice(0, 7)) flog.appendLeafHash(h);
  const before = hex(flog.root());
  fail = true;
  const e = refuses(t, () => flog.appendLeafHash(leaves[7] as Uint8Array), { code: 'HOLON_E_MERKLE_STORE', reason: 'appending leaf 7 failed' });
  t.match((e as Error & { cause?: Error }).cause?.message, 'disk full', 'the store error is the cause');
  t.equal(flog.size, 7, 'size unchanged');
  t.equal(hex(flog.root()), before, 'root unchanged');
  fail = false;
  flog.appendLeafHash(leaves[7] as Uint8Array);
  t.equal(hex(flog.root()), hex(rootHash(leaves)), 'appending again after the store recovers');
});

void t.test('inputs and outputs do not alias the log', async (t) => {
  const log = new MerkleLog();
  const h = randomLeaves(1)[0] as Uint8Array;
  log.appendLeafHash(h);
  log.appendLeafHash(h);
  const root = hex(log.root());
  h.fill(0);
  log.inclusionProof(0).forEach((p) => p.fill(0));
  log.root().fill(0);
  t.equal(hex(log.root()), root, 'mutating the appended hash, a proof or a root changes nothing');
  refuses(t, () => log.appendLeafHash(new Uint8Array(31)), { code: 'HOLON_E_MERKLE_REQUEST', reason: 'a leaf hash must be 32 bytes' });
  t.equal(log.append(new Uint8Array([1, 2, 3])), 2, 'append returns the new index');
});

void t.test('proofs read O(log n) stored hashes', async (t) => {
  const inner = new MemoryHashStore();
  let reads = 0;
  const counting: MerkleHashStore = {
    get count() {
      return inner.count;
    },
    append: (hs) => inner.append(hs),
    read: (p) => {
      reads++;
      return inner.read(p);
    },
  };
  const n = 5000;
  const log = new MerkleLog(counting);
  for (const h of randomLeaves(n)) log.appendLeafHash(h);
  const depth = bitLength(n - 1); // ⌈log2 n⌉ = 13
  let worst = 0;
  for (const i of [0, 1, 2500, 4095, 4096, 4999]) {
    reads = 0;
    log.inclusionProof(i);
    worst = Math.max(worst, reads);
  }
  t.ok(worst <= 2 * depth, `an inclusion proof read at most ${worst} hashes (≤ 2·⌈log2 n⌉ = ${2 * depth})`);
  reads = 0;
  log.consistencyProof(1234);
  t.ok(reads <= 2 * depth, `a consistency proof read ${reads} hashes`);
  reads = 0;
  log.rootAt(3333);
  t.ok(reads <= depth, `rootAt read ${reads} hashes`);
  const idx = Array.from({ length: 20 }, (_, i) => i * 250);
  reads = 0;
  log.multiProof(idx);
  t.ok(reads <= idx.length * 2 * depth, `a 20-leaf multiproof read ${reads} hashes`);
});
