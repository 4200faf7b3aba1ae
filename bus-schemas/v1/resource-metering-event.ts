import { HolonIdSchema, PublicKeyIdSchema } from '../ids.js';
import { integer, object, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { ResourceBudgetV1Schema } from './resource-budget.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * ResourceMeteringEventV1 (OBJ-ARP-03): one external sample of a unit's
 * usage, taken from the host side by the agent and sealed by the agent's
 * machine key (`machine_id`, checked at parse time) — never by the holon
 * being metered.
 *
 * `sequence` counts the agent's metering batches (per machine, from 0, +1 per
 * batch; every event of one batch carries the batch's number), so the
 * orchestrator can tell a gap or a replay from a late delivery.
 * `consumed` and `remaining` describe the same budget: their `valid_until`
 * and `on_exhaustion` must agree.
 */
export const ResourceMeteringEventV1Schema = refine(
  object(
    {
      holon_id: HolonIdSchema,
      machine_id: PublicKeyIdSchema,
      sequence: integer({ min: 0, description: 'metering batch number of this machine' }),
      epoch: TimeEnvelopeRefSchema,
      consumed: ResourceBudgetV1Schema,
      remaining: ResourceBudgetV1Schema,
      metering_seal: AuthoritySealV1Schema,
    },
    'ResourceMeteringEventV1: a machine-signed usage sample of one holon',
  ),
  (e) => {
    if (e.remaining.valid_until.unix_ms !== e.consumed.valid_until.unix_ms || e.remaining.valid_until.source !== e.consumed.valid_until.source) {
      return { path: '.remaining.valid_until', reason: 'differs from consumed.valid_until' };
    }
    if (e.remaining.on_exhaustion !== e.consumed.on_exhaustion) {
      return { path: '.remaining.on_exhaustion', reason: 'differs from consumed.on_exhaustion' };
    }
    if (e.metering_seal.key !== e.machine_id) return { path: '.metering_seal.key', reason: 'not sealed by machine_id' };
    return undefined;
  },
);
export type ResourceMeteringEventV1 = Infer<typeof ResourceMeteringEventV1Schema>;
export const ResourceMeteringEventV1 = defineSealedObject(
  'ResourceMeteringEventV1',
  ResourceMeteringEventV1Schema,
  'metering_seal',
  { maxBytes: 8192 },
);
