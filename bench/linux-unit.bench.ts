/**
 * Linux isolation adapter: create + destroy latency of a BUILD_WORKER-like
 * unit (egress veth, cgroup limits, pid/mount/uts/ipc namespaces, private
 * root, detached init) next to the bare shell sequence that builds and tears
 * down the same isolation by hand (ip netns add, ip link add veth, ip addr,
 * cgroup mkdir + limits, unshare, the mounts, pivot_root; then kill, ip link
 * del, ip netns del, rmdir, rm), timed interleaved in the same run.
 * Goal (issue): the adapter no slower than 1.5 × the bare sequence.
 * Needs root.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { LinuxIsolation } from '../adapters/isolation/linux/index.js';
import { detectCgroupLayout, V1_CONTROLLERS, type CgroupLayout } from '../adapters/isolation/linux/cgroups.js';
import { ROLE_TEMPLATES } from '../bus-schemas/units/roles.js';
import { percentile, round, type BenchResult } from './measure.js';

const ITERATIONS = 15;
const WARMUP = 2;
const BARE_PARENT = 'holonet-bench';

export function bash(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`bare sequence failed (exit ${code}): ${err.trim().slice(-500)}`))));
  });
}

/** cgroup dirs, limit writes, join lines and the teardown of the bare sequence, for either hierarchy. */
function bareCgroups(layout: CgroupLayout, unit: string, limits: { cpuMillicores: number; memoryBytes: number; pids: number }) {
  const quota = limits.cpuMillicores * 100;
  if (layout.version === 'v2') {
    const d = `${layout.unified}/${BARE_PARENT}/${unit}`;
    return {
      dirs: [d],
      setup: [
        `mkdir -p ${d}`,
        `echo "${quota} 100000" > ${d}/cpu.max`,
        `echo ${limits.memoryBytes} > ${d}/memory.max`,
        `echo ${limits.pids} > ${d}/pids.max`,
      ],
      join: `echo $$ > ${d}/cgroup.procs`,
      kill: [`echo 1 > ${d}/cgroup.kill`, `while read -r _ < ${d}/cgroup.procs; do :; done`],
    };
  }
  const v1 = layout.v1 as Record<(typeof V1_CONTROLLERS)[number], string>;
  const dir = (c: (typeof V1_CONTROLLERS)[number]): string => `${v1[c]}/${BARE_PARENT}/${unit}`;
  const dirs = [...new Set(V1_CONTROLLERS.map(dir))];
  return {
    dirs,
    setup: [
      ...dirs.map((d) => `mkdir -p ${d}`),
      `echo 100000 > ${dir('cpu')}/cpu.cfs_period_us`,
      `echo ${quota} > ${dir('cpu')}/cpu.cfs_quota_us`,
      `echo ${limits.memoryBytes} > ${dir('memory')}/memory.limit_in_bytes`,
      `echo ${limits.pids} > ${dir('pids')}/pids.max`,
    ],
    join: dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join('; '),
    kill: [
      `echo FROZEN > ${dir('freezer')}/freezer.state`,
      `kill -9 $(< ${dir('freezer')}/cgroup.procs) 2>/dev/null || true`,
      `echo THAWED > ${dir('freezer')}/freezer.state`,
      `while read -r _ < ${dir('freezer')}/cgroup.procs; do :; done`,
    ],
  };
}

export function bareScripts(layout: CgroupLayout, base: string, i: number): { create: string; destroy: string } {
  const unit = `holonb-${i}`;
  const ns = `holonb-${i}-${randomBytes(3).toString('hex')}`;
  const link = `hb${randomBytes(6).toString('hex')}`;
  const d = `${base}/${unit}`;
  const r = `${d}/root`;
  const host = `10.223.255.${(i % 60) * 4 + 1}`;
  const peer = `10.223.255.${(i % 60) * 4 + 2}`;
  const limits = ROLE_TEMPLATES.BUILD_WORKER.limits;
  const cg = bareCgroups(layout, unit, limits);
  const devs = ['null', 'zero', 'full', 'random', 'urandom'];
  const inner = [
    `echo ${unit} > /proc/sys/kernel/hostname`,
    `mount --bind ${r} ${r}`,
    `mount --bind -o ro,nosuid,nodev /usr ${r}/usr`,
    `mount -t proc -o nosuid,nodev,noexec proc ${r}/proc`,
    `mount -t tmpfs -o nosuid,nodev,mode=1777,size=${limits.memoryBytes} tmpfs ${r}/tmp`,
    ...devs.map((v) => `mount --bind /dev/${v} ${r}/dev/${v}`),
    `cd ${r}`,
    'pivot_root . .',
    'umount -l .',
    'cd /',
    'echo ready',
    `exec /bin/sh -c 'exec </dev/null >/dev/null 2>&1; while :; do sleep 2147483647 & wait; done'`,
  ].join('\n');
  const create = [
    'set -e',
    `mkdir -p ${r}/usr ${r}/proc ${r}/tmp ${r}/dev ${r}/etc ${r}/home/unit`,
    `ln -s usr/bin ${r}/bin; ln -s usr/sbin ${r}/sbin; ln -s usr/lib ${r}/lib; ln -s usr/lib64 ${r}/lib64`,
    `touch ${devs.map((v) => `${r}/dev/${v}`).join(' ')}`,
    `chmod 1777 ${r}/tmp; chown 700000:700000 ${r}/home/unit; chmod 700 ${r}/home/unit`,
    `printf 'root:x:0:0::/root:/bin/sh\\nunit:x:700000:700000::/home/unit:/bin/sh\\n' > ${r}/etc/passwd`,
    `ip netns add ${ns}`,
    `ip link add ${link} type veth peer name eth0 netns ${ns}`,
    `ip addr add ${host}/30 dev ${link}`,
    `ip link set ${link} up`,
    `ip -n ${ns} link set lo up`,
    `ip -n ${ns} addr add ${peer}/30 dev eth0`,
    `ip -n ${ns} link set eth0 up`,
    `ip -n ${ns} route add default via ${host}`,
    ...cg.setup,
    `cat > ${d}/init.sh <<'EOS'\n${inner}\nEOS`,
    `mkfifo ${d}/ready`,
    `setsid /bin/sh -c '${cg.join}; exec nsenter --net=/run/netns/${ns} unshare --pid --fork --mount --uts --ipc --propagation private /bin/sh ${d}/init.sh' < /dev/null > ${d}/ready 2>/dev/null &`,
    `read -r line < ${d}/ready`,
    `[ "$line" = ready ]`,
  ].join('\n');
  const destroy = [...cg.kill, `ip link del ${link}`, `ip netns del ${ns}`, ...cg.dirs.map((x) => `rmdir ${x}`), `rm -rf ${d}`].join('\n');
  return { create, destroy };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Samples {
  create: number[];
  destroy: number[];
  total: number[];
}

const stats = (xs: number[]): { p50: number; p99: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50), 1), p99: round(percentile(s, 99), 1) };
};

