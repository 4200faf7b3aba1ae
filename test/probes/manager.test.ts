/**
 * ProbeManager behaviour: degraded non-essential probes, fatal essential
 * ones, typed errors naming the probe and field, label passthrough, config
 * validation, and results that do not depend on timing or input order.
 */
import t from 'tap';
import {
  createDefaultProbes,
  createProbeManager,
  diskProbe,
  gpuProbe,
  ProbeError,
  ProbeManager,
  STANDARD_BIN_DIRS,
  type Probe,
} from '../../adapters/probes/index.js';
import { refuses, refusesAsync } from '../helpers/refuses.js';
import { fakeHost, hangingCommand } from './fake-host.js';
import { freebsdSpec, linuxSpec } from './freebsd-host.js';

const searchPath = [...STANDARD_BIN_DIRS];
const config = { dataDir: '/var/db/holonet', searchPath };

/** The default probes with one replaced. */
function withProbe(replacement: Probe): Probe[] {
  return createDefaultProbes().map((p) => (p.name === replacement.name ? replacement : p));
}

void t.test('a throwing non-essential probe degrades to its default with a warning', async (t) => {
  const broken: Probe = { ...gpuProbe, run: () => Promise.reject(new Error('lspci exploded')) };
  const result = await createProbeManager(config, { source: fakeHost(freebsdSpec()), probes: withProbe(broken) }).run();
  t.equal(result.capacity.gpu_count, 0);
  t.same(result.warnings, [{ probe: 'gpu', reason: 'lspci exploded', timed_out: false, defaulted: ['gpu_count'] }]);
  t.equal(result.report.os_family, 'freebsd', 'everything else still reported');
});

void t.test('a probe that throws synchronously is caught too', async (t) => {
  const broken: Probe = {
    ...gpuProbe,
    run: () => {
      throw new TypeError('cannot read properties of undefined');
    },
  };
  const result = await createProbeManager(config, { source: fakeHost(freebsdSpec()), probes: withProbe(broken) }).run();
  t.match(result.warnings, [{ probe: 'gpu', reason: 'cannot read properties of undefined' }]);
});

void t.test('a hanging non-essential probe times out: default, warning, its command aborted', async (t) => {
  const spec = freebsdSpec();
  const seen = { aborted: false };
  spec.commands['/usr/sbin/pciconf -l'] = hangingCommand(seen);
  const started = performance.now();
  const result = await createProbeManager({ ...config, timeoutMs: 150 }, { source: fakeHost(spec) }).run();
  const ms = performance.now() - started;
  t.ok(ms < 1500, `returned after ${Math.round(ms)} ms, not stuck on the hung probe`);
  t.equal(result.capacity.gpu_count, 0);
  t.same(result.warnings, [{ probe: 'gpu', reason: 'timed out after 150 ms', timed_out: true, defaulted: ['gpu_count'] }]);
  t.ok(seen.aborted, 'the hung command saw the abort signal (execFile kills the child on it)');
});

void t.test('a disk probe stuck in si.fsSize (dead NFS mount) times out; storage 0', async (t) => {
  const source = fakeHost(linuxSpec(), { fsSize: () => new Promise(() => undefined) });
  const slowDisk: Probe = { ...diskProbe, timeoutMs: 100 };
  const result = await createProbeManager({ dataDir: '/srv/holonet', searchPath }, { source, probes: withProbe(slowDisk) }).run();
  t.equal(result.capacity.storage_bytes, 0);
  t.match(result.warnings, [{ probe: 'disks', timed_out: true, defaulted: ['storage_bytes'] }]);
});

void t.test('a non-essential probe returning a bad fact is refused by field and degraded', async (t) => {
  const lying: Probe = { ...gpuProbe, run: () => Promise.resolve({ gpu_count: -1 }) };
  const result = await createProbeManager(config, { source: fakeHost(freebsdSpec()), probes: withProbe(lying) }).run();
  t.equal(result.capacity.gpu_count, 0);
  t.same(result.warnings, [{ probe: 'gpu', reason: '$.gpu_count: integer below minimum 0', timed_out: false, defaulted: ['gpu_count'] }]);
  const unknownFact: Probe = { ...gpuProbe, run: () => Promise.resolve({ gpus: 3 } as never) };
  const r2 = await createProbeManager(config, { source: fakeHost(freebsdSpec()), probes: withProbe(unknownFact) }).run();
  t.match(r2.warnings, [{ probe: 'gpu', reason: '$.gpus: unknown field' }]);
});

