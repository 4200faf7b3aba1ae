import { object, type Infer } from '../schema.js';
import { defineObject } from '../wire.js';
import { ExhaustionPolicySchema } from './exhaustion-policy.js';
import { QuantitySchema } from './quantity.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/** ResourceBudgetV1: explicit compute, storage, network and cost envelopes (OBJ-ARP-03). */
export const ResourceBudgetV1Schema = object(
  {
    compute_cpu_seconds: QuantitySchema,
    compute_gpu_seconds: QuantitySchema,
    storage_bytes: QuantitySchema,
    network_egress_bytes: QuantitySchema,
    cost_usd_cents: QuantitySchema,
    valid_until: TimeEnvelopeRefSchema,
    on_exhaustion: ExhaustionPolicySchema,
  },
  'ResourceBudgetV1',
);
export type ResourceBudgetV1 = Infer<typeof ResourceBudgetV1Schema>;
export const ResourceBudgetV1 = defineObject('ResourceBudgetV1', ResourceBudgetV1Schema, { maxBytes: 2048 });

/** The metered quantities of a budget, for arithmetic (carve-out, release, remaining). */
export const BUDGET_QUANTITIES = [
  'compute_cpu_seconds',
  'compute_gpu_seconds',
  'storage_bytes',
  'network_egress_bytes',
  'cost_usd_cents',
] as const;
export type BudgetQuantity = (typeof BUDGET_QUANTITIES)[number];
