/**
 * The probes over faithful fakes: a FreeBSD 14.1 bhyve guest with Bastille
 * (only verified this way — no FreeBSD host is available here) and a
 * Debian bare-metal host with a TPM and a GPU.
 */
import t from 'tap';
import { createProbeManager, STANDARD_BIN_DIRS } from '../../adapters/probes/index.js';
import { PlatformReportV1 } from '../../bus-schemas/v1/platform-report.js';
import { ResourceCapacityV1 } from '../../bus-schemas/v1/resource-capacity.js';
import { addr, fakeHost } from './fake-host.js';
import { freebsdSpec, linuxSpec } from './freebsd-host.js';

const searchPath = [...STANDARD_BIN_DIRS];

void t.test('FreeBSD-shaped facts: family freebsd, FreeBSD release and tools, ZFS dataset of the data dir', async (t) => {
  const source = fakeHost(freebsdSpec());
  const result = await createProbeManager({ dataDir: '/var/db/holonet', searchPath, labels: { zone: 'fra-1' } }, { source }).run();
  t.same(result.report, {
    os_family: 'freebsd',
    os_release: '14.1-RELEASE-p5',
    kernel: 'FreeBSD 14.1-RELEASE-p3 GENERIC',
    arch: 'amd64',
    hostname: 'bsd01.example.net',
    cpu_model: 'Intel Xeon® E-2236',
    virtualization: 'bhyve',
    tpm: { present: true, version: '2.0' },
    installed_tools: [
      { name: 'bastille', version: '0.12.20240715' },
      { name: 'jls', version: '14.1-RELEASE-p3' },
      { name: 'nats-server', version: '2.10.18' },
      { name: 'rctl', version: '14.1-RELEASE-p3' },
      { name: 'tpm2-tools', version: '5.7' },
      { name: 'zfs', version: '2.2.4-FreeBSD_g256659204' },
    ],
    labels: [{ key: 'zone', value: 'fra-1' }],
  });
  t.same(result.capacity, {
    cpu_cores: 12,
    cpu_millis: 12_000,
    memory_bytes: 34_243_846_144,
    storage_bytes: 877_000_000_000, // zroot/var, not the look-alike /var/db/holo
    gpu_count: 2, // NVIDIA (vendor=) and Intel (chip=), not the ASPEED BMC
    network_bandwidth_bps: 10_000_000_000,
    max_units: 96,
  });
  t.equal(result.facts.data_mount, '/var');
  t.equal(result.facts.cpu_speed_mhz, 3400);
  t.same(result.addresses, [
    { kind: 'ipv4', address: '10.17.89.1', interface: 'bastille0' },
    { kind: 'ipv4', address: '203.0.113.10', interface: 'vtnet0' },
    { kind: 'ipv6', address: '2001:db8::10', interface: 'vtnet0' },
  ]);
  t.same(result.interfaces, ['bastille0', 'vtnet0']);
  t.same(result.warnings, []);
  t.same(PlatformReportV1.parse(result.report), result.report, 'the report parses as a wire object');
  t.same(ResourceCapacityV1.parse(result.capacity), result.capacity);
  t.notOk(source.calls.includes('si.graphics'), 'no systeminformation graphics on FreeBSD (it resolves null there)');
  t.notOk(source.calls.some((c) => c.startsWith('which systemd-detect-virt')), 'no Linux tools looked up for FreeBSD facts');
});

void t.test('FreeBSD: a jailed agent reports jail; the 1.2 driver node reports TPM 1.2; no tools → none listed', async (t) => {
  const spec = freebsdSpec();
  spec.commands['/sbin/sysctl -n security.jail.jailed kern.vm_guest'] = addr.ok('1\nnone\n');
  spec.files = { '/dev/tpm': '' };
  spec.executables = spec.executables.filter((e) => e === '/sbin/sysctl' || e === '/bin/freebsd-version');
  const result = await createProbeManager({ dataDir: '/var/db/holonet', searchPath }, { source: fakeHost(spec) }).run();
  t.equal(result.report.virtualization, 'jail');
  t.same(result.report.tpm, { present: true, version: '1.2' });
  t.same(result.report.installed_tools, []);
  t.equal(result.capacity.network_bandwidth_bps, 0);
  t.match(result.warnings, [{ probe: 'bandwidth', reason: /no link speed known for bastille0, vtnet0/ }, { probe: 'gpu', reason: 'pciconf not found', defaulted: ['gpu_count'] }]);
});

void t.test('FreeBSD: kern.vm_guest values map onto the report list', async (t) => {
  const cases: [string, string][] = [['none', 'none'], ['hv', 'hyperv'], ['vbox', 'virtualbox'], ['kvm', 'kvm'], ['generic', 'other'], ['nvmm', 'other']];
  for (const [guest, expected] of cases) {
    const spec = freebsdSpec();
    spec.commands['/sbin/sysctl -n security.jail.jailed kern.vm_guest'] = addr.ok(`0\n${guest}\n`);
    const result = await createProbeManager({ dataDir: '/var/db/holonet', searchPath }, { source: fakeHost(spec) }).run();
    t.equal(result.report.virtualization, expected, `kern.vm_guest=${guest}`);
  }
});

