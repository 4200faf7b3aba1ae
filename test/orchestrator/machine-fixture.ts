/** A machine record as the registry holds one, for tests of placement and provisioning with in-memory ports. */
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import type { MachineRecord } from '../../orchestrator/machine-registry.js';

export const GiB = 2 ** 30;

export function machineRecord(opts: { machineId?: PublicKeyIdV1; state?: MachineRecord['state']; placement?: Partial<NonNullable<MachineRecord['placement']>> } = {}): MachineRecord {
  return {
    machineId: opts.machineId ?? encodeId('key', generateEd25519().publicKey),
    state: opts.state ?? 'ENROLLED',
    since: 0,
    updatedAt: 0,
    softwareOnly: true,
    ekHash: null,
    ekTrustedBy: null,
    natsUserKey: null,
    helloDigest: null,
    attestDigest: null,
    pcr: null,
    refusal: null,
    approval: null,
    certificate: null,
    placement: { os_family: 'linux', arch: 'amd64', labels: [], tools: [], capacity: { cpu_cores: 4, cpu_millis: 4000, memory_bytes: 8 * GiB, storage_bytes: 2 ** 40, gpu_count: 0, network_bandwidth_bps: 1e9, max_units: 10 }, ...opts.placement },
  };
}
