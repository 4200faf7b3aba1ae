/**
 * One valid, deterministic sample of every V1 wire object, built from fixed
 * test seeds (sample-keys.ts; test data only). Sealed samples are really
 * sealed and verify; the TPM quote (sample-tpm-quote.ts) is a genuine quote
 * the orchestrator's verifier accepts. The fuzz test checks that every V1
 * registry object has a sample here and no sample lacks an object.
 */
import { sha256 } from '../../../bus-schemas/digest.js';
import type { Signer } from '../../../bus-schemas/keys.js';
import { CapabilityManifestV1, type CapabilityManifestV1 as Manifest } from '../../../bus-schemas/v1/capability-manifest.js';
import { CellCertificateV1 } from '../../../bus-schemas/v1/cell-certificate.js';
import { DelegationV1 } from '../../../bus-schemas/v1/delegation.js';
import { HolonCertificateV1 } from '../../../bus-schemas/v1/holon-certificate.js';
import { JurisdictionAttestationV1 } from '../../../bus-schemas/v1/jurisdiction-attestation.js';
import { LedgerEntryV1 } from '../../../bus-schemas/v1/ledger-entry.js';
import { MachineAttestationV1 } from '../../../bus-schemas/v1/machine-attestation.js';
import type { NetworkAddressV1 } from '../../../bus-schemas/v1/network-address.js';
import type { PlatformReportV1 } from '../../../bus-schemas/v1/platform-report.js';
import { PolicyV1 } from '../../../bus-schemas/v1/policy.js';
import { ProvisioningReceiptV1 } from '../../../bus-schemas/v1/provisioning-receipt.js';
import { ProvisioningRequestV1 } from '../../../bus-schemas/v1/provisioning-request.js';
import { ReceiptMultiProofV1 } from '../../../bus-schemas/v1/receipt-multiproof.js';
import { RefusalV1 } from '../../../bus-schemas/v1/refusal.js';
import type { ResourceBudgetV1 } from '../../../bus-schemas/v1/resource-budget.js';
import type { ResourceCapacityV1 } from '../../../bus-schemas/v1/resource-capacity.js';
import { ResourceMeteringEventV1 } from '../../../bus-schemas/v1/resource-metering-event.js';
import { ResourceMeteringBatchV1 } from '../../../bus-schemas/v1/metering-batch.js';
import { BudgetTopupV1 } from '../../../bus-schemas/v1/budget-topup.js';
import { TeardownReceiptV1 } from '../../../bus-schemas/v1/teardown-receipt.js';
import { TeardownRequestV1 } from '../../../bus-schemas/v1/teardown-request.js';
import { timeAt } from '../../../bus-schemas/v1/time-envelope.js';
import type { SealedWireType } from '../../../bus-schemas/wire.js';
import { b64, cellId, DAY, hex, holonId, HOUR, keyId, SIGNERS, T0, testBytes, text } from './sample-keys.js';
import { AGENT_NONCE, ORCHESTRATOR_NONCE, tpmQuote } from './sample-tpm-quote.js';

export { cellId, holonId, keyId, SIGNERS, T0, testBytes } from './sample-keys.js';
import {
  bootstrapAttest,
  bootstrapChallenge,
  bootstrapHello,
  bootstrapStatus,
  bootstrapStatusRequest,
  heartbeat,
  machineApproval,
  machineList,
  machineListRequest,
} from './bootstrap-samples.js';
import {
  agentCommand,
  holonList,
  holonListRequest,
  provisionStatus,
  provisionStatusRequest,
  unitDestructionReceipt,
  unitReport,
  unitReportReply,
} from './flow-samples.js';
import { jobCommand, jobRequest, jobResult } from './job-samples.js';
export { ACTIVATED_SECRET, AGENT_NONCE, ORCHESTRATOR_NONCE, PCR_INDICES, PCR_VALUES, tpmQuote } from './sample-tpm-quote.js';

// --- machine facts -------------------------------------------------------------------------------

