/**
 * The V1 wire objects: the allow-list of public names. Each wire object's
 * value (parse/decode/encode/digest/seal/verify/jsonSchema) and its type share
 * one name. V1 is frozen once released; V2 goes beside it.
 */
export { BootstrapAttestV1 } from './bootstrap-attest.js';
export { BootstrapChallengeV1 } from './bootstrap-challenge.js';
export { BootstrapHelloV1 } from './bootstrap-hello.js';
export { BootstrapStatusRequestV1 } from './bootstrap-status-request.js';
export { BootstrapStatusV1, MACHINE_STATES, type MachineState } from './bootstrap-status.js';
export { MachineApprovalV1 } from './machine-approval.js';
export { MachineListRequestV1, MachineListV1, REGISTRY_STATES, type MachineRowV1 } from './machine-list.js';
export { PolicyV1 } from './policy.js';
export { CapabilityManifestV1, type CapabilityGrantV1, type CapabilityCapsV1, CAP_FIELDS } from './capability-manifest.js';
export { CasDigestSchema } from './cas-digest.js';
export { CellCertificateV1 } from './cell-certificate.js';
export { DelegationV1, delegate, verifyLink, MAX_CHAIN_LINKS } from './delegation.js';
export { EXHAUSTION_POLICIES, type ExhaustionPolicy } from './exhaustion-policy.js';
export { HeartbeatV1 } from './heartbeat.js';
export { HolonCertificateV1, sameKey } from './holon-certificate.js';
export { HOLON_ROLES, type HolonRole } from './holon-role.js';
export { JurisdictionAttestationV1 } from './jurisdiction-attestation.js';
export { LedgerEntryV1 } from './ledger-entry.js';
export { MachineAttestationV1 } from './machine-attestation.js';
export { NetworkAddressV1 } from './network-address.js';
export { PlatformReportV1, OS_FAMILIES, ARCHITECTURES, type OsFamily, type Architecture } from './platform-report.js';
export { ProvisioningReceiptV1 } from './provisioning-receipt.js';
export { ProvisioningRequestV1, type PlacementConstraintsV1, MAX_REQUEST_LIFETIME_MS } from './provisioning-request.js';
export { type Quantity } from './quantity.js';
export { ReceiptMultiProofV1 } from './receipt-multiproof.js';
export { RefusalV1, RefusedError, sealRefusal, INTERNAL_ERROR_CODE } from './refusal.js';
export { V1_OBJECTS, findV1Object, isSealedWireType, type AnyWireType } from './registry.js';
export { ResourceBudgetV1, BUDGET_QUANTITIES, type BudgetQuantity } from './resource-budget.js';
export { ResourceCapacityV1 } from './resource-capacity.js';
export { ResourceMeteringEventV1 } from './resource-metering-event.js';
export { BudgetTopupV1 } from './budget-topup.js';
export { MAX_BATCH_UNITS, ResourceMeteringBatchV1, type UnitMeterSampleV1 } from './metering-batch.js';
export { TEARDOWN_REASONS, type TeardownReason } from './teardown-reason.js';
export { TeardownReceiptV1 } from './teardown-receipt.js';
export { TeardownRequestV1 } from './teardown-request.js';
export { timeAt, type TimeEnvelopeRef, MAX_UNIX_MS } from './time-envelope.js';
export { TpmQuoteV1, type PcrSelectionV1 } from './tpm-quote.js';
export {
  AgentCommandV1,
  HolonListRequestV1,
  HolonListV1,
  ProvisionStatusRequestV1,
  ProvisionStatusV1,
  UnitDestructionReceiptV1,
  UnitReportReplyV1,
  UnitReportV1,
  PROVISION_STATES,
  MAX_HOLONS_PER_PAGE,
  type ProvisionState,
  type HolonRowV1,
  type UnitLimitsV1,
} from './unit-flow.js';
export { EMPTY_SHA256, JobCommandV1, JobIdSchema, jobIdOf, JobRequestV1, JobResultV1, MAX_JOB_TIMEOUT_MS, Sha256HexSchema } from './job.js';
