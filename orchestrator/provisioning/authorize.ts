/**
 * Whether a provisioning request may go ahead, and where: a pure decision
 * over a read-only view of the projection (DESIGN §5, OBJ-ARP-02/03).
 *
 *   freshness    not expired, not from the future, nonce not reused with another body
 *   policy       a unit role the cell certificate allows
 *   chain        the principal holds the root; a holon holds what its receipt says (RUNNING, certificate valid)
 *   ⊑            a grant of the requester permits /provision/<ROLE>; the manifest narrows strictly
 *   quotas       max_children, rate_per_epoch (caps only shrink down the tree)
 *   budget       within the permitting grant's caps, carved out of what the requester has left
 *   placement    tenant unit free; a machine that fits
 *
 * Every refusal is a ProvisionError naming the request field to fix.
 */
import { checkManifestPermits, checkStrictNarrowing } from '../../bus-schemas/capability/index.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { roleTemplate, type RoleTemplate } from '../../bus-schemas/units/roles.js';
import { UNIT_NAME_PATTERN } from '../../bus-schemas/units/port.js';
import type { CapabilityManifestV1 as Manifest } from '../../bus-schemas/v1/capability-manifest.js';
import { sameKey } from '../../bus-schemas/v1/holon-certificate.js';
import type { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { BUDGET_QUANTITIES, type ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import type { MachineRecord } from '../machine-registry.js';
import { placeUnit } from './placement.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionRecord } from './provision-store.js';

/** How far a requester's clock may run ahead of the cell's. */
export const CLOCK_SKEW_MS = 60_000;
/** The epoch of `rate_per_epoch` quotas on provisioning. */
export const PROVISION_EPOCH_MS = 3_600_000;

const FAR_FUTURE = 253_402_300_799_000;
const MAX_Q = Number.MAX_SAFE_INTEGER;

/** The principal is the root of every chain: it may do anything the cell allows. */
export const ROOT_MANIFEST: Manifest = {
  grants: [
    {
      action: '/',
      resource: '>',
      caps: { max_children: 1_000_000, max_depth: 255, rate_per_epoch: 1_000_000_000, cpu_seconds: MAX_Q, gpu_seconds: MAX_Q, storage_bytes: MAX_Q, egress_bytes: MAX_Q, cost_usd_cents: MAX_Q },
      not_before: 0,
      not_after: FAR_FUTURE,
    },
  ],
};

const GRANT_CAP_OF: Record<(typeof BUDGET_QUANTITIES)[number], 'cpu_seconds' | 'gpu_seconds' | 'storage_bytes' | 'egress_bytes' | 'cost_usd_cents'> = {
  compute_cpu_seconds: 'cpu_seconds',
  compute_gpu_seconds: 'gpu_seconds',
  storage_bytes: 'storage_bytes',
  network_egress_bytes: 'egress_bytes',
  cost_usd_cents: 'cost_usd_cents',
};

/** What authorize reads; nothing here writes. */
export interface AuthorizeView {
  byNonce(requester: HolonIdV1, nonce: string): ProvisionRecord | undefined;
  byHolon(holonId: HolonIdV1): ProvisionRecord | undefined;
  activeChildren(requester: HolonIdV1): ProvisionRecord[];
  countActiveChildren(requester: HolonIdV1): number;
  countPlacedSince(requester: HolonIdV1, since: number): number;
  activeByUnit(unitName: string): ProvisionRecord | undefined;
  usageOn(machineId: PublicKeyIdV1): { units: number; memoryBytes: number };
  enrolled(): MachineRecord[];
}

export interface AuthorizeContext {
  now: number;
  cell: { cellId: string; principalKey: string; allowedRoles: readonly string[] };
  overcommit: number;
  /** the principal's fleet capital (policy `fleet_capital_cents`): the root budget; absent: unbounded */
  fleetCapitalCents?: number;
}

export interface Decision {
  role: RoleTemplate['role'];
  template: RoleTemplate;
  unitName: string;
  machine: MachineRecord;
}

/** The unit name: the tenant when there is one (tenant = unit = secret bucket), else derived from the request digest. */
export function unitNameFor(requestDigest: CasDigest, tenant: string | undefined): string {
  if (tenant !== undefined) {
    if (!UNIT_NAME_PATTERN.test(tenant)) throw new ProvisionError('tenant-busy', `tenant "${tenant}" cannot name a unit (it must start with a letter and be at most 32 characters)`, '.tenant');
    return tenant;
  }
  return `u-${requestDigest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}

/** What the requester holds: the principal holds the root; a holon holds what its receipt says. */
export function authorityOf(view: Pick<AuthorizeView, 'byHolon'>, requester: HolonIdV1, ctx: Pick<AuthorizeContext, 'now' | 'cell'>): { manifest: Manifest; budget: ResourceBudgetV1 | null } {
  if (sameKey(requester, ctx.cell.principalKey)) return { manifest: ROOT_MANIFEST, budget: null };
  const rec = view.byHolon(requester);
  if (rec === undefined || rec.receipt === null) throw new ProvisionError('unknown-holon', `${requester} is neither the principal nor a holon of this cell`, '.requesting_holon');
  if (rec.state !== 'RUNNING') throw new ProvisionError('forbidden', `${requester} is ${rec.state}, not RUNNING`, '.requesting_holon');
  if (rec.receipt.issued_certificate.not_after < ctx.now) throw new ProvisionError('expired', `the certificate of ${requester} expired at ${rec.receipt.issued_certificate.not_after}`, '.requesting_holon');
  return { manifest: rec.receipt.capability_manifest, budget: rec.receipt.resource_budget };
}

/** Grant caps that bound nothing: a top-up is bounded by what the parent has left, not by a grant. */
export const UNCAPPED: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(Object.values(GRANT_CAP_OF).map((c) => [c, Number.MAX_SAFE_INTEGER])));

/** A child's budget is carved out of what its parent has left, and within the permitting grant's caps. */
export function checkBudget(asked: ResourceBudgetV1, parent: ResourceBudgetV1 | null, children: readonly ProvisionRecord[], caps: Record<string, number>): void {
  for (const q of BUDGET_QUANTITIES) {
    const cap = caps[GRANT_CAP_OF[q]] ?? 0;
    if (asked[q] > cap) throw new ProvisionError('budget', `${asked[q]} exceeds the permitting grant's ${GRANT_CAP_OF[q]} (${cap})`, `.resource_budget.${q}`);
  }
  if (parent === null) return;
  for (const q of BUDGET_QUANTITIES) {
    const reserved = children.reduce((sum, c) => sum + c.budget[q], 0);
    const left = parent[q] - reserved;
    if (asked[q] > left) throw new ProvisionError('budget', `${asked[q]} is above what the requester has left (${left} of ${parent[q]})`, `.resource_budget.${q}`);
  }
  if (asked.valid_until.unix_ms > parent.valid_until.unix_ms) {
    throw new ProvisionError('budget', `valid until ${asked.valid_until.unix_ms}, after the requester's ${parent.valid_until.unix_ms}`, '.resource_budget.valid_until.unix_ms');
  }
}

/** The decision for `req` (digest `digest`), or a ProvisionError. Pure over `view`. */
export function authorize(req: ProvisioningRequestV1, digest: CasDigest, view: AuthorizeView, ctx: AuthorizeContext): Decision {
  const { now } = ctx;
  const requester = req.requesting_holon;
  const replay = view.byNonce(requester, req.request_nonce);
  if (replay !== undefined) throw new ProvisionError('replay', `request_nonce was already used by request ${replay.requestDigest} with another body`, '.request_nonce');
  if (req.expires_at <= now) throw new ProvisionError('expired', `expired at ${req.expires_at} (now ${now})`, '.expires_at');
  if (req.created_at.unix_ms > now + CLOCK_SKEW_MS) throw new ProvisionError('expired', `created ${req.created_at.unix_ms - now} ms in the future`, '.created_at.unix_ms');

  const role = req.requested_role;
  const template = roleTemplate(role);
  if (template === undefined) throw new ProvisionError('role', `${role} is not a unit role`, '.requested_role');
  if (!ctx.cell.allowedRoles.includes(role)) throw new ProvisionError('role', `cell ${ctx.cell.cellId} is not allowed to run ${role} (allowed: ${ctx.cell.allowedRoles.join(', ')})`, '.requested_role');

  const authority = authorityOf(view, requester, ctx);
  const permit = checkManifestPermits(authority.manifest, `/provision/${role}`, `holon.${requester}.children`, now);
  checkStrictNarrowing(authority.manifest, req.requested_capabilities);
  const childCount = view.countActiveChildren(requester);
  if (childCount >= permit.grant.caps.max_children) {
    throw new ProvisionError('budget', `the requester already has ${childCount} children (max_children ${permit.grant.caps.max_children})`, '.requested_capabilities');
  }
  const epochStart = Math.floor(now / PROVISION_EPOCH_MS) * PROVISION_EPOCH_MS;
  const placed = view.countPlacedSince(requester, epochStart);
  if (placed >= permit.grant.caps.rate_per_epoch) {
    throw new ProvisionError('quota', `the requester already placed ${placed} provisions this epoch (rate_per_epoch ${permit.grant.caps.rate_per_epoch}, epoch ${PROVISION_EPOCH_MS / 60_000} min)`, '.requested_capabilities');
  }
  // A holon's budget is carved out of its parent's; the principal's units share the fleet capital, when set.
  if (authority.budget === null && ctx.fleetCapitalCents !== undefined) {
    const committed = view.activeChildren(requester).reduce((sum, c) => sum + c.budget.cost_usd_cents, 0);
    if (committed + req.resource_budget.cost_usd_cents > ctx.fleetCapitalCents) {
      throw new ProvisionError('budget', `${req.resource_budget.cost_usd_cents} cents on top of the ${committed} the principal's units hold is above the fleet capital (${ctx.fleetCapitalCents})`, '.resource_budget.cost_usd_cents');
    }
  }
  checkBudget(req.resource_budget, authority.budget, authority.budget === null ? [] : view.activeChildren(requester), permit.grant.caps);

  const unitName = unitNameFor(digest, req.tenant);
  if (req.tenant !== undefined) {
    const busy = view.activeByUnit(unitName);
    if (busy !== undefined) throw new ProvisionError('tenant-busy', `tenant ${req.tenant} already has unit ${unitName} (request ${busy.requestDigest})`, '.tenant');
  }
  const machine = placeUnit(req, template, view.enrolled(), (m) => view.usageOn(m), ctx.overcommit);
  return { role: template.role, template, unitName, machine };
}
