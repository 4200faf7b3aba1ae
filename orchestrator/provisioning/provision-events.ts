/**
 * The provisioning lifecycle as ledger events, and the one pure reducer over
 * them (DESIGN §9: the ledger is the source of truth). The live service
 * builds an event, applies it with applyProvisionEvent and commits the result
 * together with the entry; the rebuild replays the same entries through the
 * same function. Same events, same records.
 *
 *   PROVISION_AUTHORIZED  (owner: the requester)  → PLACED
 *   HOLON_PROVISIONED     (owner: the new holon)  PLACED → RUNNING
 *   TEARDOWN_REQUESTED    (owner: the holon)      RUNNING → TEARDOWN
 *   HOLON_DESTROYED       (owner: the holon)      TEARDOWN → DESTROYED
 *   BUDGET_EXHAUSTED      (owner: the holon)      RUNNING → TEARDOWN (policy TEARDOWN),
 *                                                 RUNNING, frozen (FREEZE) or notified (NOTIFY)
 *   BUDGET_TOPPED_UP      (owner: the holon)      RUNNING: a larger budget; an exhaustion is cleared
 *
 * Each body carries what the record needs (the budget and manifest asked
 * for, the receipt, the destruction receipt), so the projection is
 * rebuildable from the ledger alone. Strict schemas: an entry that does not
 * parse is refused naming the path.
 */
import { HolonError } from '../../bus-schemas/errors.js';
import { HolonIdSchema, PublicKeyIdSchema } from '../../bus-schemas/ids.js';
import { array, boolean, enumeration, integer, literal, nullable, object, string, type Infer, type Schema } from '../../bus-schemas/schema.js';
import { CapabilityManifestV1Schema } from '../../bus-schemas/v1/capability-manifest.js';
import { CasDigestSchema } from '../../bus-schemas/v1/cas-digest.js';
import { HolonRoleSchema } from '../../bus-schemas/v1/holon-role.js';
import { ProvisioningReceiptV1Schema } from '../../bus-schemas/v1/provisioning-receipt.js';
import { BUDGET_QUANTITIES, ResourceBudgetV1Schema } from '../../bus-schemas/v1/resource-budget.js';
import { ExhaustionPolicySchema } from '../../bus-schemas/v1/exhaustion-policy.js';
import { TeardownReasonSchema } from '../../bus-schemas/v1/teardown-reason.js';
import { UnitDestructionReceiptV1Schema, UnitNameSchema } from '../../bus-schemas/v1/unit-flow.js';
import type { ProvisionRecord } from './provision-store.js';

export const PROVISION_EVENT_KINDS = ['PROVISION_AUTHORIZED', 'HOLON_PROVISIONED', 'TEARDOWN_REQUESTED', 'HOLON_DESTROYED', 'BUDGET_EXHAUSTED', 'BUDGET_TOPPED_UP'] as const;
export type ProvisionEventKind = (typeof PROVISION_EVENT_KINDS)[number];

const Jwt = string({ min: 16, max: 8192, pattern: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, format: 'a NATS user JWT' });

export const AuthorizedEventSchema = object({
  kind: literal('PROVISION_AUTHORIZED'),
  request_digest: CasDigestSchema,
  role: HolonRoleSchema,
  machine_id: PublicKeyIdSchema,
  unit_name: UnitNameSchema,
  tenant: nullable(string({ min: 1, max: 63 })),
  requester: HolonIdSchema,
  nonce: string({ min: 16, max: 64 }),
  memory_bytes: integer({ min: 0, max: 2 ** 50 }),
  budget: ResourceBudgetV1Schema,
  manifest: CapabilityManifestV1Schema,
});

export const ProvisionedEventSchema = object({
  kind: literal('HOLON_PROVISIONED'),
  request_digest: CasDigestSchema,
  receipt_digest: CasDigestSchema,
  report_digest: CasDigestSchema,
  machine_id: PublicKeyIdSchema,
  unit_name: UnitNameSchema,
  adapter: enumeration(['linux', 'bastille', 'noop'] as const),
  parent: HolonIdSchema,
  role: HolonRoleSchema,
  certificate_serial: integer({ min: 0 }),
  receipt: ProvisioningReceiptV1Schema,
  nats_user_jwt: Jwt,
});

