/**
 * The probes on this real machine (a Debian 12 container), checked against
 * facts read independently: node:os, fs.statfsSync, /sys, and the tools
 * themselves.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { cpus, hostname, machine, networkInterfaces, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createDefaultProbes, createProbeManager, createSystemSource, DEFAULT_TOOLS, type Probe } from '../../adapters/probes/index.js';
import { PlatformReportV1 } from '../../bus-schemas/v1/platform-report.js';
import { ResourceCapacityV1 } from '../../bus-schemas/v1/resource-capacity.js';

const dataRoot = mkdtempSync(join(tmpdir(), 'holon-probes-'));
t.teardown(() => rmSync(dataRoot, { recursive: true, force: true }));
/** does not exist yet: measured at its nearest existing ancestor */
const dataDir = join(dataRoot, 'agent', 'data');
const STORAGE_SLACK = 512 * 1024 * 1024; // other engineers write to this disk while we measure

function shellWhich(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` } });
    return true;
  } catch {
    return false;
  }
}

function tmpfsAt(mount: string): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mount && l.split(' ')[2] === 'tmpfs');
}

function expectedAddresses(linkLocal: boolean): string[] {
  const out: string[] = [];
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    for (const i of infos ?? []) {
      if (i.internal) continue;
      if (!linkLocal && (i.address.startsWith('169.254.') || /^fe[89ab]/i.test(i.address))) continue;
      out.push(`${i.family === 'IPv4' ? 'ipv4' : 'ipv6'} ${i.address} ${name}`);
    }
  }
  return out.sort();
}

void t.test('this machine: report and capacity parse and match independent reads', async (t) => {
  const started = performance.now();
  const result = await createProbeManager({ dataDir, labels: { zone: 'ci' } }).run();
  const ms = performance.now() - started;
  t.comment(`probe run ${Math.round(ms)} ms: ${result.durations.map((d) => `${d.probe} ${d.ms}`).join(', ')}`);
  t.ok(ms < 5000, 'fast enough to run at every agent start');

  t.same(PlatformReportV1.decode(PlatformReportV1.encode(result.report)), result.report, 'report survives the wire');
  t.same(ResourceCapacityV1.decode(ResourceCapacityV1.encode(result.capacity)), result.capacity, 'capacity survives the wire');

  const { report, capacity } = result;
  t.equal(report.os_family, platform());
  t.equal(report.hostname, hostname());
  t.ok(report.kernel.startsWith(release()), 'kernel starts with uname -r');
  t.equal(report.arch, machine() === 'x86_64' ? 'amd64' : machine() === 'aarch64' ? 'arm64' : report.arch);
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? '';
  t.equal(report.os_release, pretty, 'os_release reads like /etc/os-release PRETTY_NAME');
  t.same(report.labels, [{ key: 'zone', value: 'ci' }]);

  t.equal(capacity.cpu_cores, cpus().length);
  t.equal(capacity.cpu_millis, cpus().length * 1000);
  t.equal(capacity.memory_bytes, totalmem());
  const fs = statfsSync(dataRoot);
  const free = fs.bavail * fs.bsize;
  t.ok(Math.abs(capacity.storage_bytes - free) < STORAGE_SLACK, `storage ${capacity.storage_bytes} ≈ statfs ${free}`);

  t.same(result.addresses.map((a) => `${a.kind} ${a.address} ${a.interface}`), expectedAddresses(false));
  t.same(result.interfaces, [...new Set(expectedAddresses(false).map((k) => k.split(' ')[2]))].sort());

  const tpmPresent = existsSync('/dev/tpmrm0') || existsSync('/dev/tpm0');
  t.equal(report.tpm.present, tpmPresent);

  const found = DEFAULT_TOOLS.filter((tool) => shellWhich(tool.executable)).map((tool) => tool.name);
  t.same(report.installed_tools.map((x) => x.name), found.sort(), 'tools: same as `command -v`');
  for (const tool of report.installed_tools) t.not(tool.version, 'unknown', `${tool.name} printed a version`);
  const ip = report.installed_tools.find((x) => x.name === 'ip');
  if (ip !== undefined) t.ok(execFileSync('ip', ['-V'], { encoding: 'utf8' }).includes(ip.version), 'ip -V prints that version');

  if (shellWhich('systemd-detect-virt')) {
    let virt = '';
    try {
      virt = execFileSync('systemd-detect-virt', { encoding: 'utf8' }).trim();
    } catch (e) {
      virt = String((e as { stdout?: string }).stdout ?? '').trim();
    }
    if (virt === 'docker' || virt === 'lxc' || virt === 'podman') t.equal(report.virtualization, 'container', `systemd-detect-virt: ${virt}`);
    else if (virt === 'none') t.equal(report.virtualization, 'none');
    else t.not(report.virtualization, 'none', `systemd-detect-virt: ${virt}`);
  }

  const drm = existsSync('/sys/class/drm') ? readdirSync('/sys/class/drm').filter((n) => /^card\d+$/.test(n)) : [];
  const gpuVendors = drm.filter((c) => ['0x10de', '0x1002', '0x8086'].includes(readFileSync(`/sys/class/drm/${c}/device/vendor`, 'utf8').trim()));
  t.equal(capacity.gpu_count, gpuVendors.length, 'GPUs: the DRM cards of GPU vendors');
  t.equal(result.facts.data_mount !== undefined, true);
});

void t.test('this machine: link-local addresses only when asked', async (t) => {
  const result = await createProbeManager({ dataDir, includeLinkLocal: true }).run();
  t.same(result.addresses.map((a) => `${a.kind} ${a.address} ${a.interface}`), expectedAddresses(true));
  const withLo = await createProbeManager({ dataDir, includeLoopback: true }).run();
  t.ok(withLo.addresses.some((a) => a.address === '127.0.0.1'), 'loopback included when asked');
});

void t.test('this machine: a data dir on tmpfs (not listed by df) is measured there, not on "/"', { skip: !tmpfsAt('/dev/shm') && 'no tmpfs at /dev/shm' }, async (t) => {
  const result = await createProbeManager({ dataDir: '/dev/shm/holon-probes-test/data' }).run();
  const fs = statfsSync('/dev/shm');
  t.ok(Math.abs(result.capacity.storage_bytes - fs.bavail * fs.bsize) < STORAGE_SLACK, 'the tmpfs free space, from statfs');
  t.match(result.warnings, [{ probe: 'disks', reason: /not listed by df/ }]);
});

void t.test('this machine: stable across runs', async (t) => {
  const manager = createProbeManager({ dataDir, labels: { zone: 'ci', rack: 'r1' } });
  const a = await manager.run();
  const b = await manager.run();
  t.same(b.report, a.report);
  t.same(b.addresses, a.addresses);
  t.same({ ...b.capacity, storage_bytes: 0 }, { ...a.capacity, storage_bytes: 0 });
  t.ok(Math.abs(b.capacity.storage_bytes - a.capacity.storage_bytes) < STORAGE_SLACK, 'free space moves only by what others wrote meanwhile');
  t.same(b.warnings, a.warnings);
});

void t.test('this machine: a hung command is killed at the probe timeout', async (t) => {
  const pidFile = join(dataRoot, 'sleeper.pid');
  const hung: Probe = {
    name: 'gpu',
    essential: false,
    defaults: { gpu_count: 0 },
    timeoutMs: 300,
    async run(ctx) {
      await ctx.source.run('sh', ['-c', `echo $$ > ${pidFile}; exec sleep 30`], { timeoutMs: 60_000, signal: ctx.signal });
      return { gpu_count: 1 };
    },
  };
  const probes = createDefaultProbes().map((p) => (p.name === 'gpu' ? hung : p));
  const started = performance.now();
  const result = await createProbeManager({ dataDir }, { probes, source: createSystemSource() }).run();
  t.ok(performance.now() - started < 3000, 'the run did not wait for the sleeper');
  t.same(
    result.warnings.filter((w) => w.probe === 'gpu'),
    [{ probe: 'gpu', reason: 'timed out after 300 ms', timed_out: true, defaulted: ['gpu_count'] }],
  );
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  await new Promise((r) => setTimeout(r, 100));
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the sleeping child is gone');
});

void t.test('the real source: missing executables are absent, not errors', async (t) => {
  const source = createSystemSource();
  t.equal(await source.run('/nonexistent/holon-tool', [], { timeoutMs: 1000 }), undefined);
  t.equal(await source.findExecutable('holon-no-such-tool', ['/usr/bin', '/bin']), undefined);
  t.equal(await source.realpath(join(dataRoot, 'nope')), undefined);
  const sh = await source.run('sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000 });
  t.same(sh, { code: 3, stdout: 'out\n', stderr: 'err\n' });
});
