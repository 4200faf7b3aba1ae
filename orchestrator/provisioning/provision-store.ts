/**
 * The provisioning projection port (adapters/sqlite/provision-store.ts
 * implements it). One record per request digest — the idempotency key of
 * everything (DESIGN §5) — plus a write-ahead outbox of what must reach the
 * bus after the step is persisted: ledger entries and agent commands.
 * `commit` is one transaction; a crash leaves a step fully done or not at all.
 */
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import type { ProvisioningReceiptV1 } from '../../bus-schemas/v1/provisioning-receipt.js';
import type { ExhaustionPolicy } from '../../bus-schemas/v1/exhaustion-policy.js';
import type { ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import type { AgentCommandV1, ProvisionState, UnitDestructionReceiptV1 } from '../../bus-schemas/v1/unit-flow.js';

export interface ProvisionRecord {
  requestDigest: CasDigest;
  state: ProvisionState;
  since: number;
  /** when the request was authorized and placed (rate_per_epoch counts these) */
  placedAt: number;
  role: string;
  requester: HolonIdV1;
  /** the requester's request nonce: a replay with a changed body reuses it */
  nonce: string;
  machineId: PublicKeyIdV1 | null;
  unitName: string | null;
  tenant: string | null;
  holonId: HolonIdV1 | null;
  /** the memory limit the unit reserves on its machine (0 until placed) */
  memoryBytes: number;
  /** the budget the request asked for (carved out of the requester's) */
  budget: ResourceBudgetV1;
  /** the capability manifest the request asked for */
  manifest: CapabilityManifestV1;
  /** once RUNNING */
  receipt: ProvisioningReceiptV1 | null;
  /** the holon's NATS user JWT (public), once RUNNING */
  natsJwt: string | null;
  teardown: { requestDigest: CasDigest; reason: string; requester: string } | null;
  /** once DESTROYED */
  destruction: UnitDestructionReceiptV1 | null;
  refusal: { code: string; reason: string } | null;
  /** once a budget ran out (BUDGET_EXHAUSTED); absent in records written before metering */
  exhaustion?: Exhaustion | null;
  /** the BudgetTopupV1 digests applied to `budget` (each once) */
  topups?: CasDigest[];
}

export interface Exhaustion {
  /** the cell's teardown (TEARDOWN), the freeze command (FREEZE) or the notice (NOTIFY) */
  actionDigest: CasDigest;
  policy: ExhaustionPolicy;
  exhausted: string[];
  at: number;
  consumed: ResourceBudgetV1;
  overshoot: ResourceBudgetV1;
}

/**
 * Something to publish after the step is persisted: a prepared ledger entry
 * (opaque text, owned by the ledger port) or an agent command.
 */
export type ProvisionOutboxEntry = { id: string; kind: 'ledger'; text: string } | { id: string; kind: 'command'; command: AgentCommandV1 };

export interface ProvisionStep {
  record: ProvisionRecord;
  outbox?: ProvisionOutboxEntry[];
}

export interface ProvisionStore {
  get(requestDigest: CasDigest): ProvisionRecord | undefined;
  byHolon(holonId: HolonIdV1): ProvisionRecord | undefined;
  byNonce(requester: HolonIdV1, nonce: string): ProvisionRecord | undefined;
  /** Ordered by request digest; `after` exclusive. */
  list(opts: { after?: string; limit: number; requester?: HolonIdV1; includeDestroyed: boolean }): ProvisionRecord[];
  /** Units placed on `machineId` and not yet destroyed, and the memory their limits reserve (one indexed query). */
  usageOn(machineId: PublicKeyIdV1): { units: number; memoryBytes: number };
  /** Records in one of `states` (recovery at start). */
  inStates(states: readonly ProvisionState[]): ProvisionRecord[];
  /** Children of `requester` not yet destroyed (budget carve-out). */
  activeChildren(requester: HolonIdV1): ProvisionRecord[];
  /** How many children of `requester` are not yet destroyed (one indexed count). */
  countActiveChildren(requester: HolonIdV1): number;
  /** How many provisionings `requester` had placed since `since` (rate_per_epoch). */
  countPlacedSince(requester: HolonIdV1, since: number): number;
  /** The provisioning that holds unit name `unitName` and is not destroyed, if any. */
  activeByUnit(unitName: string): ProvisionRecord | undefined;
  commit(step: ProvisionStep): void;
  pendingOutbox(): ProvisionOutboxEntry[];
  removeOutbox(id: string): void;
  count(): number;
  /** Forget everything (before a rebuild from the ledger). */
  clear(): void;
  /** What the projection knows about itself (e.g. the ledger position it reflects). */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}