export function networkAddress(): NetworkAddressV1 {
  return { kind: 'ipv6', address: '2001:db8::1', port: 4222, interface: 'eth0' };
}

export function platformReport(): PlatformReportV1 {
  return {
    os_family: 'linux',
    os_release: 'Debian GNU/Linux 12 (bookworm)',
    kernel: '6.1.0-21-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1',
    arch: 'amd64',
    hostname: 'build-01.example.net',
    cpu_model: 'AMD EPYC 7443P 24-Core Processor',
    virtualization: 'none',
    tpm: { present: true, version: '2.0' },
    installed_tools: [
      { name: 'nats-server', version: '2.9.11' },
      { name: 'tpm2-tools', version: '5.4' },
    ],
    labels: [
      { key: 'holonet.io/disk', value: 'nvme' },
      { key: 'zone', value: 'fsn1' },
    ],
  };
}

export function resourceCapacity(): ResourceCapacityV1 {
  return {
    cpu_cores: 48,
    cpu_millis: 44_000,
    memory_bytes: 128 * 2 ** 30,
    storage_bytes: 2 * 10 ** 12,
    gpu_count: 0,
    network_bandwidth_bps: 10 ** 9,
    max_units: 64,
  };
}

export function jurisdictionAttestation(): JurisdictionAttestationV1 {
  return JurisdictionAttestationV1.seal(
    {
      provider_key: keyId(SIGNERS.provider),
      machine_id: keyId(SIGNERS.machine),
      jurisdiction: 'DE',
      site: 'fsn1-dc14',
      location: { lat: 50.4779, lon: 12.3713 },
      not_before: T0 - DAY,
      not_after: T0 + 30 * DAY,
      landmark_rtts: [{ landmark_holon: holonId(SIGNERS.landmark), rtt_ms: 4.25 }],
    },
    SIGNERS.provider,
  );
}

export function machineAttestation(): MachineAttestationV1 {
  return MachineAttestationV1.seal(
    {
      machine_id: keyId(SIGNERS.machine),
      platform_report: platformReport(),
      tpm_quote: tpmQuote(),
      jurisdiction_attestation: jurisdictionAttestation(),
      network_addresses: [{ kind: 'ipv4', address: '192.0.2.10' }, networkAddress(), { kind: 'dns', address: 'build-01.example.net', port: 22 }],
      resource_capacity: resourceCapacity(),
      agent_nonce: b64(AGENT_NONCE),
      orchestrator_nonce: b64(ORCHESTRATOR_NONCE),
      attested_at: timeAt(T0, 'NTP'),
    },
    SIGNERS.machine,
  );
}

// --- capabilities, budgets, delegation -----------------------------------------------------------

export function capabilityManifest(): Manifest {
  return {
    grants: [
      {
        action: '/provision/BUILD_WORKER',
        resource: 'holon.*.build.>',
        caps: {
          max_children: 4,
          max_depth: 2,
          rate_per_epoch: 100,
          cpu_seconds: 36_000,
          gpu_seconds: 0,
          storage_bytes: 50 * 10 ** 9,
          egress_bytes: 10 ** 10,
          cost_usd_cents: 2_000,
        },
        not_before: T0,
        not_after: T0 + 7 * DAY,
      },
    ],
  };
}

export function resourceBudget(): ResourceBudgetV1 {
  return {
    compute_cpu_seconds: 3_600,
    compute_gpu_seconds: 0,
    storage_bytes: 10 ** 10,
    network_egress_bytes: 10 ** 9,
    cost_usd_cents: 500,
    valid_until: timeAt(T0 + 7 * DAY),
    on_exhaustion: 'TEARDOWN',
  };
}

export function delegation(): DelegationV1 {
  return DelegationV1.seal(
    {
      parent: null,
      issuer: keyId(SIGNERS.principal),
      subject: keyId(SIGNERS.requester),
      manifest: capabilityManifest(),
      issued_at: timeAt(T0),
    },
    SIGNERS.principal,
  );
}

