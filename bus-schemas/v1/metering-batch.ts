import { HolonIdSchema, PublicKeyIdSchema } from '../ids.js';
import { array, integer, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { sameKey } from './holon-certificate.js';
import { QuantitySchema } from './quantity.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';
import { UnitNameSchema } from './unit-flow.js';

/**
 * One unit's usage in a metering batch, read from the host side (DESIGN §7).
 *
 * Counters (`cpu_usec`, `gpu_ms`, `egress_bytes`, `ingress_bytes`,
 * `oom_kills`) are monotonic totals since the unit was created, kept by the
 * agent across its own restarts and the kernel counters' resets: a lost batch
 * loses nothing (the next one carries the total) and a duplicated one counts
 * nothing twice (the cell keeps the highest total it has seen). Gauges
 * (`storage_bytes`, `memory_bytes`, `pids`) are the value at `sampled_at`;
 * `memory_peak_bytes` is the highest the kernel recorded.
 */
export const UnitMeterSampleV1Schema = object(
  {
    holon_id: HolonIdSchema,
    unit_name: UnitNameSchema,
    cpu_usec: QuantitySchema,
    gpu_ms: QuantitySchema,
    egress_bytes: QuantitySchema,
    ingress_bytes: QuantitySchema,
    storage_bytes: QuantitySchema,
    memory_bytes: QuantitySchema,
    memory_peak_bytes: QuantitySchema,
    pids: QuantitySchema,
    oom_kills: QuantitySchema,
    /** why gpu_ms is 0 (no GPU assigned, no accounting), when it is */
    gpu_note: optional(string({ min: 1, max: 120 })),
  },
  'UnitMeterSampleV1: one unit, sampled from outside',
);
export type UnitMeterSampleV1 = Infer<typeof UnitMeterSampleV1Schema>;

/** How many units one batch may carry (a larger host sends several batches per interval). */
export const MAX_BATCH_UNITS = 256;

/**
 * ResourceMeteringBatchV1: the ResourceMeteringEventV1 samples of many units
 * of one machine under ONE seal (the machine key), published on
 * `evt.<host holon>.metering` (DESIGN §7). `sequence` counts the machine's
 * batches (persisted by the agent; a gap is a lost batch, a repeat a
 * redelivery); `interval_ms` is the sampling interval in force, which bounds
 * how far past its budget a unit can run before the cell sees it.
 * The per-holon consumed/remaining figures (ResourceMeteringEventV1) are the
 * cell's: only the parent knows the budget (enforcement at the parent).
 */
export const ResourceMeteringBatchV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      sequence: integer({ min: 0, description: 'metering batch number of this machine' }),
      sampled_at: TimeEnvelopeRefSchema,
      interval_ms: integer({ min: 10, max: 3_600_000 }),
      samples: array(UnitMeterSampleV1Schema, { max: MAX_BATCH_UNITS }),
      machine_seal: AuthoritySealV1Schema,
    },
    'ResourceMeteringBatchV1: machine-sealed usage samples of its units',
  ),
  (b) => {
    if (!sameKey(b.machine_seal.key, b.machine_id)) return { path: '.machine_seal.key', reason: 'not sealed by the key of machine_id' };
    const seen = new Set<string>();
    for (let i = 0; i < b.samples.length; i++) {
      const h = (b.samples[i] as UnitMeterSampleV1).holon_id;
      if (seen.has(h)) return { path: `.samples[${i}].holon_id`, reason: 'sampled twice in one batch' };
      seen.add(h);
    }
    return undefined;
  },
);
export type ResourceMeteringBatchV1 = Infer<typeof ResourceMeteringBatchV1Schema>;
export const ResourceMeteringBatchV1 = defineSealedObject('ResourceMeteringBatchV1', ResourceMeteringBatchV1Schema, 'machine_seal', { maxBytes: 128 * 1024 });
