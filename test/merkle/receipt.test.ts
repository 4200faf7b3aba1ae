/**
 * ReceiptMultiProofV1 built and sealed by a witness cell, checked by the
 * tearing-down side: a forged or misattributed witness seal, an altered
 * body, wrong leaves or a malformed object are each refused with their own
 * typed error.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MalformedError, SealError } from '../../bus-schemas/errors.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { ReceiptMultiProofV1 } from '../../bus-schemas/v1/receipt-multiproof.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import {
  leafHash,
  makeReceiptMultiProof,
  MerkleLog,
  MerkleProofError,
  MerkleRequestError,
  verifyReceiptMultiProof,
} from '../../bus-schemas/merkle/index.js';
import { refuses } from '../helpers/refuses.js';
import { flipBit, fromHex, hex } from './reference.js';

const witness = signerFromSeed(generateEd25519().seed);
const mallory = signerFromSeed(generateEd25519().seed);
const witnessCell = encodeId('cell', witness.publicKey);
const entries = Array.from({ length: 100 }, (_, i) => Buffer.from(`ledger entry ${i} ${randomBytes(4).toString('hex')}`));
const log = new MerkleLog();
for (const e of entries) log.append(e);
const indices = [3, 17, 42, 99];
const leaves = indices.map((i) => leafHash(entries[i] as Buffer));
const provedAt = timeAt(1_900_000_000_000);

function make(): ReceiptMultiProofV1 {
  return makeReceiptMultiProof({ log, log_id: 'ledger.cell-a', leaf_indices: indices, proved_at: provedAt, signer: witness });
}

void t.test('a witness builds and seals a receipt the other side verifies', async (t) => {
  const proof = make();
  t.equal(proof.witness_cell, witnessCell, 'witness_cell is the signer');
  t.equal(proof.witness_seal.key, convertId(witnessCell, 'key'));
  t.equal(proof.tree_size, 100);
  t.equal(proof.root_hash, hex(log.root()));
  t.same(proof.proof_hashes, log.multiProof(indices).map(hex));
  verifyReceiptMultiProof(proof, leaves);
  verifyReceiptMultiProof(proof, leaves, witnessCell);
  verifyReceiptMultiProof(proof, leaves, convertId(witnessCell, 'key'));
  const wire = ReceiptMultiProofV1.encode(proof);
  verifyReceiptMultiProof(ReceiptMultiProofV1.decode(wire), leaves);
  t.pass('verifies as built, by cell id, by key id, and after a trip over the wire');

  const older = makeReceiptMultiProof({ log, log_id: 'ledger.cell-a', leaf_indices: [3, 17], tree_size: 50, proved_at: provedAt, signer: witness });
  t.equal(older.root_hash, hex(log.rootAt(50)));
  verifyReceiptMultiProof(older, leaves.slice(0, 2));
  t.pass('a proof at an older tree size');
});

void t.test('a forged or misattributed witness seal is refused', async (t) => {
  const proof = make();
  const { witness_seal: _seal, ...body } = proof;
  // Mallory seals the witness's body with her own key, still naming the witness cell.
  const forged = ReceiptMultiProofV1.seal(body, mallory);
  refuses(t, () => verifyReceiptMultiProof(forged, leaves), {
    code: 'HOLON_E_BAD_SEAL',
    reason: `sealed by ${encodeId('key', mallory.publicKey)}, not by the witness cell ${witnessCell}`,
  });
  // A stolen seal over an altered body: the signature does not cover it.
  const altered = { ...proof, root_hash: hex(flipBit(fromHex(proof.root_hash), 5)) };
  refuses(t, () => verifyReceiptMultiProof(altered, leaves), { code: 'HOLON_E_BAD_SEAL', reason: /does not verify/ });
  refuses(t, () => verifyReceiptMultiProof({ ...proof, tree_size: 101 }, leaves), SealError);
  refuses(t, () => verifyReceiptMultiProof({ ...proof, leaf_indices: [3, 17, 42, 98] }, leaves), SealError);
  refuses(t, () => verifyReceiptMultiProof({ ...proof, proof_hashes: proof.proof_hashes.slice(1) }, leaves), SealError);
  const sig = Buffer.from(proof.witness_seal.sig, 'base64url');
  sig[10] = (sig[10] as number) ^ 1;
  refuses(t, () => verifyReceiptMultiProof({ ...proof, witness_seal: { ...proof.witness_seal, sig: sig.toString('base64url') } }, leaves), SealError);
  // Mallory as her own witness: self-consistent, but not the witness we asked.
  const self = makeReceiptMultiProof({ log, log_id: 'ledger.cell-a', leaf_indices: indices, proved_at: provedAt, signer: mallory });
  verifyReceiptMultiProof(self, leaves);
  refuses(t, () => verifyReceiptMultiProof(self, leaves, witnessCell), {
    code: 'HOLON_E_BAD_SEAL',
    reason: `proof is from witness ${encodeId('cell', mallory.publicKey)}, expected ${witnessCell}`,
  });
});

void t.test('a good seal over a bad proof, or the wrong leaves, is a MerkleProofError', async (t) => {
  const proof = make();
  refuses(t, () => verifyReceiptMultiProof(proof, [leaves[1], leaves[0], leaves[2], leaves[3]] as Uint8Array[]), MerkleProofError);
  refuses(t, () => verifyReceiptMultiProof(proof, leaves.slice(1)), { code: 'HOLON_E_MERKLE_PROOF', reason: 'too few hashes in leafHashes: got 3, expected 4' });
  refuses(t, () => verifyReceiptMultiProof(proof, [...leaves.slice(0, 3), leafHash(Buffer.from('not replicated'))]), {
    code: 'HOLON_E_MERKLE_PROOF',
    reason: 'the 4 leaves do not hash up to the root of the tree of size 100',
  });
  // A witness that seals a wrong proof (a bug, or a lie) is caught by the proof check.
  const { witness_seal: _s, ...body } = proof;
  const lying = ReceiptMultiProofV1.seal({ ...body, proof_hashes: [...body.proof_hashes.slice(1), body.proof_hashes[0] as string] }, witness);
  refuses(t, () => verifyReceiptMultiProof(lying, leaves), MerkleProofError);
});

void t.test('malformed objects and impossible requests are refused', async (t) => {
  const proof = make();
  refuses(t, () => verifyReceiptMultiProof({ ...proof, leaf_indices: [17, 3, 42, 99] }, leaves), {
    code: 'HOLON_E_MALFORMED',
    path: '$.leaf_indices[1]',
    reason: 'indices must be strictly ascending',
  });
  refuses(t, () => verifyReceiptMultiProof({ ...proof, extra: 1 } as never, leaves), { path: '$.extra', reason: 'unknown field' });
  refuses(t, () => verifyReceiptMultiProof(proof, leaves, 'cell1nope'), MalformedError);
  refuses(t, () => makeReceiptMultiProof({ log, log_id: 'ledger.cell-a', leaf_indices: [3, 100], proved_at: provedAt, signer: witness }), MerkleRequestError);
  refuses(t, () => makeReceiptMultiProof({ log, log_id: 'ledger.cell-a', leaf_indices: [3], tree_size: 101, proved_at: provedAt, signer: witness }), {
    code: 'HOLON_E_MERKLE_REQUEST',
    reason: 'size 101 exceeds the log',
  });
  refuses(t, () => makeReceiptMultiProof({ log, log_id: 'bad id with spaces', leaf_indices: [3], proved_at: provedAt, signer: witness }), {
    code: 'HOLON_E_MALFORMED',
    path: '$.log_id',
  });
});