// --- provisioning --------------------------------------------------------------------------------

export function provisioningRequest(): ProvisioningRequestV1 {
  return ProvisioningRequestV1.seal(
    {
      requesting_holon: holonId(SIGNERS.requester),
      machine_attestation: machineAttestation(),
      requested_role: 'BUILD_WORKER',
      requested_capabilities: capabilityManifest(),
      resource_budget: resourceBudget(),
      tenant: 'acme-ci',
      constraints: {
        os: ['linux', 'freebsd'],
        arch: ['amd64', 'arm64'],
        labels: [{ key: 'zone', value: 'fsn1' }],
        jurisdictions: ['DE', 'EU'],
      },
      request_nonce: b64(testBytes('request-nonce').subarray(0, 16)),
      created_at: timeAt(T0),
      expires_at: T0 + HOUR,
      delegation_chain: [DelegationV1.digest(delegation())],
    },
    SIGNERS.requester,
  );
}

export function holonCertificate(): HolonCertificateV1 {
  return HolonCertificateV1.seal(
    {
      holon_id: holonId(SIGNERS.child),
      role: 'BUILD_WORKER',
      cell_id: cellId(SIGNERS.cell),
      parent_holon: holonId(SIGNERS.requester),
      capability_manifest_digest: CapabilityManifestV1.digest(capabilityManifest()),
      delegation_digest: DelegationV1.digest(delegation()),
      not_before: T0,
      not_after: T0 + 7 * DAY,
      serial: 42,
    },
    SIGNERS.cell,
  );
}

export function cellCertificate(): CellCertificateV1 {
  return CellCertificateV1.seal(
    {
      cell_id: cellId(SIGNERS.cell),
      name: 'eu-central-1',
      principal_key: keyId(SIGNERS.principal),
      not_before: T0 - DAY,
      not_after: T0 + 365 * DAY,
      allowed_roles: ['BUILD_WORKER', 'PENTEST_SANDBOX', 'HOST'],
    },
    SIGNERS.principal,
  );
}

export function policy(): PolicyV1 {
  return PolicyV1.seal(
    {
      serial: 3,
      principal_key: keyId(SIGNERS.principal),
      issued_at: T0 - HOUR,
      tpm: 'optional',
      tpm_required_roles: ['PENTEST_SANDBOX', 'HOST'],
      pcr_golden: [
        {
          machine_class: 'r650-bios-2.19',
          bank: 'sha256',
          pcrs: [
            { index: 0, digest: hex(testBytes('pcr0')) },
            { index: 7, digest: hex(testBytes('pcr7')) },
          ],
        },
      ],
      preapproved_eks: [{ ek_sha256: hex(sha256(text.encode('ek-1'))), machine_class: 'r650-bios-2.19' }],
      denied_jurisdictions: ['KP'],
      admission_difficulty: 16,
      nonce_lifetime_ms: 60_000,
    },
    SIGNERS.principal,
  );
}

export function provisioningReceipt(): ProvisioningReceiptV1 {
  return ProvisioningReceiptV1.seal(
    {
      request_digest: ProvisioningRequestV1.digest(provisioningRequest()),
      assigned_holon_id: holonId(SIGNERS.child),
      assigned_cell_id: cellId(SIGNERS.cell),
      issued_certificate: holonCertificate(),
      capability_manifest: capabilityManifest(),
      resource_budget: resourceBudget(),
      parent_holon: holonId(SIGNERS.requester),
      provisioned_at: timeAt(T0 + 60_000),
    },
    SIGNERS.cell,
  );
}

