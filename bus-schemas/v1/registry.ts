/**
 * Every V1 wire object, in one list: the JSON Schema export
 * (tools/export-schemas.ts), the fuzz corpus and the docs all walk it, so a
 * new object is published, fuzzed and documented by being added here.
 */
import type { SealedWireType, WireType } from '../wire.js';
import { JobCommandV1, JobRequestV1, JobResultV1 } from './job.js';
import { BootstrapAttestV1 } from './bootstrap-attest.js';
import { BootstrapChallengeV1 } from './bootstrap-challenge.js';
import { BootstrapHelloV1 } from './bootstrap-hello.js';
import { BootstrapStatusRequestV1 } from './bootstrap-status-request.js';
import { BootstrapStatusV1 } from './bootstrap-status.js';
import { CapabilityManifestV1 } from './capability-manifest.js';
import { CellCertificateV1 } from './cell-certificate.js';
import { DelegationV1 } from './delegation.js';
import { HeartbeatV1 } from './heartbeat.js';
import { HolonCertificateV1 } from './holon-certificate.js';
import { JurisdictionAttestationV1 } from './jurisdiction-attestation.js';
import { LedgerEntryV1 } from './ledger-entry.js';
import { MachineApprovalV1 } from './machine-approval.js';
import { MachineListRequestV1, MachineListV1 } from './machine-list.js';
import { MachineAttestationV1 } from './machine-attestation.js';
import { NetworkAddressV1 } from './network-address.js';
import { PlatformReportV1 } from './platform-report.js';
import { PolicyV1 } from './policy.js';
import { ProvisioningReceiptV1 } from './provisioning-receipt.js';
import { ProvisioningRequestV1 } from './provisioning-request.js';
import { ReceiptMultiProofV1 } from './receipt-multiproof.js';
import { RefusalV1 } from './refusal.js';
import { ResourceBudgetV1 } from './resource-budget.js';
import { ResourceCapacityV1 } from './resource-capacity.js';
import { ResourceMeteringEventV1 } from './resource-metering-event.js';
import { ResourceMeteringBatchV1 } from './metering-batch.js';
import { BudgetTopupV1 } from './budget-topup.js';
import { TeardownReceiptV1 } from './teardown-receipt.js';
import { TeardownRequestV1 } from './teardown-request.js';
import { TpmQuoteV1 } from './tpm-quote.js';
import {
  AgentCommandV1,
  HolonListRequestV1,
  HolonListV1,
  ProvisionStatusRequestV1,
  ProvisionStatusV1,
  UnitDestructionReceiptV1,
  UnitReportReplyV1,
  UnitReportV1,
} from './unit-flow.js';

/** A wire type with its value type erased, as the registry holds it. */
export type AnyWireType = WireType<unknown>;
/** A sealed wire type with its value type erased. */
export type AnySealedWireType = SealedWireType<Record<string, unknown>, string>;

/** Every V1 wire object; names are unique. */
export const V1_OBJECTS: readonly AnyWireType[] = [
  NetworkAddressV1,
  PlatformReportV1,
  ResourceCapacityV1,
  TpmQuoteV1,
  JurisdictionAttestationV1,
  MachineAttestationV1,
  CapabilityManifestV1,
  ResourceBudgetV1,
  DelegationV1,
  ProvisioningRequestV1,
  HolonCertificateV1,
  CellCertificateV1,
  PolicyV1,
  ProvisioningReceiptV1,
  ResourceMeteringEventV1,
  ResourceMeteringBatchV1,
  BudgetTopupV1,
  TeardownRequestV1,
  ReceiptMultiProofV1,
  TeardownReceiptV1,
  LedgerEntryV1,
  RefusalV1,
  BootstrapHelloV1,
  BootstrapChallengeV1,
  BootstrapAttestV1,
  BootstrapStatusRequestV1,
  BootstrapStatusV1,
  MachineApprovalV1,
  HeartbeatV1,
  MachineListRequestV1,
  MachineListV1,
  AgentCommandV1,
  UnitReportV1,
  UnitDestructionReceiptV1,
  UnitReportReplyV1,
  ProvisionStatusRequestV1,
  ProvisionStatusV1,
  HolonListRequestV1,
  HolonListV1,
  JobRequestV1,
  JobCommandV1,
  JobResultV1,
] as AnyWireType[];

/** True for objects made with defineSealedObject (they have seal/verify). */
export function isSealedWireType(w: AnyWireType): w is AnySealedWireType & AnyWireType {
  return typeof (w as Partial<AnySealedWireType>).sealField === 'string';
}

const byName = new Map(V1_OBJECTS.map((w) => [w.name, w]));

/** The V1 wire object called `name` (e.g. `ProvisioningRequestV1`), or undefined. */
export function findV1Object(name: string): AnyWireType | undefined {
  return byName.get(name);
}