export const TeardownEventSchema = object({
  kind: literal('TEARDOWN_REQUESTED'),
  request_digest: CasDigestSchema,
  teardown_digest: CasDigestSchema,
  reason: TeardownReasonSchema,
  requester: string({ min: 1, max: 128 }),
  basic: boolean(),
});

export const DestroyedEventSchema = object({
  kind: literal('HOLON_DESTROYED'),
  request_digest: CasDigestSchema,
  teardown_digest: CasDigestSchema,
  destruction_digest: CasDigestSchema,
  report_digest: CasDigestSchema,
  machine_id: PublicKeyIdSchema,
  unit_name: UnitNameSchema,
  evidence_replicated: boolean(),
  destruction: UnitDestructionReceiptV1Schema,
});

/**
 * A budget ran out (DESIGN §7): what ran out, the figures that showed it (in the budget's units) and the
 * overshoot past the limit (at most one sampling interval's use), and the policy applied. `action_digest`
 * names the action: the cell's teardown (TEARDOWN) or the freeze command (FREEZE); for NOTIFY the notice.
 */
export const ExhaustedEventSchema = object({
  kind: literal('BUDGET_EXHAUSTED'),
  request_digest: CasDigestSchema,
  action_digest: CasDigestSchema,
  exhausted: array(enumeration([...BUDGET_QUANTITIES, 'valid_until'] as const), { min: 1, max: BUDGET_QUANTITIES.length + 1 }),
  policy: ExhaustionPolicySchema,
  consumed: ResourceBudgetV1Schema,
  overshoot: ResourceBudgetV1Schema,
  machine_id: PublicKeyIdSchema,
  sequence: integer({ min: 0 }),
  sampled_at: integer({ min: 0 }),
  interval_ms: integer({ min: 0 }),
});

/** A top-up (BudgetTopupV1 `topup_digest`): the budget after it; a frozen unit is thawed (`thaw`). */
export const TopupEventSchema = object({
  kind: literal('BUDGET_TOPPED_UP'),
  request_digest: CasDigestSchema,
  topup_digest: CasDigestSchema,
  requester: string({ min: 1, max: 128 }),
  budget: ResourceBudgetV1Schema,
  thaw: boolean(),
});

export type AuthorizedEvent = Infer<typeof AuthorizedEventSchema>;
export type ProvisionedEvent = Infer<typeof ProvisionedEventSchema>;
export type TeardownEvent = Infer<typeof TeardownEventSchema>;
export type DestroyedEvent = Infer<typeof DestroyedEventSchema>;
export type ExhaustedEvent = Infer<typeof ExhaustedEventSchema>;
export type TopupEvent = Infer<typeof TopupEventSchema>;
export type ProvisionEvent = AuthorizedEvent | ProvisionedEvent | TeardownEvent | DestroyedEvent | ExhaustedEvent | TopupEvent;

const SCHEMAS: Record<ProvisionEventKind, Schema<ProvisionEvent>> = {
  PROVISION_AUTHORIZED: AuthorizedEventSchema,
  HOLON_PROVISIONED: ProvisionedEventSchema,
  TEARDOWN_REQUESTED: TeardownEventSchema,
  HOLON_DESTROYED: DestroyedEventSchema,
  BUDGET_EXHAUSTED: ExhaustedEventSchema,
  BUDGET_TOPPED_UP: TopupEventSchema,
};

export function isProvisionEventKind(kind: string): kind is ProvisionEventKind {
  return (PROVISION_EVENT_KINDS as readonly string[]).includes(kind);
}

/** A ledger entry (kind + body) as a provisioning event; throws MalformedError naming the path. */
export function parseProvisionEvent(kind: ProvisionEventKind, body: unknown): ProvisionEvent {
  const withKind = typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, kind } : body;
  return SCHEMAS[kind].parseAt(withKind, '$.body');
}

/** The ledger body of an event (the kind travels as the entry kind). */
export function provisionEventBody(event: ProvisionEvent): Record<string, unknown> {
  const { kind: _kind, ...body } = event;
  return JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
}

/** An event the lifecycle does not allow here: a bug, or a ledger that was not written by us. */
export class ProvisionEventError extends HolonError {
  static readonly CODE = 'HOLON_E_PROVISION_EVENT';
  constructor(message: string) {
    super(ProvisionEventError.CODE, `provision event: ${message}`);
  }
}