export function resourceMeteringEvent(): ResourceMeteringEventV1 {
  const budget = resourceBudget();
  return ResourceMeteringEventV1.seal(
    {
      holon_id: holonId(SIGNERS.child),
      machine_id: keyId(SIGNERS.machine),
      sequence: 17,
      epoch: timeAt(T0 + 10 * 60_000),
      consumed: { ...budget, compute_cpu_seconds: 600, storage_bytes: 10 ** 8, network_egress_bytes: 5 * 10 ** 6, cost_usd_cents: 12 },
      remaining: { ...budget, compute_cpu_seconds: 3_000, storage_bytes: 99 * 10 ** 8, network_egress_bytes: 995 * 10 ** 6, cost_usd_cents: 488 },
    },
    SIGNERS.machine,
  );
}

export function resourceMeteringBatch(): ResourceMeteringBatchV1 {
  const unit = { cpu_usec: 1_250_000, gpu_ms: 0, egress_bytes: 4096, ingress_bytes: 1024, storage_bytes: 65_536, memory_bytes: 3 << 20, memory_peak_bytes: 5 << 20, pids: 2, oom_kills: 0 };
  return ResourceMeteringBatchV1.seal(
    {
      machine_id: keyId(SIGNERS.machine),
      sequence: 42,
      sampled_at: timeAt(T0 + 10 * 60_000),
      interval_ms: 1000,
      samples: [
        { holon_id: holonId(SIGNERS.child), unit_name: 'u-0123456789ab', ...unit, gpu_note: 'no GPU is assigned to Linux units' },
        { holon_id: holonId(SIGNERS.requester), unit_name: 'u-ba9876543210', ...unit, cpu_usec: 7 },
      ],
    },
    SIGNERS.machine,
  );
}

export function budgetTopup(): BudgetTopupV1 {
  return BudgetTopupV1.seal(
    {
      cell_id: cellId(SIGNERS.cell),
      holon_id: holonId(SIGNERS.child),
      add: { compute_cpu_seconds: 60, compute_gpu_seconds: 0, storage_bytes: 0, network_egress_bytes: 2 ** 20, cost_usd_cents: 5 },
      valid_until: timeAt(T0 + 3 * 3_600_000),
      request_nonce: 'AAECAwQFBgcICQoLDA0ODw',
      sent_at: timeAt(T0 + 11 * 60_000),
    },
    SIGNERS.principal,
  );
}

// --- teardown ------------------------------------------------------------------------------------

export function teardownRequest(): TeardownRequestV1 {
  return TeardownRequestV1.seal(
    {
      holon_id: holonId(SIGNERS.child),
      reason: 'BUDGET_EXHAUSTED',
      evidence_replication_target: cellId(SIGNERS.witness),
      request_nonce: b64(testBytes('teardown-nonce').subarray(0, 16)),
      requested_at: timeAt(T0 + DAY),
    },
    SIGNERS.cell,
  );
}

/** RFC 6962 hashes, written out here so the sample does not depend on the Merkle module it tests. */
const leafHashOf = (data: string): Uint8Array => sha256(Uint8Array.of(0), text.encode(data));
const nodeHashOf = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(1), l, r);
export const EVIDENCE_ENTRIES = ['entry-0', 'entry-1', 'entry-2'];

/** Leaves 0 and 1 of a 3-leaf log: the single sibling needed is leaf 2. */
export function receiptMultiProof(): ReceiptMultiProofV1 {
  const [h0, h1, h2] = EVIDENCE_ENTRIES.map(leafHashOf) as [Uint8Array, Uint8Array, Uint8Array];
  return ReceiptMultiProofV1.seal(
    {
      witness_cell: cellId(SIGNERS.witness),
      log_id: 'evidence:eu-central-2',
      tree_size: 3,
      root_hash: hex(nodeHashOf(nodeHashOf(h0, h1), h2)),
      leaf_indices: [0, 1],
      proof_hashes: [hex(h2)],
      proved_at: timeAt(T0 + DAY + 5_000),
    },
    SIGNERS.witness,
  );
}