void t.test('Linux bare metal: TPM 2.0, GPU behind a BMC, symlinked data dir, link speed', async (t) => {
  const source = fakeHost(linuxSpec());
  const result = await createProbeManager({ dataDir: '/var/lib/holonet', searchPath }, { source }).run();
  t.match(result.report, {
    os_family: 'linux',
    os_release: 'Debian GNU/Linux 12 (bookworm)',
    kernel: '6.1.0-21-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03)',
    arch: 'amd64',
    cpu_model: 'AMD EPYC 7543 32-Core Processor',
    virtualization: 'none',
    tpm: { present: true, version: '2.0' },
  });
  t.same(result.report.installed_tools.map((x) => `${x.name} ${x.version}`), ['ip 6.1.0', 'nsenter 2.38.1', 'unshare 2.38.1']);
  t.equal(result.facts.data_mount, '/srv', 'the symlink /var/lib/holonet → /srv/holonet is measured on /srv');
  t.equal(result.capacity.storage_bytes, 7_000_000_000_000);
  t.equal(result.capacity.gpu_count, 1);
  t.equal(result.capacity.network_bandwidth_bps, 25_000_000_000);
  t.equal(result.capacity.max_units, 512);
  t.same(result.addresses, [{ kind: 'ipv4', address: '198.51.100.7', interface: 'eno1' }]);
  t.same(result.warnings, []);
  t.notOk(source.calls.includes('si.system'), 'systemd-detect-virt answered; si.system() not called');
  t.equal(source.calls.filter((c) => c === 'si.osInfo').length, 1, 'osInfo read once');
});

void t.test('a data dir on a filesystem df does not list (tmpfs) is measured with statfs, not as "/"', async (t) => {
  const spec = linuxSpec();
  spec.dirs.push('/run/holonet');
  spec.hiddenMounts = { '/run': { dev: 40, available: 1_600_000_000 } };
  const source = fakeHost(spec);
  const result = await createProbeManager({ dataDir: '/run/holonet/data', searchPath }, { source }).run();
  t.equal(result.capacity.storage_bytes, 1_600_000_000);
  t.equal(result.facts.data_mount, undefined);
  t.match(result.warnings, [{ probe: 'disks', reason: /^the filesystem holding \/run\/holonet is not listed by df/, defaulted: [] }]);
  t.ok(source.calls.includes('statfs /run/holonet'));
});

void t.test('Linux TPM: raw /dev/tpm0 without the version file is 1.2; version_major decides when present', async (t) => {
  const spec = linuxSpec();
  spec.files = { '/dev/tpm0': '' };
  let result = await createProbeManager({ dataDir: '/srv/holonet', searchPath }, { source: fakeHost(spec) }).run();
  t.same(result.report.tpm, { present: true, version: '1.2' });
  spec.files = { '/dev/tpm0': '', '/sys/class/tpm/tpm0/tpm_version_major': '2\n' };
  result = await createProbeManager({ dataDir: '/srv/holonet', searchPath }, { source: fakeHost(spec) }).run();
  t.same(result.report.tpm, { present: true, version: '2.0' });
  spec.files = {};
  result = await createProbeManager({ dataDir: '/srv/holonet', searchPath }, { source: fakeHost(spec) }).run();
  t.same(result.report.tpm, { present: false, version: null });
});

void t.test('Linux without systemd-detect-virt falls back to si.system()', async (t) => {
  const spec = linuxSpec();
  spec.executables = spec.executables.filter((e) => !e.endsWith('systemd-detect-virt'));
  spec.system = { manufacturer: 'QEMU', model: 'Standard PC (Q35 + ICH9, 2009)', virtual: true, virtualHost: 'KVM' };
  const result = await createProbeManager({ dataDir: '/srv/holonet', searchPath }, { source: fakeHost(spec) }).run();
  t.equal(result.report.virtualization, 'kvm');
});

void t.test('networkBandwidthBps and reserves from config shape the capacity', async (t) => {
  const source = fakeHost(linuxSpec());
  const result = await createProbeManager(
    {
      dataDir: '/srv/holonet',
      searchPath,
      networkBandwidthBps: 1_000_000_000,
      maxUnits: 20,
      reserve: { cpuMillis: 4000, memoryBytes: 8_000_000_000, storageBytes: 1_000_000_000_000 },
    },
    { source },
  ).run();
  t.same(result.capacity, {
    cpu_cores: 64,
    cpu_millis: 60_000,
    memory_bytes: 262_000_000_000,
    storage_bytes: 6_000_000_000_000,
    gpu_count: 1,
    network_bandwidth_bps: 1_000_000_000,
    max_units: 20,
  });
  t.notOk(source.calls.some((c) => c.includes('/speed')), 'a configured bandwidth reads no link speed');
});