/**
 * The one reducer: the record after `event` at time `at`. Pure. Re-applying
 * the event a record already reflects returns the record unchanged.
 */
export function applyProvisionEvent(rec: ProvisionRecord | undefined, event: ProvisionEvent, at: number): ProvisionRecord {
  if (event.kind === 'PROVISION_AUTHORIZED') {
    if (rec !== undefined) {
      if (rec.requestDigest !== event.request_digest) throw new ProvisionEventError(`${event.request_digest} applied to the record of ${rec.requestDigest}`);
      return rec;
    }
    return {
      requestDigest: event.request_digest,
      state: 'PLACED',
      since: at,
      placedAt: at,
      role: event.role,
      requester: event.requester,
      nonce: event.nonce,
      machineId: event.machine_id,
      unitName: event.unit_name,
      tenant: event.tenant,
      holonId: null,
      memoryBytes: event.memory_bytes,
      budget: event.budget,
      manifest: event.manifest,
      receipt: null,
      natsJwt: null,
      teardown: null,
      destruction: null,
      refusal: null,
      exhaustion: null,
    };
  }
  if (rec === undefined) throw new ProvisionEventError(`${event.kind} for ${event.request_digest}, which was never authorized`);
  if (rec.requestDigest !== event.request_digest) throw new ProvisionEventError(`${event.kind} of ${event.request_digest} applied to the record of ${rec.requestDigest}`);
  switch (event.kind) {
    case 'HOLON_PROVISIONED':
      if (rec.state === 'RUNNING' && rec.holonId === event.receipt.assigned_holon_id) return rec;
      if (rec.state !== 'PLACED') throw new ProvisionEventError(`HOLON_PROVISIONED for ${rec.requestDigest}, which is ${rec.state}`);
      return { ...rec, state: 'RUNNING', since: at, holonId: event.receipt.assigned_holon_id, receipt: event.receipt, natsJwt: event.nats_user_jwt };
    case 'TEARDOWN_REQUESTED':
      if (rec.state === 'TEARDOWN' && rec.teardown?.requestDigest === event.teardown_digest) return rec;
      if (rec.state !== 'RUNNING') throw new ProvisionEventError(`TEARDOWN_REQUESTED for ${rec.requestDigest}, which is ${rec.state}`);
      return { ...rec, state: 'TEARDOWN', since: at, teardown: { requestDigest: event.teardown_digest, reason: event.reason, requester: event.requester } };
    case 'HOLON_DESTROYED':
      if (rec.state === 'DESTROYED') return rec;
      if (rec.state !== 'TEARDOWN' || rec.teardown?.requestDigest !== event.teardown_digest) throw new ProvisionEventError(`HOLON_DESTROYED for ${rec.requestDigest}, which is ${rec.state}`);
      return { ...rec, state: 'DESTROYED', since: at, destruction: event.destruction };
    case 'BUDGET_EXHAUSTED': {
      if (rec.exhaustion?.actionDigest === event.action_digest) return rec;
      if (rec.state !== 'RUNNING' || rec.holonId === null) throw new ProvisionEventError(`BUDGET_EXHAUSTED for ${rec.requestDigest}, which is ${rec.state}`);
      const exhaustion = { actionDigest: event.action_digest, policy: event.policy, exhausted: event.exhausted, at, consumed: event.consumed, overshoot: event.overshoot };
      if (event.policy === 'TEARDOWN') {
        return { ...rec, state: 'TEARDOWN', since: at, exhaustion, teardown: { requestDigest: event.action_digest, reason: 'BUDGET_EXHAUSTED', requester: rec.requester } };
      }
      return { ...rec, exhaustion };
    }
    case 'BUDGET_TOPPED_UP':
      if ((rec.topups ?? []).includes(event.topup_digest)) return rec;
      if (rec.state !== 'RUNNING') throw new ProvisionEventError(`BUDGET_TOPPED_UP for ${rec.requestDigest}, which is ${rec.state}`);
      return { ...rec, budget: event.budget, exhaustion: null, topups: [...(rec.topups ?? []), event.topup_digest] };
  }
}