export default async function linuxUnitBench(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0) throw new Error('linux-unit: needs root (namespaces, cgroups, mounts)');
  const layout = detectCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  const stateDir = mkdtempSync('/tmp/holonet-bench-linux-');
  const bareBase = mkdtempSync('/tmp/holonet-bench-bare-');
  const adapter = new LinuxIsolation({ stateDir });
  const tag = randomBytes(3).toString('hex');
  const ours: Samples = { create: [], destroy: [], total: [] };
  const bare: Samples = { create: [], destroy: [], total: [] };
  const cleanup: (() => Promise<void>)[] = [];
  try {
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const name = `bench-${tag}-${i}`;
      const spec = { name, role: 'BUILD_WORKER' as const, limits: { ...ROLE_TEMPLATES.BUILD_WORKER.limits }, network: 'egress' as const };
      cleanup.push(() => adapter.destroy(name));
      const c = await timed(() => adapter.create(spec));
      const d = await timed(() => adapter.destroy(name));
      const sh = bareScripts(layout, bareBase, i);
      cleanup.push(() => bash(sh.destroy).catch(() => undefined));
      const bc = await timed(() => bash(sh.create));
      const bd = await timed(() => bash(sh.destroy));
      cleanup.pop();
      if (i < WARMUP) continue;
      ours.create.push(c);
      ours.destroy.push(d);
      ours.total.push(c + d);
      bare.create.push(bc);
      bare.destroy.push(bd);
      bare.total.push(bc + bd);
    }
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(bareBase, { recursive: true, force: true });
    const parents = layout.version === 'v2' ? [`${layout.unified}/${BARE_PARENT}`] : [...new Set(Object.values(layout.v1 ?? {}).map((m) => `${m}/${BARE_PARENT}`))];
    for (const p of parents) {
      try {
        rmdirSync(p);
      } catch {
        // absent or still in use
      }
    }
  }
  const o = { create: stats(ours.create), destroy: stats(ours.destroy), total: stats(ours.total) };
  const b = { create: stats(bare.create), destroy: stats(bare.destroy), total: stats(bare.total) };
  const meta = {
    iterations: ITERATIONS,
    warmup: WARMUP,
    cgroup_version: layout.version,
    spec: 'BUILD_WORKER limits (2000 mcpu, 1 GiB, 512 pids), network egress',
    adapter_create_ms: o.create,
    adapter_destroy_ms: o.destroy,
    bare_create_ms: b.create,
    bare_destroy_ms: b.destroy,
    load_average_1m: round(loadavg()[0] ?? 0, 2),
  };
  const ratio50 = o.total.p50 / b.total.p50;
  const ratio99 = o.total.p99 / b.total.p99;
  return [
    {
      name: 'linux_unit_create_destroy_p50',
      value: o.total.p50,
      unit: 'ms',
      baseline: { name: 'bare shell sequence (ip, cgroupfs, unshare, mount, pivot_root; reverse), p50', value: b.total.p50, unit: 'ms' },
      goal: '≤ 1.5 × bare sequence',
      goal_met: ratio50 <= 1.5,
      meta: { ...meta, ratio: round(ratio50, 2) },
    },
    {
      name: 'linux_unit_create_destroy_p99',
      value: o.total.p99,
      unit: 'ms',
      baseline: { name: 'bare shell sequence, p99', value: b.total.p99, unit: 'ms' },
      goal: '≤ 1.5 × bare sequence',
      goal_met: ratio99 <= 1.5,
      meta: { ratio: round(ratio99, 2) },
    },
  ];
}