void t.test('essential probe failures are fatal typed errors: probes(<name>): …', async (t) => {
  const osDown = fakeHost(freebsdSpec(), { osInfo: () => Promise.reject(new Error('sysctl: unknown oid')) });
  await refusesAsync(t, () => createProbeManager(config, { source: osDown }).run(), {
    code: 'HOLON_E_PROBE_FAILED',
    probe: 'os',
    message: 'probes(os): sysctl: unknown oid',
    timedOut: false,
  });

  const noCores = freebsdSpec();
  noCores.cpu.cores = 0;
  const e = await refusesAsync(t, () => createProbeManager(config, { source: fakeHost(noCores) }).run(), {
    code: 'HOLON_E_PROBE_FAILED',
    probe: 'cpu',
    field: '$.cpu_cores',
  });
  t.equal(e?.message, 'probes(cpu): systeminformation reported 0 logical cores');

  const badHost = freebsdSpec();
  badHost.osInfo.hostname = 'build_box';
  await refusesAsync(t, () => createProbeManager(config, { source: fakeHost(badHost) }).run(), {
    code: 'HOLON_E_PROBE_FAILED',
    message: 'probes(os): $.hostname: expected an RFC 1123 host name',
    field: '$.hostname',
  });

  const mips = freebsdSpec();
  mips.machine = 'mips64';
  await refusesAsync(t, () => createProbeManager(config, { source: fakeHost(mips) }).run(), {
    message: /^probes\(os\): architecture "mips64" is not one of amd64, arm64/,
    field: '$.arch',
  });

  const hungMemory = fakeHost(freebsdSpec(), { mem: () => new Promise(() => undefined) });
  await refusesAsync(t, () => createProbeManager({ ...config, timeoutMs: 100 }, { source: hungMemory }).run(), {
    code: 'HOLON_E_PROBE_FAILED',
    message: 'probes(memory): timed out after 100 ms',
    timedOut: true,
  });
  t.type(e, ProbeError);
});

void t.test('a configuration that leaves nothing to offer is a typed config error', async (t) => {
  await refusesAsync(t, () => createProbeManager({ ...config, reserve: { cpuMillis: 12_000 } }, { source: fakeHost(freebsdSpec()) }).run(), {
    code: 'HOLON_E_PROBE_CONFIG',
    message: 'probes(config): reserve.cpuMillis (12000) leaves no CPU to offer (the host has 12000)',
    field: '$.cpu_millis',
  });
});

void t.test('a report field refused by PlatformReportV1 names the probe that supplied it', async (t) => {
  // A custom probe set whose os probe passes its own facts check but a duplicate tool slips into the list.
  const dupTools: Probe = {
    name: 'tools',
    essential: false,
    defaults: { installed_tools: [] },
    run: () => Promise.resolve({ installed_tools: [{ name: 'zfs', version: '2' }, { name: 'zfs', version: '2' }] }),
  };
  const result = await createProbeManager(config, { source: fakeHost(freebsdSpec()), probes: withProbe(dupTools) }).run();
  t.match(result.warnings, [{ probe: 'tools', reason: '$.installed_tools[1]: duplicate tool name "zfs"' }]);
  const noOs = createDefaultProbes().filter((p) => p.name !== 'os');
  await refusesAsync(t, () => createProbeManager(config, { source: fakeHost(freebsdSpec()), probes: noOs }).run(), {
    code: 'HOLON_E_PROBE_REPORT',
    message: 'probes(report): no probe reported os_family',
  });
});

void t.test('labels pass through, sorted by key; bad labels are refused at construction', async (t) => {
  const labels = { zone: 'fra-1', 'holonet.io/disk': 'nvme', rack: 'r12', empty: '' };
  const result = await createProbeManager({ ...config, labels }, { source: fakeHost(freebsdSpec()) }).run();
  t.same(result.report.labels, [
    { key: 'empty', value: '' },
    { key: 'holonet.io/disk', value: 'nvme' },
    { key: 'rack', value: 'r12' },
    { key: 'zone', value: 'fra-1' },
  ]);
  refuses(t, () => createProbeManager({ ...config, labels: { Zone: 'x' } }, { source: fakeHost(freebsdSpec()) }), {
    code: 'HOLON_E_PROBE_CONFIG',
    message: 'probes(config): labels.Zone.key: expected a label key like zone or holonet.io/disk',
    field: 'labels.Zone',
  });
  refuses(t, () => createProbeManager({ ...config, labels: { zone: 'a\nb' } }, { source: fakeHost(freebsdSpec()) }), {
    message: 'probes(config): labels.zone.value: expected printable text without control characters',
  });
});

