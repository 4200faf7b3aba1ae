import { CellIdSchema, HolonIdSchema } from '../ids.js';
import { base64url, object, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { TeardownReasonSchema } from './teardown-reason.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * TeardownRequestV1 (OBJ-ARP-04): ask for a holon (and with it its
 * descendants) to be torn down, its evidence first replicated to
 * `evidence_replication_target`, a surviving cell.
 *
 * `principal_seal` keeps the RFC's name but is REQUIRED, unlike the RFC's
 * Option: agents execute nothing unsigned, and an unsigned teardown would let
 * anyone on the bus destroy a unit. It is the requester's seal — the
 * principal, the holon's parent, or the cell itself for automatic teardowns
 * (BUDGET_EXHAUSTED, EXPIRED, REVOKED, MACHINE_LOST …); whether that key may
 * tear this holon down is decided by the verifier against the holon's chain.
 *
 * `request_nonce` and `requested_at` make each request unique, so its digest
 * can key the idempotent two-phase teardown.
 */
export const TeardownRequestV1Schema = object(
  {
    holon_id: HolonIdSchema,
    reason: TeardownReasonSchema,
    evidence_replication_target: CellIdSchema,
    request_nonce: base64url({ minBytes: 16, maxBytes: 32, description: '16–32 random bytes' }),
    requested_at: TimeEnvelopeRefSchema,
    principal_seal: AuthoritySealV1Schema,
  },
  'TeardownRequestV1: a sealed request to tear a holon down',
);
export type TeardownRequestV1 = Infer<typeof TeardownRequestV1Schema>;
export const TeardownRequestV1 = defineSealedObject('TeardownRequestV1', TeardownRequestV1Schema, 'principal_seal', {
  maxBytes: 2048,
});
