/**
 * Published RFC 6962 vectors (transparency-dev/merkle; see
 * test/vectors/merkle/README.md): roots, node hashes, hasher vectors,
 * and every inclusion and consistency probe, valid and mutated.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  emptyRootHash,
  leafHash,
  MerkleFrontier,
  MerkleLog,
  MerkleProofError,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../bus-schemas/merkle/index.js';
import { fromHex, hex, hexes } from './reference.js';

interface ReferenceTree {
  leaf_inputs: string[];
  node_hashes_by_level: string[][];
  roots_by_size: string[];
  hasher: {
    empty_root: string;
    leaf_of_empty: { hash: string };
    leaf: { data_ascii: string; hash: string };
    node: { left_ascii: string; right_ascii: string; hash: string };
  };
}
interface Bundle<P> {
  count: number;
  probes: { file: string; probe: P }[];
}
interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../../test/vectors/merkle/${name}`, import.meta.url)), 'utf8')) as T;
}

const tree = load<ReferenceTree>('rfc6962-reference-tree.json');
const inclusion = load<Bundle<InclusionProbe>>('inclusion-probes.json');
const consistency = load<Bundle<ConsistencyProbe>>('consistency-probes.json');

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
// Go's nil slice is JSON null: an empty proof.
const proofOf = (p: string[] | null): Uint8Array[] => (p ?? []).map(b64);

function referenceLog(): MerkleLog {
  const log = new MerkleLog();
  for (const input of tree.leaf_inputs) log.append(fromHex(input));
  return log;
}

void t.test('hasher vectors: empty tree, leaves, nodes over arbitrary bytes', async (t) => {
  t.equal(hex(emptyRootHash()), tree.hasher.empty_root);
  t.equal(hex(leafHash(new Uint8Array(0))), tree.hasher.leaf_of_empty.hash);
  t.equal(hex(leafHash(Buffer.from(tree.hasher.leaf.data_ascii))), tree.hasher.leaf.hash);
  t.equal(hex(nodeHash(Buffer.from(tree.hasher.node.left_ascii), Buffer.from(tree.hasher.node.right_ascii))), tree.hasher.node.hash);
  t.equal(hex(rootHash([])), tree.roots_by_size[0], 'rootHash of no leaves is SHA-256("")');
});

void t.test('reference tree: every root for sizes 0..8, three ways', async (t) => {
  const leaves = tree.leaf_inputs.map((s) => leafHash(fromHex(s)));
  const log = new MerkleLog();
  const frontier = new MerkleFrontier();
  t.equal(hex(log.root()), tree.roots_by_size[0], 'empty log');
  for (let n = 1; n <= 8; n++) {
    log.append(fromHex(tree.leaf_inputs[n - 1] as string));
    frontier.append(leaves[n - 1] as Uint8Array);
    const want = tree.roots_by_size[n];
    t.equal(hex(rootHash(leaves.slice(0, n))), want, `rootHash, size ${n}`);
    t.equal(hex(log.root()), want, `MerkleLog.root, size ${n}`);
    t.equal(hex(frontier.root()), want, `MerkleFrontier.root, size ${n}`);
  }
  for (let n = 0; n <= 8; n++) t.equal(hex(log.rootAt(n)), tree.roots_by_size[n], `MerkleLog.rootAt(${n}) from stored hashes`);
});

void t.test('reference tree: every stored perfect-subtree hash', async (t) => {
  const log = referenceLog();
  const levels = tree.node_hashes_by_level;
  levels.forEach((level, l) => level.forEach((h, i) => t.equal(hex(log.perfectHash(l, i)), h, `level ${l} node ${i}`)));
});

void t.test('inclusion probes: every published verdict', async (t) => {
  t.equal(inclusion.probes.length, inclusion.count);
  let accepted = 0;
  for (const { file, probe } of inclusion.probes) {
    const run = (): void => verifyInclusion(probe.leafIdx, probe.treeSize, b64(probe.leafHash), proofOf(probe.proof), b64(probe.root));
    if (probe.wantErr) {
      t.throws(run, MerkleProofError, `${file}: refused (${probe.desc})`);
    } else {
      t.doesNotThrow(run, `${file}: verifies`);
      accepted++;
    }
  }
  t.equal(accepted, 6, 'the 5 published proofs and the single-entry match verify');
  const huge = inclusion.probes.filter((p) => p.probe.leafIdx > Number.MAX_SAFE_INTEGER);
  t.equal(huge.length, 2, 'the two 2^64-1 indices are present');
  for (const { probe } of huge) {
    t.throws(
      () => verifyInclusion(probe.leafIdx, probe.treeSize, b64(probe.leafHash), proofOf(probe.proof), b64(probe.root)),
      { code: 'HOLON_E_MERKLE_PROOF', reason: 'index must be a non-negative safe integer' },
    );
  }
});

void t.test('inclusion probes: our generator reproduces every published proof', async (t) => {
  const log = referenceLog();
  let n = 0;
  for (const { file, probe } of inclusion.probes) {
    if (probe.wantErr || probe.treeSize > 8 || hex(b64(probe.leafHash)) !== hex(log.leafHash(probe.leafIdx))) continue;
    t.same(hexes(log.inclusionProof(probe.leafIdx, probe.treeSize)), hexes(proofOf(probe.proof)), file);
    t.equal(hex(log.rootAt(probe.treeSize)), hex(b64(probe.root)), `${file}: root`);
    n++;
  }
  t.equal(n, 5, 'five published proofs over the reference tree');
});

const DELIBERATE = 'testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json';

void t.test('consistency probes: every published verdict', async (t) => {
  t.equal(consistency.probes.length, consistency.count);
  const differ: string[] = [];
  let accepted = 0;
  for (const { file, probe } of consistency.probes) {
    const run = (): void => verifyConsistency(probe.size1, probe.size2, b64(probe.root1), b64(probe.root2), proofOf(probe.proof));
    if (probe.wantErr) {
      t.throws(run, MerkleProofError, `${file}: refused (${probe.desc})`);
      continue;
    }
    try {
      run();
      accepted++;
    } catch (e) {
      t.type(e, MerkleProofError, `${file}: a typed refusal`);
      differ.push(file);
      t.match((e as MerkleProofError).reason, /root1 is 12 bytes, not 32/, `${file}: refused only for its 12-byte roots`);
    }
  }
  t.same(differ, [DELIBERATE], 'the one probe we refuse on purpose (hashes must be 32 bytes)');
  t.equal(accepted, 5, 'the 5 published proofs verify');
});

void t.test('consistency probes: our generator reproduces every published proof', async (t) => {
  const log = referenceLog();
  let n = 0;
  for (const { file, probe } of consistency.probes) {
    if (probe.wantErr || file === DELIBERATE || probe.size2 > 8) continue;
    if (hex(b64(probe.root1)) !== hex(log.rootAt(probe.size1))) continue;
    t.same(hexes(log.consistencyProof(probe.size1, probe.size2)), hexes(proofOf(probe.proof)), file);
    t.equal(hex(log.rootAt(probe.size2)), hex(b64(probe.root2)), `${file}: root2`);
    n++;
  }
  t.equal(n, 5, 'five published proofs over the reference tree');
});
