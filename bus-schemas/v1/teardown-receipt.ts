import { CellIdSchema, HolonIdSchema } from '../ids.js';
import { literal, object, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CasDigestSchema } from './cas-digest.js';
import { sameKey } from './holon-certificate.js';
import { ReceiptMultiProofV1, ReceiptMultiProofV1Schema } from './receipt-multiproof.js';
import { ResourceBudgetV1Schema } from './resource-budget.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * TeardownReceiptV1 (OBJ-ARP-04, INV-F-12): the cell's signed statement that
 * a holon was destroyed after its evidence was safe.
 *
 * - `evidence_replicated` is the RFC's flag, but only `true` is valid: the
 *   receipt is issued after the replication proof verified, never before
 *   (destruction without replicated evidence has no receipt at all).
 * - `replication_proof` is the witness cell's multiproof over exactly the
 *   replicated entries; the witness must be another cell than the one that
 *   tore the holon down.
 * - `cell_seal` is added (the RFC forgot a seal): the seal of the tearing-down
 *   cell `cell_id`, checked at parse time to be by that cell's key.
 * - `request_digest` names the TeardownRequestV1 this receipt answers, the
 *   idempotency key of the teardown.
 */
export const TeardownReceiptV1Schema = refine(
  object(
    {
      holon_id: HolonIdSchema,
      request_digest: CasDigestSchema,
      cell_id: CellIdSchema,
      evidence_replicated: literal(true),
      evidence_digest: CasDigestSchema,
      resources_released: ResourceBudgetV1Schema,
      torn_down_at: TimeEnvelopeRefSchema,
      replication_proof: ReceiptMultiProofV1Schema,
      cell_seal: AuthoritySealV1Schema,
    },
    'TeardownReceiptV1: a cell-signed receipt that a holon was torn down after its evidence was replicated',
  ),
  (r) => {
    if (r.replication_proof.witness_cell === r.cell_id) {
      return { path: '.replication_proof.witness_cell', reason: 'evidence must be replicated to another cell' };
    }
    if (!sameKey(r.cell_seal.key, r.cell_id)) return { path: '.cell_seal.key', reason: 'not sealed by the key of cell_id' };
    return undefined;
  },
);
export type TeardownReceiptV1 = Infer<typeof TeardownReceiptV1Schema>;
export const TeardownReceiptV1 = defineSealedObject('TeardownReceiptV1', TeardownReceiptV1Schema, 'cell_seal', {
  maxBytes: ReceiptMultiProofV1.maxBytes + 64 * 1024,
});
