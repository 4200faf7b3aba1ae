/**
 * The provisioning service with in-memory ports (no bus, no SQLite), as the
 * core tests use it: a cell, one enrolled machine, a fake ledger that keeps
 * what was committed in order, and the commands the agents would get.
 */
import { pino } from 'pino';
import { ManualClock } from '../../bus-schemas/clock.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { convertId, encodeId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import type { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { proveHolonKey } from '../../bus-schemas/v1/holon-key-proof.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { AgentCommandV1, UnitReportV1, type ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { CellMaterial } from '../../orchestrator/cell-material.js';
import type { MachineRecord } from '../../orchestrator/machine-registry.js';
import { ProvisioningService } from '../../orchestrator/provisioning/provisioning-service.js';
import { makeAuthority } from '../bootstrap/fixtures.js';
import { MemoryProvisionStore } from './memory-provision-store.js';
import { machineRecord } from './machine-fixture.js';

export const HOUR = 3_600_000;
export const T0 = 1_800_000_000_000;
export const clock = new ManualClock(T0);
export const auth = makeAuthority(clock.now());
export const principal = auth.principal;
export const cellId = encodeId('cell', auth.cell.publicKey);
export const machine = signerFromSeed(generateEd25519().seed);
export const machineId = encodeId('key', machine.publicKey);
/** `policy` holds what the provisioning service reads of it (the fleet capital; a test may set it). */
export const cell = { signer: auth.cell, cellId, cellKey: convertId(cellId, 'key'), certificate: auth.certificate, principalKey: encodeId('key', principal.publicKey), policy: {} } as unknown as CellMaterial;

export const enrolled: MachineRecord = machineRecord({ machineId, placement: { capacity: { cpu_cores: 8, cpu_millis: 8000, memory_bytes: 64 * 2 ** 30, storage_bytes: 2 ** 40, gpu_count: 0, network_bandwidth_bps: 1e9, max_units: 100 } } });

/** What the service wrote to the ledger, in order (the fake ledger "publishes" on commit). */
export const ledger: { owner: HolonIdV1; kind: string; body: JsonValue; at: number }[] = [];
const prepared = new Map<string, { owner: HolonIdV1; kind: string; body: JsonValue; at: number }>();
export const commands: AgentCommandV1[] = [];
/** the NOTIFY budget notices the service handed out, to whom */
export const notices: { parent: HolonIdV1; status: ProvisionStatusV1 }[] = [];
let serial = 0;
export const store = new MemoryProvisionStore();
export const service = new ProvisioningService({
  store,
  machines: { get: () => enrolled, enrolled: () => [enrolled] },
  ledger: {
    async prepare(owner, kind, body, at) {
      const id = `e${prepared.size}`;
      prepared.set(id, { owner, kind, body: structuredClone(body), at });
      return { id, text: id };
    },
    async commit(text) {
      const e = prepared.get(text);
      if (e !== undefined && !ledger.includes(e)) ledger.push(e);
    },
  },
  queue: { ensure: async () => undefined, publish: async (_m, _id, bytes) => void commands.push(AgentCommandV1.decode(bytes)) },
  mintHolonUser: async (holon) => `eyJhbGciOiJlZDI1NTE5In0.${Buffer.from(holon).toString('base64url')}.c2ln`,
  allocateSerial: () => ++serial,
  notify: (parent, status) => void notices.push({ parent, status }),
  usageOf: () => undefined, // no metering here: usage comes from the ledger's exhaustion alone
  cell,
  clock,
  logger: pino({ level: 'silent' }),
});

export function manifest(over: Partial<CapabilityManifestV1['grants'][number]['caps']> = {}, depth = 3): CapabilityManifestV1 {
  return { grants: [{ action: '/', resource: '>', caps: { max_children: 4, max_depth: depth, rate_per_epoch: 100, cpu_seconds: 600, gpu_seconds: 0, storage_bytes: 2 ** 30, egress_bytes: 2 ** 28, cost_usd_cents: 50, ...over }, not_before: T0 - 60_000, not_after: T0 + 2 * HOUR }] };
}

export function request(by: Signer, fields: Partial<ProvisioningRequestV1> = {}): ProvisioningRequestV1 {
  const now = clock.now();
  return ProvisioningRequestV1.seal(
    {
      requesting_holon: encodeId('holon', by.publicKey),
      requested_role: 'GENERAL_COMPUTE',
      requested_capabilities: manifest(),
      resource_budget: { compute_cpu_seconds: 600, compute_gpu_seconds: 0, storage_bytes: 2 ** 30, network_egress_bytes: 2 ** 28, cost_usd_cents: 50, valid_until: timeAt(now + 2 * HOUR), on_exhaustion: 'TEARDOWN' },
      constraints: { os: ['linux'] },
      request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'),
      created_at: timeAt(now),
      expires_at: now + HOUR,
      delegation_chain: [],
      ...fields,
    },
    by,
  );
}

export function report(digest: CasDigest, unit: string, holon: Signer, prover: Signer = holon, event: 'PROVISIONED' | 'DESTROYED' = 'PROVISIONED'): UnitReportV1 {
  const holonId = encodeId('holon', holon.publicKey);
  return UnitReportV1.seal(
    {
      event,
      request_digest: digest,
      machine_id: machineId,
      unit_name: unit,
      holon_id: holonId,
      ...(event === 'PROVISIONED' ? { nats_user_key: 'U' + 'A'.repeat(55), holon_key_proof: proveHolonKey(digest, holonId, prover) } : {}),
      adapter: 'noop',
      at: timeAt(clock.now()),
    },
    machine,
  );
}
export const subject = `holon.${convertId(machineId, 'holon')}.unit`;
