/**
 * Deterministic samples of the provisioning-flow wire objects (unit-flow.ts),
 * for the registry-wide fuzz and schema tests. They tell one story: the
 * requester's sample ProvisioningRequestV1 (tenant acme-ci) is placed on the
 * sample machine as unit `acme-ci`, the child holon comes up, and the sample
 * TeardownRequestV1 later destroys it.
 */
import { proveHolonKey } from '../../../bus-schemas/v1/holon-key-proof.js';
import { ProvisioningRequestV1 } from '../../../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../../../bus-schemas/v1/teardown-request.js';
import { timeAt } from '../../../bus-schemas/v1/time-envelope.js';
import {
  AgentCommandV1,
  HolonListRequestV1,
  HolonListV1,
  ProvisionStatusRequestV1,
  ProvisionStatusV1,
  UnitDestructionReceiptV1,
  UnitReportReplyV1,
  UnitReportV1,
  type HolonRowV1,
} from '../../../bus-schemas/v1/unit-flow.js';
import { b64, cellId, DAY, hex, holonId, keyId, SIGNERS, T0, testBytes, text } from './sample-keys.js';
import { provisioningReceipt, provisioningRequest, resourceBudget, teardownRequest } from './samples.js';

const cell = cellId(SIGNERS.cell);
const machine = keyId(SIGNERS.machine);
const UNIT = 'acme-ci';
/** A fixed NATS user public nkey for the child holon (test data; its seed was discarded). */
const CHILD_NATS_USER_KEY = 'UDWUAYHEWO3CQKFRY345LROJKTVKB2ZNBV2KZAKAQZMII7ZU6KQKMQW4';
/** A user JWT in shape only (three base64url parts); the signature part is test bytes, not a signature. */
const CHILD_NATS_USER_JWT = [
  b64(text.encode(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))),
  b64(text.encode(JSON.stringify({ sub: CHILD_NATS_USER_KEY, name: UNIT, iat: T0 / 1000 }))),
  b64(testBytes('child-jwt-signature')),
].join('.');

const provisionDigest = () => ProvisioningRequestV1.digest(provisioningRequest());
const teardownDigest = () => TeardownRequestV1.digest(teardownRequest());

export function agentCommand(): AgentCommandV1 {
  return AgentCommandV1.seal(
    {
      op: 'provision',
      request_digest: provisionDigest(),
      cell_id: cell,
      machine_id: machine,
      unit_name: UNIT,
      role: 'BUILD_WORKER',
      limits: { cpu_millicores: 2_000, memory_bytes: 2 * 2 ** 30, pids: 512 },
      network: 'egress',
      tenant: 'acme-ci',
      issued_at: timeAt(T0 + 30_000),
    },
    SIGNERS.cell,
  );
}

export function unitReport(): UnitReportV1 {
  return UnitReportV1.seal(
    {
      event: 'PROVISIONED',
      request_digest: provisionDigest(),
      machine_id: machine,
      unit_name: UNIT,
      holon_id: holonId(SIGNERS.child),
      nats_user_key: CHILD_NATS_USER_KEY,
      holon_key_proof: proveHolonKey(provisionDigest(), holonId(SIGNERS.child), SIGNERS.child),
      adapter: 'linux',
      at: timeAt(T0 + 45_000, 'NTP'),
    },
    SIGNERS.machine,
  );
}

export function unitReportReply(): UnitReportReplyV1 {
  return UnitReportReplyV1.seal(
    {
      request_digest: provisionDigest(),
      cell_id: cell,
      receipt: provisioningReceipt(),
      nats_user_jwt: CHILD_NATS_USER_JWT,
      at: timeAt(T0 + 60_000),
    },
    SIGNERS.cell,
  );
}

export function unitDestructionReceipt(): UnitDestructionReceiptV1 {
  return UnitDestructionReceiptV1.seal(
    {
      holon_id: holonId(SIGNERS.child),
      request_digest: teardownDigest(),
      cell_id: cell,
      machine_id: machine,
      unit_name: UNIT,
      evidence_head: `sha256:${hex(testBytes('evidence-head'))}`,
      evidence_replicated: false,
      resources_released: resourceBudget(),
      destroyed_at: timeAt(T0 + DAY + 9_000),
    },
    SIGNERS.cell,
  );
}

/** The sample provisioning after its basic teardown: both receipts are on record. */
function destroyedRow(): HolonRowV1 {
  return {
    request_digest: provisionDigest(),
    state: 'DESTROYED',
    role: 'BUILD_WORKER',
    requester: holonId(SIGNERS.requester),
    machine_id: machine,
    unit_name: UNIT,
    tenant: 'acme-ci',
    holon_id: holonId(SIGNERS.child),
    since: T0 + DAY + 9_000,
  };
}

/** A provisioning the cell refused before placing it: no machine, unit or holon. */
function refusedRow(): HolonRowV1 {
  return {
    request_digest: `sha256:${hex(testBytes('refused-provisioning'))}`,
    state: 'REFUSED',
    role: 'PENTEST_SANDBOX',
    requester: holonId(SIGNERS.requester),
    machine_id: null,
    unit_name: null,
    tenant: null,
    holon_id: null,
    since: T0 + 2_000,
    refusal: { code: 'HOLON_E_NO_PLACEMENT', reason: 'no enrolled machine has 2 GiB of memory free' },
  };
}

export function provisionStatus(): ProvisionStatusV1 {
  return ProvisionStatusV1.seal(
    {
      cell_id: cell,
      holon: destroyedRow(),
      receipt: provisioningReceipt(),
      destruction: unitDestructionReceipt(),
      at: timeAt(T0 + DAY + 10_000),
    },
    SIGNERS.cell,
  );
}

export function provisionStatusRequest(): ProvisionStatusRequestV1 {
  return ProvisionStatusRequestV1.seal(
    {
      cell_id: cell,
      request_digest: provisionDigest(),
      request_nonce: b64(testBytes('provision-status-nonce')),
      sent_at: timeAt(T0 + DAY + 10_000),
    },
    SIGNERS.requester,
  );
}

export function holonListRequest(): HolonListRequestV1 {
  return HolonListRequestV1.seal(
    {
      cell_id: cell,
      after: `sha256:${hex(testBytes('previous-page-last'))}`,
      limit: 100,
      include_destroyed: true,
      request_nonce: b64(testBytes('holon-list-nonce')),
      sent_at: timeAt(T0 + DAY + 11_000),
    },
    SIGNERS.requester,
  );
}

export function holonList(): HolonListV1 {
  return HolonListV1.seal(
    {
      cell_id: cell,
      holons: [destroyedRow(), refusedRow()],
      more: false,
      at: timeAt(T0 + DAY + 11_000),
    },
    SIGNERS.cell,
  );
}
