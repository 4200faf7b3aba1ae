import { CellIdSchema, HolonIdSchema } from '../ids.js';
import { base64url, object, optional, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { QuantitySchema } from './quantity.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * BudgetTopupV1 (DESIGN §7): add to a holon's budget — what its parent may
 * grant out of its own remaining budget, or the principal out of the fleet's.
 * A holon frozen by an exhausted budget (policy FREEZE) is thawed once the
 * top-up covers what it used; one that ran out under NOTIFY is metered on.
 *
 * `requester_seal` is the principal's or the holon's parent's. The request's
 * digest keys it: the same top-up sent twice is applied once.
 */
export const BudgetTopupV1Schema = object(
  {
    cell_id: CellIdSchema,
    holon_id: HolonIdSchema,
    add: object(
      {
        compute_cpu_seconds: QuantitySchema,
        compute_gpu_seconds: QuantitySchema,
        storage_bytes: QuantitySchema,
        network_egress_bytes: QuantitySchema,
        cost_usd_cents: QuantitySchema,
      },
      'what to add to each quantity of the budget',
    ),
    /** a later end of the budget's window (never earlier than the current one) */
    valid_until: optional(TimeEnvelopeRefSchema),
    request_nonce: base64url({ minBytes: 16, maxBytes: 32, description: '16–32 random bytes' }),
    sent_at: TimeEnvelopeRefSchema,
    requester_seal: AuthoritySealV1Schema,
  },
  'BudgetTopupV1: a sealed top-up of a holon budget',
);
export type BudgetTopupV1 = Infer<typeof BudgetTopupV1Schema>;
export const BudgetTopupV1 = defineSealedObject('BudgetTopupV1', BudgetTopupV1Schema, 'requester_seal', { maxBytes: 2048 });
