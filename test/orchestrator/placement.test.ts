/**
 * Placement over in-memory machine records: each constraint the request can
 * carry, the capacity a machine offers (scaled by overcommit), the choice
 * among fits, and the refusal that says why no machine fits.
 */
import t from 'tap';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { roleTemplate, type RoleTemplate } from '../../bus-schemas/units/roles.js';
import { BootstrapHelloV1 } from '../../bus-schemas/v1/bootstrap-hello.js';
import type { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { PlacementFactsSchema, placementFactsOf } from '../../orchestrator/machine-events.js';
import type { MachineRecord } from '../../orchestrator/machine-registry.js';
import { placeUnit } from '../../orchestrator/provisioning/placement.js';
import { bootstrapHello } from '../bus-schemas/v1/bootstrap-samples.js';
import { SIGNERS } from '../bus-schemas/v1/sample-keys.js';
import { resealed } from '../bus-schemas/v1/samples.js';
import { refuses } from '../helpers/refuses.js';
import { GiB, machineRecord } from './machine-fixture.js';

const template = roleTemplate('GENERAL_COMPUTE') as RoleTemplate;

function machine(over: Partial<NonNullable<MachineRecord['placement']>> = {}, state: MachineRecord['state'] = 'ENROLLED'): MachineRecord {
  return machineRecord({ state, placement: over });
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

const sandbox = roleTemplate('PENTEST_SANDBOX') as RoleTemplate;
const ALL_ROLES = ['BUILD_WORKER', 'PENTEST_SANDBOX', 'SERVICE_HOST', 'RELAY', 'GENERAL_COMPUTE'] as const;

void t.test('the isolation adapter\'s own capabilities: the roles it hosts, the tools it needs', async (t) => {
  // A Bastille adapter without a VNET interface: only the role without network.
  const noVnet = machine({ os_family: 'freebsd', tools: ['bastille', 'jls', 'rctl'], isolation: { os_family: 'freebsd', tools: ['bastille', 'jls', 'rctl'], unit_roles: ['PENTEST_SANDBOX'] } });
  refuses(t, () => placeUnit(req({}), template, [noVnet], idle), { code: 'HOLON_E_NO_PLACEMENT', path: '.constraints', message: /no enrolled machine fits: 1× role GENERAL_COMPUTE not hosted$/ });
  t.equal(placeUnit(req({}), sandbox, [noVnet], idle).machineId, noVnet.machineId, 'the role it hosts');
  const lin = machine({ isolation: { os_family: 'linux', tools: [], unit_roles: [...ALL_ROLES] } });
  t.equal(placeUnit(req({}), template, [noVnet, lin], idle).machineId, lin.machineId, 'the machine whose adapter hosts the role');
  refuses(t, () => placeUnit(req({}, noVnet.machineId), template, [noVnet, lin], idle), { code: 'HOLON_E_NO_PLACEMENT', message: /cannot take it: 1× role GENERAL_COMPUTE not hosted$/ }, 'a named machine that cannot host the role');

  // The declared tools, not the table, are what must be installed.
  const bsdMissing = machine({ os_family: 'freebsd', tools: ['bastille'], isolation: { os_family: 'freebsd', tools: ['bastille', 'jls', 'rctl'], unit_roles: [...ALL_ROLES] } });
  refuses(t, () => placeUnit(req({}), template, [bsdMissing], idle), { code: 'HOLON_E_NO_PLACEMENT', message: /1× tool jls not installed/ }, 'a declared tool the probes did not find');
  const linMissing = machine({ tools: ['ip'], isolation: { os_family: 'linux', tools: ['ip', 'nsenter', 'unshare'], unit_roles: [...ALL_ROLES] } });
  refuses(t, () => placeUnit(req({}), template, [linMissing], idle), { code: 'HOLON_E_NO_PLACEMENT', message: /1× tool nsenter not installed/ }, 'the table says nothing for linux; the adapter does');
  const bsdNoop = machine({ os_family: 'freebsd', isolation: { os_family: 'freebsd', tools: [], unit_roles: [...ALL_ROLES] } });
  t.equal(placeUnit(req({ os: ['freebsd'] }), template, [bsdNoop], idle).machineId, bsdNoop.machineId, 'an adapter that needs no tool: no bastille required');

  // A machine that registered no capabilities (an older hello) falls back to the table and hosts every role.
  const old = machine({ os_family: 'freebsd', tools: ['bastille'] });
  t.equal(placeUnit(req({}), sandbox, [old], idle).machineId, old.machineId, 'no capabilities: every role');
  refuses(t, () => placeUnit(req({}), template, [machine({ os_family: 'freebsd' })], idle), { code: 'HOLON_E_NO_PLACEMENT', message: /1× tool bastille not installed/ }, 'no capabilities: the table');
});

void t.test('hello round trip: the adapter\'s capabilities reach the placement facts', async (t) => {
  const isolation = { os_family: 'linux' as const, tools: ['nats-server'], unit_roles: ['PENTEST_SANDBOX' as const] };
  const hello = BootstrapHelloV1.decode(BootstrapHelloV1.encode(resealed(BootstrapHelloV1, { ...bootstrapHello(), isolation }, SIGNERS.machine)));
  t.doesNotThrow(() => BootstrapHelloV1.verify(hello, hello.machine_id), 'sealed by the machine, the field under the seal');
  const facts = PlacementFactsSchema.parseAt(JSON.parse(JSON.stringify(placementFactsOf(hello))), '$');
  t.same(facts.isolation, isolation, 'carried into the facts the ledger records');
  const m: MachineRecord = { ...machine(), placement: facts };
  t.equal(placeUnit(req({}), sandbox, [m], idle).machineId, m.machineId);
  refuses(t, () => placeUnit(req({}), template, [m], idle), { code: 'HOLON_E_NO_PLACEMENT', message: /role GENERAL_COMPUTE not hosted/ });

  const parse = (over: Record<string, unknown>): BootstrapHelloV1 => BootstrapHelloV1.parse({ ...hello, ...over });
  refuses(t, () => parse({ isolation: { ...isolation, os_family: 'freebsd' } }), { code: 'HOLON_E_MALFORMED', path: '$.isolation.os_family', reason: 'the isolation adapter is for freebsd, the platform report says linux' });
  refuses(t, () => parse({ isolation: { ...isolation, unit_roles: ['GENERAL_COMPUTE', 'PENTEST_SANDBOX'] } }), { code: 'HOLON_E_MALFORMED', path: '$.isolation.unit_roles[1]', reason: 'roles must follow the HolonRole order' });
  refuses(t, () => parse({ isolation: { ...isolation, unit_roles: ['HOST'] } }), { code: 'HOLON_E_MALFORMED', path: '$.isolation.unit_roles[0]' }, 'HOST is not a unit role');
  refuses(t, () => parse({ isolation: { ...isolation, tools: ['rctl', 'bastille'] } }), { code: 'HOLON_E_MALFORMED', path: '$.isolation.tools[1]', reason: 'tool name out of order (must ascend)' });

  const { isolation: _none, ...plain } = bootstrapHello();
  const older = BootstrapHelloV1.decode(BootstrapHelloV1.encode(resealed(BootstrapHelloV1, plain, SIGNERS.machine)));
  t.notOk('isolation' in placementFactsOf(older), 'an older hello: no capabilities in the facts');
  t.notOk('isolation' in PlacementFactsSchema.parseAt(JSON.parse(JSON.stringify(placementFactsOf(older))), '$'), 'and facts without them still parse');
});
