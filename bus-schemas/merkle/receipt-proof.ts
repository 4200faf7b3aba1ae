/**
 * ReceiptMultiProofV1, both halves: a witness cell builds and seals a
 * multiproof over the entries it replicated (teardown, OBJ-ARP-04), and the
 * tearing-down side checks it against the leaf hashes it computed itself
 * before it destroys anything.
 *
 * Ids are self-certifying (the cell id is the cell's Ed25519 key), so the
 * witness seal must be by the key the `witness_cell` id names: a proof that
 * claims one witness and is signed by another is refused.
 */
import { SealError } from '../errors.js';
import { convertId, encodeId, type CellIdV1, type PublicKeyIdV1 } from '../ids.js';
import type { Signer } from '../keys.js';
import { ReceiptMultiProofV1 } from '../v1/receipt-multiproof.js';
import type { TimeEnvelopeRef } from '../v1/time-envelope.js';
import { hashFromHex, hashToHex } from './hashing.js';
import { multiProof, verifyMultiProof } from './multiproof.js';
import { treeRootAt, type MerkleNodeSource } from './node-source.js';

export interface ReceiptMultiProofInput {
  /** The witness's log (a MerkleLog, or anything that answers perfect-subtree hashes). */
  log: MerkleNodeSource;
  log_id: string;
  /** Leaves to prove, strictly ascending. */
  leaf_indices: readonly number[];
  /** Tree size the proof is made at; defaults to the log's current size. */
  tree_size?: number;
  proved_at: TimeEnvelopeRef;
  /** The witness cell's key; `witness_cell` is derived from it. */
  signer: Signer;
}

/**
 * Build and seal a ReceiptMultiProofV1. Throws MerkleRequestError if the log
 * cannot answer (indices or size out of range), MalformedError if the
 * result is not a valid wire object (e.g. a bad log_id).
 */
export function makeReceiptMultiProof(input: ReceiptMultiProofInput): ReceiptMultiProofV1 {
  const size = input.tree_size ?? input.log.size;
  const proof = multiProof(input.log, input.leaf_indices, size);
  const body: Omit<ReceiptMultiProofV1, 'witness_seal'> = {
    witness_cell: encodeId('cell', input.signer.publicKey),
    log_id: input.log_id,
    tree_size: size,
    root_hash: hashToHex(treeRootAt(input.log, size)),
    leaf_indices: [...input.leaf_indices],
    proof_hashes: proof.map(hashToHex),
    proved_at: input.proved_at,
  };
  return ReceiptMultiProofV1.parse(ReceiptMultiProofV1.seal(body, input.signer));
}

/**
 * Returns normally iff `proof` is a well-formed ReceiptMultiProofV1, sealed
 * by its witness cell's own key (and that witness is `expectedWitness`, if
 * given, as a cell id or key id), and its multiproof shows `leafHashes` (one
 * per leaf index, in the same order) under its root. Throws only typed
 * refusals: MalformedError (shape), SealError (seal or witness), or
 * MerkleProofError (the proof itself).
 */
export function verifyReceiptMultiProof(
  proof: ReceiptMultiProofV1,
  leafHashes: readonly Uint8Array[],
  expectedWitness?: PublicKeyIdV1 | CellIdV1,
): void {
  const p = ReceiptMultiProofV1.parse(proof);
  const witnessKey = convertId(p.witness_cell, 'key');
  if (expectedWitness !== undefined) {
    const expectedKey = convertId(expectedWitness, 'key');
    if (expectedKey !== witnessKey) {
      throw new SealError(`proof is from witness ${p.witness_cell}, expected ${convertId(expectedWitness, 'cell')}`);
    }
  }
  if (p.witness_seal.key !== witnessKey) {
    throw new SealError(`sealed by ${p.witness_seal.key}, not by the witness cell ${p.witness_cell}`);
  }
  ReceiptMultiProofV1.verify(p, witnessKey);
  verifyMultiProof(
    p.tree_size,
    hashFromHex(p.root_hash, '$.root_hash'),
    p.leaf_indices,
    leafHashes,
    p.proof_hashes.map((h, i) => hashFromHex(h, `$.proof_hashes[${i}]`)),
  );
}
