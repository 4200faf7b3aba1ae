/** Deterministic samples of the bootstrap wire objects, for the registry-wide fuzz and schema tests. */
import { solveHashcash } from '../../../bus-schemas/admission/hashcash.js';
import { BootstrapAttestV1 } from '../../../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../../../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../../../bus-schemas/v1/bootstrap-hello.js';
import { BootstrapStatusRequestV1 } from '../../../bus-schemas/v1/bootstrap-status-request.js';
import { BootstrapStatusV1 } from '../../../bus-schemas/v1/bootstrap-status.js';
import { MachineApprovalV1 } from '../../../bus-schemas/v1/machine-approval.js';
import { HeartbeatV1 } from '../../../bus-schemas/v1/heartbeat.js';
import { MachineListRequestV1, MachineListV1 } from '../../../bus-schemas/v1/machine-list.js';
import { HolonCertificateV1 } from '../../../bus-schemas/v1/holon-certificate.js';
import { convertId } from '../../../bus-schemas/ids.js';
import { b64, cellId, DAY, keyId, SIGNERS, T0, testBytes } from './sample-keys.js';
import { AGENT_NONCE, ORCHESTRATOR_NONCE, tpmQuote } from './sample-tpm-quote.js';
import { cellCertificate, networkAddress, platformReport, resourceCapacity } from './samples.js';

const machine = keyId(SIGNERS.machine);

export function bootstrapHello(): BootstrapHelloV1 {
  const q = tpmQuote();
  return BootstrapHelloV1.seal(
    {
      machine_id: machine,
      agent_nonce: b64(AGENT_NONCE),
      nats_user_key: 'UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4',
      tpm: { ek_public: q.ek_public as string, ak_public: q.ak_public },
      platform_report: platformReport(),
      resource_capacity: resourceCapacity(),
      isolation: { os_family: 'linux', tools: ['ip', 'nsenter', 'unshare'], unit_roles: ['BUILD_WORKER', 'PENTEST_SANDBOX', 'GENERAL_COMPUTE'] },
      network_addresses: [networkAddress()],
      admission: solveHashcash(machine, 12, 6),
      sent_at: { unix_ms: T0, source: 'SYSTEM' },
    },
    SIGNERS.machine,
  );
}

export function bootstrapChallenge(): BootstrapChallengeV1 {
  return BootstrapChallengeV1.seal(
    {
      cell_certificate: cellCertificate(),
      machine_id: machine,
      agent_nonce: b64(AGENT_NONCE),
      cell_nonce: b64(ORCHESTRATOR_NONCE),
      credential: { id_object: b64(testBytes('id-object')), encrypted_secret: b64(testBytes('encrypted-secret')) },
      pcr_selection: { bank: 'sha256', pcrs: [0, 1, 7] },
      expires_at: T0 + 60_000,
    },
    SIGNERS.cell,
  );
}

export function bootstrapAttest(): BootstrapAttestV1 {
  return BootstrapAttestV1.seal(
    {
      machine_id: machine,
      agent_nonce: b64(AGENT_NONCE),
      cell_nonce: b64(ORCHESTRATOR_NONCE),
      tpm_quote: tpmQuote(),
      sent_at: { unix_ms: T0 + 1000, source: 'SYSTEM' },
    },
    SIGNERS.machine,
  );
}

export function bootstrapStatus(): BootstrapStatusV1 {
  const certificate = HolonCertificateV1.seal(
    {
      holon_id: convertId(machine, 'holon'),
      role: 'HOST',
      cell_id: cellId(SIGNERS.cell),
      parent_holon: null,
      capability_manifest_digest: `sha256:${'ab'.repeat(32)}`,
      delegation_digest: `sha256:${'cd'.repeat(32)}`,
      not_before: T0,
      not_after: T0 + 30 * DAY,
      serial: 1,
    },
    SIGNERS.cell,
  );
  return BootstrapStatusV1.seal(
    {
      machine_id: machine,
      cell_id: cellId(SIGNERS.cell),
      state: 'ENROLLED',
      software_only: false,
      holon_certificate: certificate,
      nats_user_jwt: 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl',
      at: { unix_ms: T0 + 2000, source: 'SYSTEM' },
    },
    SIGNERS.cell,
  );
}

export function bootstrapStatusRequest(): BootstrapStatusRequestV1 {
  return BootstrapStatusRequestV1.seal(
    { machine_id: machine, request_nonce: b64(testBytes('status-nonce')), sent_at: { unix_ms: T0 + 3000, source: 'SYSTEM' } },
    SIGNERS.machine,
  );
}

export function machineApproval(): MachineApprovalV1 {
  return MachineApprovalV1.seal(
    {
      machine_id: machine,
      cell_id: cellId(SIGNERS.cell),
      machine_class: 'build',
      approval_nonce: b64(testBytes('approval-nonce')),
      approved_at: T0,
      expires_at: T0 + DAY,
    },
    SIGNERS.principal,
  );
}

export function heartbeat(): HeartbeatV1 {
  return HeartbeatV1.seal(
    {
      holon_id: convertId(machine, 'holon'),
      machine_id: machine,
      seq: 3,
      started_at: { unix_ms: T0, source: 'SYSTEM' },
      sent_at: { unix_ms: T0 + 30_000, source: 'SYSTEM' },
    },
    SIGNERS.machine,
  );
}

export function machineListRequest(): MachineListRequestV1 {
  return MachineListRequestV1.seal(
    { cell_id: cellId(SIGNERS.cell), limit: 100, request_nonce: b64(testBytes('list-nonce')), sent_at: { unix_ms: T0, source: 'SYSTEM' } },
    SIGNERS.principal,
  );
}

export function machineList(): MachineListV1 {
  return MachineListV1.seal(
    {
      cell_id: cellId(SIGNERS.cell),
      machines: [
        {
          machine_id: machine,
          state: 'ENROLLED',
          software_only: false,
          ek_hash: `sha256:${'ef'.repeat(32)}`,
          ek_trusted_by: 'certificate',
          approval: { source: 'principal', machine_class: 'build', expires_at: T0 + DAY },
          certificate_serial: 1,
          since: T0,
        },
        {
          machine_id: keyId(SIGNERS.requester),
          state: 'REFUSED',
          software_only: true,
          refusal: { code: 'HOLON_E_BOOT_TPM_REQUIRED', reason: 'policy requires a TPM 2.0', at: T0 },
          since: T0,
        },
      ],
      more: false,
      total: 2,
      at: { unix_ms: T0 + 1, source: 'SYSTEM' },
    },
    SIGNERS.cell,
  );
}