void t.test('options are validated once, naming the option', async (t) => {
  const source = fakeHost(freebsdSpec());
  const cases: [Record<string, unknown>, string][] = [
    [{ dataDir: 'data' }, 'probes(config): dataDir: expected an absolute path, got "data"'],
    [{ ...config, timeoutMs: 0 }, 'probes(config): timeoutMs: expected an integer from 1 to 600000, got 0'],
    [{ ...config, maxUnits: 1.5 }, 'probes(config): maxUnits: expected an integer from 0 to 100000, got 1.5'],
    [{ ...config, reserve: { memoryBytes: -1 } }, `probes(config): reserve.memoryBytes: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got -1`],
    [{ ...config, searchPath: ['bin'] }, 'probes(config): searchPath[0]: expected an absolute directory, got "bin"'],
    [{ ...config, hostname: 'a..b' }, 'probes(config): hostname: DNS label "" is not 1–63 letters, digits or inner hyphens'],
    [{ ...config, tools: [{ name: 'Bastille', executable: 'bastille', version: [] }] }, /^probes\(config\): tools\[0\]\.name: expected a lowercase tool name/],
    [{ ...config, tools: [{ name: 'zfs', executable: 'zfs', version: [] }, { name: 'zfs', executable: 'zpool', version: [] }] }, 'probes(config): tools[1].name: expected a name not listed before, got "zfs"'],
    [{ ...config, tools: [{ name: 'sh', executable: '/bin/sh', version: [] }] }, 'probes(config): tools[0].executable: expected a bare executable name, got "/bin/sh"'],
  ] as never;
  for (const [options, message] of cases) {
    refuses(t, () => createProbeManager(options as never, { source }), { code: 'HOLON_E_PROBE_CONFIG', message });
  }
  refuses(t, () => new ProbeManager({ config, source, probes: [gpuProbe, gpuProbe] }), {
    message: 'probes(config): probes[1].name: "gpu" is listed twice',
  });
});

void t.test('results are stable: same facts in any order and any timing give the same result', async (t) => {
  const base = await createProbeManager(config, { source: fakeHost(freebsdSpec()) }).run();
  for (let round = 0; round < 5; round++) {
    const spec = freebsdSpec();
    // interfaces and df rows in another order
    spec.interfaces = Object.fromEntries(Object.entries(spec.interfaces).reverse().map(([k, v]) => [k, [...v].reverse()]));
    spec.fsSize = [...spec.fsSize].reverse().filter((r) => r.mount !== '/var').concat(spec.fsSize.filter((r) => r.mount === '/var'));
    const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // probes finish in a random order
    const jitter = <T>(p: Promise<T>): Promise<T> => delay(Math.floor(Math.random() * 20)).then(() => p);
    const source = fakeHost(spec);
    const slow = fakeHost(spec, {
      osInfo: () => jitter(source.osInfo()),
      cpu: () => jitter(source.cpu()),
      mem: () => jitter(source.mem()),
      fsSize: () => jitter(source.fsSize()),
    });
    const result = await createProbeManager(config, { source: slow }).run();
    t.same({ ...result, durations: [] }, { ...base, durations: [] }, `round ${round}`);
  }
  t.same(
    base.durations.map((d) => d.probe),
    ['os', 'cpu', 'memory', 'disks', 'network', 'bandwidth', 'virtualization', 'tpm', 'tools', 'gpu'],
  );
});

void t.test('results do not share state with probe defaults', async (t) => {
  const broken: Probe = { ...gpuProbe, run: () => Promise.reject(new Error('x')) };
  const m = createProbeManager(config, { source: fakeHost(freebsdSpec(), { interfaceAddresses: () => { throw new Error('getifaddrs failed'); } }), probes: withProbe(broken) });
  const first = await m.run();
  t.same(first.addresses, []);
  first.addresses.push({ kind: 'ipv4', address: '192.0.2.1' });
  const second = await m.run();
  t.same(second.addresses, [], 'mutating one result does not leak into the next');
});
