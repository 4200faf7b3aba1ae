import { HolonIdSchema } from '../ids.js';
import { array, base64url, object, optional, refine, string, type Infer, type Schema } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CapabilityManifestV1Schema } from './capability-manifest.js';
import { CasDigestSchema } from './cas-digest.js';
import { sameKey } from './holon-certificate.js';
import { HolonRoleSchema } from './holon-role.js';
import { JurisdictionCodeSchema } from './jurisdiction-attestation.js';
import { MachineAttestationV1Schema } from './machine-attestation.js';
import { ARCHITECTURES, ArchitectureSchema, LabelsSchema, OS_FAMILIES, OsFamilySchema, sortedUnique } from './platform-report.js';
import { ResourceBudgetV1Schema } from './resource-budget.js';
import { TimeEnvelopeRefSchema, UnixMsSchema } from './time-envelope.js';

/** A request lives at most a day: nonce caches only have to remember that long. */
export const MAX_REQUEST_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** A tenant id is also the unit name and the secret bucket, so it is a DNS label. */
export const TENANT_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function orderOf<T extends string>(values: readonly T[]): (v: T) => string {
  // Sort key for enumerations: declaration order, zero-padded so string order agrees.
  return (v) => String(values.indexOf(v)).padStart(3, '0');
}

function nonEmptySet<T extends string>(item: Schema<T>, max: number, key: (v: T) => string, what: string) {
  return optional(sortedUnique(array(item, { min: 1, max }), key, what));
}

/**
 * Where the unit may be placed. An absent field places no constraint; a
 * present list is an allow list (any one member matches), except `labels`,
 * all of which the machine must carry with the same values.
 */
export const PlacementConstraintsV1Schema = object(
  {
    /** in OS_FAMILIES order */
    os: nonEmptySet(OsFamilySchema, OS_FAMILIES.length, orderOf(OS_FAMILIES), 'os family'),
    /** in ARCHITECTURES order */
    arch: nonEmptySet(ArchitectureSchema, ARCHITECTURES.length, orderOf(ARCHITECTURES), 'architecture'),
    labels: optional(refine(LabelsSchema, (l) => (l.length === 0 ? 'omit labels instead of sending none' : undefined))),
    /** sorted ascending */
    jurisdictions: nonEmptySet(JurisdictionCodeSchema, 64, (j) => j, 'jurisdiction'),
  },
  'PlacementConstraintsV1: where a unit may be placed',
);
export type PlacementConstraintsV1 = Infer<typeof PlacementConstraintsV1Schema>;

/**
 * ProvisioningRequestV1 (OBJ-ARP-05): a requester asks for a new holon under
 * itself. `requesting_holon` is the parent-to-be; the principal requests as
 * its root key written as a holon id. `principal_authorization` is the
 * requester's own seal (checked at parse time to be by the requesting
 * holon's key); whether the principal must also approve is policy.
 *
 * `delegation_chain` names, root first, the delegations that give the
 * requester its authority; the chain objects travel separately (they are
 * content-addressed, and the verifier memoizes checked prefixes by digest).
 * Empty for the principal, whose authority is the root.
 *
 * `request_nonce` and `created_at`/`expires_at` make every request unique and
 * short-lived; the request digest is the idempotency key of everything that
 * follows (LAW-11).
 *
 * `machine_attestation` is OPTIONAL, unlike in the RFC: a request is placed by
 * the orchestrator, which already holds every enrolled machine's attestation,
 * so requesters do not (and usually cannot) carry one. It is given only when
 * the request targets one specific, already attested machine; placement then
 * considers that machine alone.
 */
export const ProvisioningRequestV1Schema = refine(
  object(
    {
      requesting_holon: HolonIdSchema,
      machine_attestation: optional(MachineAttestationV1Schema),
      requested_role: HolonRoleSchema,
      requested_capabilities: CapabilityManifestV1Schema,
      resource_budget: ResourceBudgetV1Schema,
      tenant: optional(string({ min: 1, max: 63, pattern: TENANT_PATTERN, format: 'a DNS label like acme-ci' })),
      constraints: PlacementConstraintsV1Schema,
      request_nonce: base64url({ minBytes: 16, maxBytes: 32, description: '16–32 random bytes' }),
      created_at: TimeEnvelopeRefSchema,
      expires_at: UnixMsSchema,
      delegation_chain: array(CasDigestSchema, { max: 64 }),
      principal_authorization: AuthoritySealV1Schema,
    },
    'ProvisioningRequestV1: a sealed request for a new holon',
  ),
  (r) => {
    if (r.requested_role === 'HOST') {
      return { path: '.requested_role', reason: 'HOST is assigned at machine enrollment, not requested' };
    }
    const created = r.created_at.unix_ms;
    if (r.expires_at <= created) return { path: '.expires_at', reason: 'expires before it was created' };
    if (r.expires_at - created > MAX_REQUEST_LIFETIME_MS) {
      return { path: '.expires_at', reason: 'expires more than 24 h after it was created' };
    }
    const seen = new Set<string>();
    for (let i = 0; i < r.delegation_chain.length; i++) {
      const d = r.delegation_chain[i] as string;
      if (seen.has(d)) return { path: `.delegation_chain[${i}]`, reason: 'delegation listed twice' };
      seen.add(d);
    }
    if (!sameKey(r.principal_authorization.key, r.requesting_holon)) {
      return { path: '.principal_authorization.key', reason: 'not sealed by the key of requesting_holon' };
    }
    return undefined;
  },
);
export type ProvisioningRequestV1 = Infer<typeof ProvisioningRequestV1Schema>;
export const ProvisioningRequestV1 = defineSealedObject(
  'ProvisioningRequestV1',
  ProvisioningRequestV1Schema,
  'principal_authorization',
  { maxBytes: 192 * 1024 },
);
