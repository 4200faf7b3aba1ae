/**
 * Placement over in-memory machine records: each constraint the request can
 * carry, the capacity a machine offers (scaled by overcommit), the choice
 * among fits, and the refusal that says why no machine fits.
 */
import t from 'tap';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import { roleTemplate, type RoleTemplate } from '../../bus-schemas/units/roles.js';
import type { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import type { MachineRecord } from '../../orchestrator/machine-registry.js';
import { placeUnit } from '../../orchestrator/provisioning/placement.js';
import { refuses } from '../helpers/refuses.js';

const GiB = 2 ** 30;
const template = roleTemplate('GENERAL_COMPUTE') as RoleTemplate;

function machine(over: Partial<NonNullable<MachineRecord['placement']>> = {}, state: MachineRecord['state'] = 'ENROLLED'): MachineRecord {
  return {
    machineId: encodeId('key', generateEd25519().publicKey),
    state,
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
    placement: { os_family: 'linux', arch: 'amd64', labels: [], tools: [], capacity: { cpu_cores: 4, cpu_millis: 4000, memory_bytes: 8 * GiB, storage_bytes: 2 ** 40, gpu_count: 0, network_bandwidth_bps: 1e9, max_units: 10 }, ...over },
  };
}

const req = (constraints: ProvisioningRequestV1['constraints'], target?: PublicKeyIdV1): ProvisioningRequestV1 =>
  ({ constraints, ...(target !== undefined ? { machine_attestation: { machine_id: target } } : {}) }) as unknown as ProvisioningRequestV1;
const idle = (): { units: number; memoryBytes: number } => ({ units: 0, memoryBytes: 0 });

void t.test('constraints: os, arch, labels, tools, target machine', async (t) => {
  const lin = machine();
  const arm = machine({ arch: 'arm64', labels: [{ key: 'site', value: 'fsn1' }] });
  const bsd = machine({ os_family: 'freebsd', tools: ['bastille'] });
  const bsdNoTool = machine({ os_family: 'freebsd' });
  const all = [lin, arm, bsd, bsdNoTool, machine({}, 'ATTESTED')];
  t.equal(placeUnit(req({ os: ['freebsd'] }), template, all, idle).machineId, bsd.machineId, 'freebsd: only the one with bastille installed');
  t.equal(placeUnit(req({ arch: ['arm64'] }), template, all, idle).machineId, arm.machineId, 'arch');
  t.equal(placeUnit(req({ labels: [{ key: 'site', value: 'fsn1' }] }), template, all, idle).machineId, arm.machineId, 'label');
  t.equal(placeUnit(req({}, lin.machineId), template, all, idle).machineId, lin.machineId, 'a named machine');
  refuses(t, () => placeUnit(req({ os: ['freebsd'], arch: ['arm64'] }), template, all, idle), { code: 'HOLON_E_NO_PLACEMENT', path: '.constraints', message: /no enrolled machine fits: 2× os linux not in freebsd; 2× arch amd64 not in arm64/ });
  refuses(t, () => placeUnit(req({ os: ['freebsd'] }), template, [bsdNoTool], idle), { code: 'HOLON_E_NO_PLACEMENT', message: /1× tool bastille not installed/ }, 'the adapter\'s tool missing');
  refuses(t, () => placeUnit(req({ jurisdictions: ['DE'] }), template, all, idle), { code: 'HOLON_E_NO_PLACEMENT', message: /no attested jurisdiction/ });
});

void t.test('capacity: units and memory, scaled by overcommit; the emptiest machine wins', async (t) => {
  const a = machine();
  const b = machine();
  const usage = new Map([[a.machineId, { units: 1, memoryBytes: 6 * GiB }], [b.machineId, { units: 0, memoryBytes: 0 }]]);
  const on = (m: PublicKeyIdV1): { units: number; memoryBytes: number } => usage.get(m) ?? idle();
  t.equal(placeUnit(req({}), template, [a, b], on).machineId, b.machineId, 'the one with more memory left');
  usage.set(b.machineId, { units: 10, memoryBytes: 0 });
  const left = 8 * GiB - 6 * GiB;
  if (left >= template.limits.memoryBytes) t.equal(placeUnit(req({}), template, [a, b], on).machineId, a.machineId, 'b is full by units');
  usage.set(a.machineId, { units: 1, memoryBytes: 8 * GiB });
  const none = refuses(t, () => placeUnit(req({}), template, [a, b], on), { code: 'HOLON_E_NO_PLACEMENT' });
  t.match(none?.message, /memory: 0 bytes left/, 'a: no memory left');
  t.match(none?.message, /full \(10 of 10 units\)/, 'b: no unit left');
  t.equal(placeUnit(req({}), template, [a, b], on, 2).machineId, b.machineId, 'overcommit 2: twice the memory and units on offer, and b has the most left');
});