export function teardownReceipt(): TeardownReceiptV1 {
  return TeardownReceiptV1.seal(
    {
      holon_id: holonId(SIGNERS.child),
      request_digest: TeardownRequestV1.digest(teardownRequest()),
      cell_id: cellId(SIGNERS.cell),
      evidence_replicated: true,
      evidence_digest: `sha256:${hex(testBytes('evidence-set'))}`,
      resources_released: resourceBudget(),
      torn_down_at: timeAt(T0 + DAY + 9_000),
      replication_proof: receiptMultiProof(),
    },
    SIGNERS.cell,
  );
}

// --- ledger and refusals -------------------------------------------------------------------------

export function ledgerEntry(): LedgerEntryV1 {
  return LedgerEntryV1.seal(
    {
      owner: holonId(SIGNERS.child),
      seq: 2,
      prev: `sha256:${hex(testBytes('previous-entry'))}`,
      kind: 'PROVISION_AUTHORIZED',
      body: { request: ProvisioningRequestV1.digest(provisioningRequest()), placed_on: keyId(SIGNERS.machine), tries: 1 },
      at: timeAt(T0 + 30_000),
    },
    SIGNERS.cell,
  );
}

export function refusal(): RefusalV1 {
  return RefusalV1.seal(
    {
      code: 'HOLON_E_MALFORMED',
      message: '$.resource_budget.storage_bytes: expected integer, got string',
      path: '$.resource_budget.storage_bytes',
      reason: 'expected integer, got string',
      request_digest: `sha256:${hex(testBytes('refused-request'))}`,
      refused_at: timeAt(T0 + 1_000),
    },
    SIGNERS.cell,
  );
}

/** One sample builder per V1 wire object name. */
export const SAMPLES: Record<string, () => unknown> = {
  NetworkAddressV1: networkAddress,
  PlatformReportV1: platformReport,
  ResourceCapacityV1: resourceCapacity,
  TpmQuoteV1: tpmQuote,
  JurisdictionAttestationV1: jurisdictionAttestation,
  MachineAttestationV1: machineAttestation,
  CapabilityManifestV1: capabilityManifest,
  ResourceBudgetV1: resourceBudget,
  DelegationV1: delegation,
  ProvisioningRequestV1: provisioningRequest,
  HolonCertificateV1: holonCertificate,
  CellCertificateV1: cellCertificate,
  PolicyV1: policy,
  ProvisioningReceiptV1: provisioningReceipt,
  ResourceMeteringEventV1: resourceMeteringEvent,
  ResourceMeteringBatchV1: resourceMeteringBatch,
  BudgetTopupV1: budgetTopup,
  TeardownRequestV1: teardownRequest,
  ReceiptMultiProofV1: receiptMultiProof,
  TeardownReceiptV1: teardownReceipt,
  LedgerEntryV1: ledgerEntry,
  RefusalV1: refusal,
  BootstrapHelloV1: bootstrapHello,
  BootstrapChallengeV1: bootstrapChallenge,
  BootstrapAttestV1: bootstrapAttest,
  BootstrapStatusRequestV1: bootstrapStatusRequest,
  BootstrapStatusV1: bootstrapStatus,
  MachineApprovalV1: machineApproval,
  HeartbeatV1: heartbeat,
  MachineListRequestV1: machineListRequest,
  MachineListV1: machineList,
  AgentCommandV1: agentCommand,
  UnitReportV1: unitReport,
  UnitDestructionReceiptV1: unitDestructionReceipt,
  UnitReportReplyV1: unitReportReply,
  JobRequestV1: jobRequest,
  JobCommandV1: jobCommand,
  JobResultV1: jobResult,
  ProvisionStatusRequestV1: provisionStatusRequest,
  ProvisionStatusV1: provisionStatus,
  HolonListRequestV1: holonListRequest,
  HolonListV1: holonList,
};

/** `value` with its seal replaced by a fresh one from `signer` (to build validly sealed variants). */
export function resealed<T, F extends keyof T & string>(w: SealedWireType<T, F>, value: T, signer: Signer): T {
  const { [w.sealField]: _old, ...body } = value;
  return w.seal(body, signer);
}
