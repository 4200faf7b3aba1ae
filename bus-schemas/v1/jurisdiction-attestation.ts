import { HolonIdSchema, PublicKeyIdSchema } from '../ids.js';
import { array, finite, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { UnixMsSchema } from './time-envelope.js';

/**
 * JurisdictionAttestationV1 (OBJ-ARP-06): a hosting provider's signed
 * statement that a machine sits at a site in a jurisdiction, for a window of
 * time, with optional network-path evidence (RTTs to landmark holons of known
 * location) that lets the orchestrator refute a site too far from a landmark
 * (light in fibre covers ≤ ~100 km per millisecond of RTT).
 *
 * Sealed by the provider key it names (checked at parse time); whether that
 * provider is one the principal registered is policy, decided by the verifier.
 */

/**
 * ISO 3166-1 alpha-2 (`DE`), optionally with an ISO 3166-2 subdivision
 * (`US-CA`), or a code the principal configured (`EU`, `EEA`): 2–8 capitals.
 */
export const JURISDICTION_PATTERN = /^(?:[A-Z]{2}(?:-[A-Z0-9]{1,3})?|[A-Z]{3,8})$/;
export const JurisdictionCodeSchema = string({
  min: 2,
  max: 8,
  pattern: JURISDICTION_PATTERN,
  format: 'an ISO 3166-1 alpha-2 code (optionally -subdivision) or a configured code like EU',
});

export const SITE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const CoordinatesV1Schema = object(
  {
    lat: finite({ min: -90, max: 90, description: 'latitude in degrees (WGS 84)' }),
    lon: finite({ min: -180, max: 180, description: 'longitude in degrees (WGS 84)' }),
  },
  'a point on the globe',
);
export type CoordinatesV1 = Infer<typeof CoordinatesV1Schema>;

/** Round trips longer than a minute are not evidence of anything. */
export const MAX_RTT_MS = 60_000;

export const LandmarkRttV1Schema = object(
  {
    landmark_holon: HolonIdSchema,
    rtt_ms: finite({ min: 0, max: MAX_RTT_MS, description: 'measured round-trip time in milliseconds' }),
  },
  'a round-trip time from the machine to a landmark holon of known location',
);
export type LandmarkRttV1 = Infer<typeof LandmarkRttV1Schema>;

export const JurisdictionAttestationV1Schema = refine(
  object(
    {
      provider_key: PublicKeyIdSchema,
      /** the machine's key (its PublicKeyIdV1), as in MachineAttestationV1.machine_id */
      machine_id: PublicKeyIdSchema,
      jurisdiction: JurisdictionCodeSchema,
      site: string({ min: 1, max: 64, pattern: SITE_PATTERN, format: 'a provider site name like fsn1-dc14' }),
      location: optional(CoordinatesV1Schema),
      not_before: UnixMsSchema,
      not_after: UnixMsSchema,
      landmark_rtts: optional(array(LandmarkRttV1Schema, { min: 1, max: 64 })),
      provider_seal: AuthoritySealV1Schema,
    },
    'JurisdictionAttestationV1: a provider-signed statement of where a machine is',
  ),
  (a) => {
    if (a.not_after < a.not_before) return { path: '.not_after', reason: 'window ends before it begins' };
    if (a.landmark_rtts !== undefined) {
      const seen = new Set<string>();
      for (let i = 0; i < a.landmark_rtts.length; i++) {
        const id = (a.landmark_rtts[i] as LandmarkRttV1).landmark_holon;
        if (seen.has(id)) return { path: `.landmark_rtts[${i}].landmark_holon`, reason: 'landmark listed twice' };
        seen.add(id);
      }
    }
    if (a.provider_seal.key !== a.provider_key) return { path: '.provider_seal.key', reason: 'not sealed by provider_key' };
    return undefined;
  },
);
export type JurisdictionAttestationV1 = Infer<typeof JurisdictionAttestationV1Schema>;
export const JurisdictionAttestationV1 = defineSealedObject(
  'JurisdictionAttestationV1',
  JurisdictionAttestationV1Schema,
  'provider_seal',
  { maxBytes: 16 * 1024 },
);
