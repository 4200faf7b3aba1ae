import { integer, object, refine, type Infer } from '../schema.js';
import { defineObject } from '../wire.js';
import { QuantitySchema } from './quantity.js';

/**
 * ResourceCapacityV1: what a machine offers to Holonet, as measured by the
 * agent's probes (and possibly reduced by its configuration). Placement fits
 * requests against it; budgets are carved from what it has left.
 */
export const ResourceCapacityV1Schema = refine(
  object(
    {
      /** logical CPUs the host exposes */
      cpu_cores: integer({ min: 1, max: 65_536, description: 'logical CPU cores' }),
      /** CPU time offered to units, in thousandths of a core (≤ cpu_cores × 1000) */
      cpu_millis: integer({ min: 1, max: 65_536_000, description: 'offered CPU in millicores' }),
      memory_bytes: integer({ min: 1, max: Number.MAX_SAFE_INTEGER, description: 'offered memory in bytes' }),
      storage_bytes: QuantitySchema,
      gpu_count: integer({ min: 0, max: 1024, description: 'GPUs offered' }),
      /** egress bandwidth in bits per second */
      network_bandwidth_bps: QuantitySchema,
      /** most isolated units (jails / namespaces) this host will run at once */
      max_units: integer({ min: 0, max: 100_000, description: 'most concurrent units' }),
    },
    'ResourceCapacityV1: what a machine offers',
  ),
  (c) =>
    c.cpu_millis > c.cpu_cores * 1000
      ? { path: '.cpu_millis', reason: `more than cpu_cores × 1000 (${c.cpu_cores * 1000})` }
      : undefined,
);
export type ResourceCapacityV1 = Infer<typeof ResourceCapacityV1Schema>;
export const ResourceCapacityV1 = defineObject('ResourceCapacityV1', ResourceCapacityV1Schema, { maxBytes: 1024 });
