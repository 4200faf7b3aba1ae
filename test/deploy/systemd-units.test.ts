/**
 * The systemd units as install.sh installs them: `systemd-analyze verify`
 * finds nothing to complain about (it exits 0 even on unknown keys, so any
 * output at all fails the test), the decisions docs/deploy.md explains are in
 * place (KillMode=process and no mount namespace for the agent, the least
 * capabilities it needs, the orchestrator's sandbox), every path a unit names
 * exists in the installed layout, and `systemd-analyze security --offline`
 * rates both units below 6.0 (the orchestrator at most 2.0).
 * ExecStart points at the node running this test (--node), so verify can
 * check the executable on any host.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LAYOUTS, REPO, makeTempDir, runInstall, which } from './staging.js';

/** `Key=value` lines of one unit file, in order (repeated keys kept). */
function directives(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}
const one = (d: [string, string][], key: string): string | undefined => d.filter(([k]) => k === key).pop()?.[1];

/** Options that give a service a private mount namespace (systemd's exec_needs_mount_namespace). */
const MOUNT_NAMESPACE_OPTIONS = [
  'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths', 'BindPaths',
  'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectProc', 'ProcSubset', 'TemporaryFileSystem', 'MountFlags',
];
/** What adapters/isolation/linux's syscalls need (the unit file's comment says which for what). */
const AGENT_CAPABILITIES = ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_CHROOT', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE', 'CAP_KILL'];

const SYSTEMD_ANALYZE = which('systemd-analyze');
const NO_ANALYZE =
  SYSTEMD_ANALYZE === undefined ? 'systemd-analyze is not installed on this host (apt-get install systemd): not run' : false;
/** `security --offline` came with systemd 250 (Debian 12 has 252); an older one fails the rating test instead of skipping it. */
const HAS_OFFLINE_SECURITY = NO_ANALYZE === false && spawnSync(SYSTEMD_ANALYZE as string, ['security', '--help'], { encoding: 'utf8' }).stdout.includes('--offline');

