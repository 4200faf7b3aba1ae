import { array, integer, object, refine, string, type Infer } from '../schema.js';
import { defineObject } from '../wire.js';
import { QuantitySchema } from './quantity.js';
import { UnixMsSchema } from './time-envelope.js';

/**
 * An action path: `/` (every action) or `/seg/seg…`, segments [A-Za-z0-9_.-].
 * A path covers itself and every path below it (segment-wise prefix).
 */
export const ACTION_PATTERN = /^\/$|^(\/[A-Za-z0-9_.-]+)+$/;

/**
 * A NATS-style subject pattern: dot-separated non-empty tokens without
 * whitespace; `*` matches exactly one token and must stand alone; `>`
 * matches one or more tokens and may only be the last token.
 */
export const RESOURCE_PATTERN = /^(?:(?:\*|[^.*>\s]+)\.)*(?:\*|>|[^.*>\s]+)$/;

export const CapabilityCapsV1Schema = object(
  {
    max_children: integer({ min: 0, max: 1_000_000 }),
    max_depth: integer({ min: 0, max: 255 }),
    rate_per_epoch: integer({ min: 0, max: 1_000_000_000 }),
    cpu_seconds: QuantitySchema,
    gpu_seconds: QuantitySchema,
    storage_bytes: QuantitySchema,
    egress_bytes: QuantitySchema,
    cost_usd_cents: QuantitySchema,
  },
  'Numeric ceilings of a grant; a covered grant has every cap ≤ its cover',
);
export type CapabilityCapsV1 = Infer<typeof CapabilityCapsV1Schema>;
export const CAP_FIELDS = Object.keys(CapabilityCapsV1Schema.shape) as (keyof CapabilityCapsV1)[];

export const CapabilityGrantV1Schema = refine(
  object(
    {
      action: string({ min: 1, max: 128, pattern: ACTION_PATTERN, format: 'an action path like /provision/BUILD_WORKER' }),
      resource: string({ min: 1, max: 256, pattern: RESOURCE_PATTERN, format: 'a subject pattern like holon.x.>' }),
      caps: CapabilityCapsV1Schema,
      not_before: UnixMsSchema,
      not_after: UnixMsSchema,
    },
    'CapabilityGrantV1: an action path on a resource pattern, with caps and a validity window',
  ),
  (g) => (g.not_after < g.not_before ? { path: '.not_after', reason: 'window ends before it begins' } : undefined),
);
export type CapabilityGrantV1 = Infer<typeof CapabilityGrantV1Schema>;

export const CapabilityManifestV1Schema = object(
  { grants: array(CapabilityGrantV1Schema, { max: 64 }) },
  'CapabilityManifestV1: a set of grants',
);
export type CapabilityManifestV1 = Infer<typeof CapabilityManifestV1Schema>;
export const CapabilityManifestV1 = defineObject('CapabilityManifestV1', CapabilityManifestV1Schema, {
  maxBytes: 32 * 1024,
});
