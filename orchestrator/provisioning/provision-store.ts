/**
 * The provisioning projection port (adapters/sqlite/provision-store.ts
 * implements it). One record per request digest — the idempotency key of
 * everything (DESIGN §5) — plus a write-ahead outbox of what must reach the
 * bus after the step is persisted: ledger entries and agent commands.
 * `commit` is one transaction; a crash leaves a step fully done or not at all.
 */
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { ProvisionState } from '../../bus-schemas/v1/unit-flow.js';

export interface ProvisionRecord {
  requestDigest: CasDigest;
  state: ProvisionState;
  since: number;
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
  /** canonical JSON of the ProvisioningRequestV1 */
  request: string;
  /** canonical JSON of the ProvisioningReceiptV1, once RUNNING */
  receipt: string | null;
  /** the holon's NATS user JWT (public), once RUNNING */
  natsJwt: string | null;
  teardown: { requestDigest: CasDigest; reason: string; requester: string } | null;
  /** canonical JSON of the UnitDestructionReceiptV1, once DESTROYED */
  destruction: string | null;
  refusal: { code: string; reason: string } | null;
}

/** Something to publish after the step is persisted; `text` is opaque to the store. */
export interface ProvisionOutboxEntry {
  id: string;
  kind: 'ledger' | 'command';
  text: string;
}

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
  /** The provisioning that holds unit name `unitName` and is not destroyed, if any. */
  activeByUnit(unitName: string): ProvisionRecord | undefined;
  commit(step: ProvisionStep): void;
  pendingOutbox(): ProvisionOutboxEntry[];
  removeOutbox(id: string): void;
  count(): number;
  close(): void;
}
