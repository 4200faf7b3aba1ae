/**
 * The events of a machine's bootstrap, exactly as they are written to the
 * ledger (kind = the entry kind, the rest = the entry body) and read back by
 * the rebuild. One schema per event, strict: a rebuild refuses an entry that
 * does not parse, naming the JSON path.
 *
 * Owner of these entries: the machine's HOST holon id (its machine key seen
 * as a holon id), so each machine has its own chain `ledger.<holon1…>` and
 * the orchestrator is its only writer (docs/orchestrator.md).
 */
import { CasDigestSchema } from '../bus-schemas/v1/cas-digest.js';
import { PublicKeyIdSchema } from '../bus-schemas/ids.js';
import { array, boolean, enumeration, integer, literal, object, optional, string, type Infer, type Schema } from '../bus-schemas/schema.js';
import { HolonCertificateV1Schema } from '../bus-schemas/v1/holon-certificate.js';
import { IsolationCapabilitiesV1Schema, NatsUserKeySchema, type BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import { UnixMsSchema } from '../bus-schemas/v1/time-envelope.js';
import { JurisdictionCodeSchema } from '../bus-schemas/v1/jurisdiction-attestation.js';
import { MachineClassSchema } from '../bus-schemas/v1/policy.js';
import { ArchitectureSchema, LabelsSchema, OsFamilySchema } from '../bus-schemas/v1/platform-report.js';
import { ResourceCapacityV1Schema } from '../bus-schemas/v1/resource-capacity.js';

/** A machine's facts that placement routes on: os, arch, labels, installed tools, capacity, what its isolation adapter can do. */
export const PlacementFactsSchema = object({
  os_family: OsFamilySchema,
  arch: ArchitectureSchema,
  labels: LabelsSchema,
  tools: array(string({ min: 1, max: 64 }), { max: 64 }),
  capacity: ResourceCapacityV1Schema,
  /** the adapter's own description from the hello; absent when the agent sent none (placement then uses its table) */
  isolation: optional(IsolationCapabilitiesV1Schema),
});
export type PlacementFacts = Infer<typeof PlacementFactsSchema>;

/** The placement facts of a (checked) hello. */
export function placementFactsOf(hello: BootstrapHelloV1): PlacementFacts {
  return {
    os_family: hello.platform_report.os_family,
    arch: hello.platform_report.arch,
    labels: hello.platform_report.labels,
    tools: hello.platform_report.installed_tools.map((t) => t.name),
    capacity: hello.resource_capacity,
    ...(hello.isolation !== undefined ? { isolation: hello.isolation } : {}),
  };
}

export const MACHINE_EVENT_KINDS = ['MACHINE_CHALLENGED', 'MACHINE_ATTESTED', 'MACHINE_REFUSED', 'MACHINE_APPROVED', 'MACHINE_ENROLLED'] as const;
export type MachineEventKind = (typeof MACHINE_EVENT_KINDS)[number];

const HexDigest = string({ min: 40, max: 128, pattern: /^[0-9a-f]+$/, format: 'lowercase hex' });
const RefusalCode = string({ min: 9, max: 64, pattern: /^HOLON_E_[A-Z0-9_]+$/, format: 'a HOLON_E_… code' });

export const ChallengedEventSchema = object({
  kind: literal('MACHINE_CHALLENGED'),
  machine_id: PublicKeyIdSchema,
  hello_digest: CasDigestSchema,
  software_only: boolean(),
  ek_hash: optional(CasDigestSchema),
  ek_trusted_by: optional(enumeration(['certificate', 'allow-list'] as const)),
  nats_user_key: NatsUserKeySchema,
  expires_at: UnixMsSchema,
  /** what placement needs from the hello (capability routing); absent in entries written before it existed */
  placement: optional(PlacementFactsSchema),
});

export const AttestedEventSchema = object({
  kind: literal('MACHINE_ATTESTED'),
  machine_id: PublicKeyIdSchema,
  attest_digest: CasDigestSchema,
  quote_digest: optional(CasDigestSchema),
  /** hex Name of the AK whose clock this quote carried */
  ak_name: optional(HexDigest),
  tpm_clock: optional(
    object({
      clock: string({ min: 1, max: 20, pattern: /^\d+$/, format: 'decimal uint64' }),
      reset_count: integer({ min: 0 }),
      restart_count: integer({ min: 0 }),
      safe: boolean(),
    }),
  ),
  pcr: optional(
    object({
      bank: enumeration(['sha1', 'sha256', 'sha384', 'sha512'] as const),
      pcrs: array(integer({ min: 0, max: 23 }), { max: 24 }),
      values: array(HexDigest, { max: 24 }),
    }),
  ),
  jurisdiction: optional(JurisdictionCodeSchema),
});

export const RefusedEventSchema = object({
  kind: literal('MACHINE_REFUSED'),
  machine_id: PublicKeyIdSchema,
  step: enumeration(['hello', 'attest', 'status', 'approve'] as const),
  code: RefusalCode,
  reason: string({ min: 1, max: 512 }),
});

export const ApprovedEventSchema = object({
  kind: literal('MACHINE_APPROVED'),
  machine_id: PublicKeyIdSchema,
  /** 'principal': a MachineApprovalV1; 'policy': the EK hash is pre-approved in the signed PolicyV1 */
  source: enumeration(['principal', 'policy'] as const),
  /** digest of the MachineApprovalV1 or of the PolicyV1 */
  approval_digest: CasDigestSchema,
  approval_nonce: optional(string({ min: 16, max: 128 })),
  machine_class: optional(MachineClassSchema),
  expires_at: UnixMsSchema,
});

export const EnrolledEventSchema = object({
  kind: literal('MACHINE_ENROLLED'),
  machine_id: PublicKeyIdSchema,
  serial: integer({ min: 1 }),
  certificate_digest: CasDigestSchema,
  certificate: HolonCertificateV1Schema,
});

export type ChallengedEvent = Infer<typeof ChallengedEventSchema>;
export type AttestedEvent = Infer<typeof AttestedEventSchema>;
export type RefusedEvent = Infer<typeof RefusedEventSchema>;
export type ApprovedEvent = Infer<typeof ApprovedEventSchema>;
export type EnrolledEvent = Infer<typeof EnrolledEventSchema>;
export type MachineEvent = ChallengedEvent | AttestedEvent | RefusedEvent | ApprovedEvent | EnrolledEvent;

const SCHEMAS: Record<MachineEventKind, Schema<MachineEvent>> = {
  MACHINE_CHALLENGED: ChallengedEventSchema,
  MACHINE_ATTESTED: AttestedEventSchema,
  MACHINE_REFUSED: RefusedEventSchema,
  MACHINE_APPROVED: ApprovedEventSchema,
  MACHINE_ENROLLED: EnrolledEventSchema,
};

export function isMachineEventKind(kind: string): kind is MachineEventKind {
  return (MACHINE_EVENT_KINDS as readonly string[]).includes(kind);
}

/** A ledger entry (kind + body) as a machine event; throws MalformedError naming the path. */
export function parseMachineEvent(kind: MachineEventKind, body: unknown): MachineEvent {
  const withKind = typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, kind } : body;
  return SCHEMAS[kind].parseAt(withKind, '$.body');
}

/** The ledger body of an event (the kind travels as the entry kind). */
export function eventBody(event: MachineEvent): Record<string, unknown> {
  const { kind: _kind, ...body } = event;
  return JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
}