void t.test('the installed units', async (t) => {
  const { dir: root, remove } = makeTempDir('holonet-units-');
  t.teardown(remove);
  const inst = runInstall(['--root', root, '--os', 'linux', '--node', process.execPath]);
  t.equal(inst.status, 0, `install exits 0\n${inst.stderr}`);
  const L = LAYOUTS.linux;
  const unitPath = (u: string): string => join(root, 'etc/systemd/system', `${u}.service`);

  void t.test('systemd-analyze verify', { skip: NO_ANALYZE }, async (t) => {
    for (const u of ['holon-agent', 'holon-orchestrator']) {
      const r = spawnSync(SYSTEMD_ANALYZE as string, ['verify', '--man=no', '--generators=no', unitPath(u)], { encoding: 'utf8', timeout: 60_000 });
      t.equal(r.status, 0, `${u}: verify exits 0`);
      t.equal(`${r.stdout}${r.stderr}`.trim(), '', `${u}: and prints no warning at all`);
    }
  });

  void t.test('holon-agent: root, units survive its restart, least capabilities', async (t) => {
    const d = directives(readFileSync(unitPath('holon-agent'), 'utf8'));
    t.equal(one(d, 'Type'), 'simple', 'Type=simple (no sd_notify)');
    t.equal(one(d, 'ExecStart'), `${process.execPath} ${L.code}/dist/agent/main.js --config ${L.etc}/agent.json`, 'ExecStart: node main.js --config');
    t.equal(one(d, 'User'), 'root', 'runs as root');
    t.equal(one(d, 'Delegate'), undefined, 'no Delegate: the units\' cgroups are not below the agent\'s (adapters/isolation/linux/cgroups.ts)');
    t.equal(one(d, 'KillMode'), 'process', 'KillMode=process: stopping the agent does not kill its units\' launchers');
    t.equal(one(d, 'Restart'), 'on-failure', 'restarts on failure');
    t.equal(one(d, 'RestartPreventExitStatus'), '78 2', 'but not on a configuration error (78) or a refused bootstrap (2)');
    t.equal(one(d, 'TasksMax'), 'infinity', 'no cap on the launchers (one per unit) beside the agent');
    t.match(one(d, 'After') ?? '', /network-online\.target/, 'after the network is online');
    t.match(one(d, 'Wants') ?? '', /network-online\.target/, 'and wants it');
    for (const key of MOUNT_NAMESPACE_OPTIONS) t.equal(one(d, key), undefined, `no ${key}: it would give the agent a private mount namespace`);
    t.same((one(d, 'CapabilityBoundingSet') ?? '').split(' ').sort(), [...AGENT_CAPABILITIES].sort(), 'the bounding set is exactly what the Linux adapter needs');
    for (const gone of ['CAP_BPF', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_MKNOD', 'CAP_NET_RAW']) {
      t.notMatch(one(d, 'CapabilityBoundingSet') ?? '', gone, `${gone} is not in it (every unit would inherit it)`);
    }
    t.equal(one(d, 'NoNewPrivileges'), 'yes', 'NoNewPrivileges=yes (tenant commands run with no_new_privs anyway)');
    t.same((one(d, 'RestrictNamespaces') ?? '').split(' ').sort(), ['ipc', 'mnt', 'net', 'pid', 'user', 'uts'], 'the namespaces units are made of, and user namespaces for tenants');
    t.equal(one(d, 'DevicePolicy'), 'closed', 'DevicePolicy=closed');
    t.equal(one(d, 'DeviceAllow'), 'char-tpm rw', 'and the TPM (/dev/tpmrm0)');
    t.match(one(d, 'RestrictAddressFamilies') ?? '', /AF_NETLINK/, 'netlink stays (ip, getifaddrs)');
    t.ok(statSync(join(root, one(d, 'WorkingDirectory') ?? '/nonexistent')).isDirectory(), 'WorkingDirectory is installed');
  });

  void t.test('holon-orchestrator: unprivileged and sandboxed', async (t) => {
    const d = directives(readFileSync(unitPath('holon-orchestrator'), 'utf8'));
    t.equal(one(d, 'Type'), 'simple', 'Type=simple');
    t.equal(one(d, 'ExecStart'), `${process.execPath} ${L.code}/dist/orchestrator/main.js --config ${L.etc}/orchestrator.json`, 'ExecStart: node main.js --config');
    t.equal(one(d, 'User'), 'holonet', 'User=holonet');
    t.equal(one(d, 'Group'), 'holonet', 'Group=holonet');
    t.equal(one(d, 'ProtectSystem'), 'strict', 'ProtectSystem=strict');
    t.equal(one(d, 'ReadWritePaths'), `${L.data}/orchestrator`, 'writes only its data dir');
    t.ok(statSync(join(root, `${L.data}/orchestrator`)).isDirectory(), 'which is installed');
    t.equal(one(d, 'CapabilityBoundingSet'), '', 'no capabilities');
    for (const key of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'RestrictNamespaces', 'RestrictSUIDSGID']) {
      t.equal(one(d, key), 'yes', `${key}=yes`);
    }
    t.equal(one(d, 'MemoryDenyWriteExecute'), undefined, 'no MemoryDenyWriteExecute (V8 JIT)');
    t.match(one(d, 'After') ?? '', /\bnats-server\.service\b/, 'ordered after nats-server');
    t.equal(one(d, 'RestartPreventExitStatus'), '78', 'no restart on a configuration error');
  });

  void t.test('systemd-analyze security --offline rates both units', { skip: NO_ANALYZE }, async (t) => {
    t.ok(HAS_OFFLINE_SECURITY, `${SYSTEMD_ANALYZE ?? ''} has \`security --offline\` (systemd >= 250)`);
    for (const [u, most] of [['holon-agent', 6.0], ['holon-orchestrator', 2.0]] as const) {
      const r = spawnSync(SYSTEMD_ANALYZE as string, ['security', '--offline=true', '--no-pager', unitPath(u)], { encoding: 'utf8', timeout: 60_000 });
      const m = new RegExp(`Overall exposure level for ${u}\\.service: (\\d+\\.\\d)`).exec(r.stdout);
      t.ok(m !== null, `${u}: an overall exposure level is reported\n${r.stderr}`);
      const exposure = Number(m?.[1] ?? 'NaN');
      if (u === 'holon-agent') t.ok(exposure < most, `${u}: exposure ${m?.[1] ?? '?'} < ${most.toFixed(1)}`);
      else t.ok(exposure <= most, `${u}: exposure ${m?.[1] ?? '?'} ≤ ${most.toFixed(1)} ("OK")`);
    }
  });

  void t.test('the units name the documented paths', async (t) => {
    for (const u of ['holon-agent', 'holon-orchestrator']) {
      const text = readFileSync(unitPath(u), 'utf8');
      const source = readFileSync(join(REPO, 'deploy/systemd', `${u}.service`), 'utf8');
      t.equal(text, source.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `), `${u}: the installer changed only the node path`);
      t.ok(existsSync(join(root, one(directives(text), 'ExecStart')?.split(' ').at(-1) ?? '/nonexistent')), `${u}: the config ExecStart names is installed`);
    }
  });
});
