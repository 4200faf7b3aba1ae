import { array, integer, object, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { CellIdSchema } from '../ids.js';
import { defineSealedObject } from '../wire.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/** A Merkle node hash (RFC 6962 SHA-256), 64 lowercase hex digits. */
export const MerkleHashSchema = string({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, format: '64 lowercase hex digits' });

export const MAX_MULTIPROOF_LEAVES = 65_536;

/**
 * ReceiptMultiProofV1: a surviving (witness) cell's signed statement that the
 * leaves at `leaf_indices` of its RFC 6962 log of size `tree_size` hash up to
 * `root_hash`, with the minimal set of sibling hashes needed to show it.
 * Used as the replication proof of a teardown (OBJ-ARP-04). The verifier
 * supplies the leaf hashes itself, from the entries it replicated.
 */
export const ReceiptMultiProofV1Schema = refine(
  object(
    {
      witness_cell: CellIdSchema,
      log_id: string({ min: 1, max: 128, pattern: /^[A-Za-z0-9_.:-]+$/, format: 'a log name' }),
      tree_size: integer({ min: 1 }),
      root_hash: MerkleHashSchema,
      leaf_indices: array(integer(), { min: 1, max: MAX_MULTIPROOF_LEAVES }),
      proof_hashes: array(MerkleHashSchema, { max: MAX_MULTIPROOF_LEAVES * 64 }),
      proved_at: TimeEnvelopeRefSchema,
      witness_seal: AuthoritySealV1Schema,
    },
    'ReceiptMultiProofV1: a witness-signed Merkle multiproof over a set of log entries',
  ),
  (p) => {
    for (let i = 0; i < p.leaf_indices.length; i++) {
      const v = p.leaf_indices[i] as number;
      if (v >= p.tree_size) return { path: `.leaf_indices[${i}]`, reason: 'index not below tree_size' };
      if (i > 0 && v <= (p.leaf_indices[i - 1] as number)) {
        return { path: `.leaf_indices[${i}]`, reason: 'indices must be strictly ascending' };
      }
    }
    return undefined;
  },
);
export type ReceiptMultiProofV1 = Infer<typeof ReceiptMultiProofV1Schema>;
export const ReceiptMultiProofV1 = defineSealedObject('ReceiptMultiProofV1', ReceiptMultiProofV1Schema, 'witness_seal', {
  maxBytes: 8 * 1024 * 1024,
});
