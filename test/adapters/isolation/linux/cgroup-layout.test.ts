/**
 * cgroup hierarchy detection from /proc/self/mountinfo (pure; runs anywhere):
 * v2 when the unified hierarchy carries cpu, memory and pids; v1 on hybrid
 * hosts (this machine: controllers in v1, an empty cgroup2 at .../unified),
 * including co-mounted cpu,cpuacct and the tracking-only hierarchies; a host
 * with neither is refused with a message naming what is missing.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { detectCgroupLayout, parseMountinfo } from '../../../../adapters/isolation/linux/cgroups.js';

const line = (id: number, mp: string, fs: string, opts: string): string => `${id} 1 0:${id} / ${mp} rw,relatime - ${fs} ${fs === 'cgroup2' ? 'cgroup2' : 'cgroup'} ${opts}`;

void t.test('pure v2 host with controllers → v2', async (t) => {
  const mi = [line(30, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate')].join('\n');
  const layout = detectCgroupLayout(mi, () => 'cpuset cpu io memory hugetlb pids rdma misc\n');
  t.same(layout, { version: 'v2', unified: '/sys/fs/cgroup' });
});

void t.test('hybrid host (controllers in v1, empty unified) → v1 plus tracking hierarchies', async (t) => {
  const mi = [
    line(31, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
    line(32, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
    line(33, '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
    line(34, '/sys/fs/cgroup/freezer', 'cgroup', 'rw,freezer'),
    line(35, '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,name=systemd'),
    line(36, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
  ].join('\n');
  const layout = detectCgroupLayout(mi, () => '');
  t.equal(layout.version, 'v1');
  t.same(layout.v1, { cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids', freezer: '/sys/fs/cgroup/freezer' });
  t.same(layout.tracking?.sort(), ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']);
});

void t.test('neither usable → typed config error naming what is missing', async (t) => {
  const mi = [line(32, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'), line(36, '/sys/fs/cgroup/unified', 'cgroup2', 'rw')].join('\n');
  t.throws(() => detectCgroupLayout(mi, () => 'memory'), { code: 'HOLON_E_ISOLATION', kind: 'config', message: /cgroup v1 lacks cpu, cpuacct, pids, freezer/ });
});

void t.test('mount points with escaped spaces are decoded', async (t) => {
  const [m] = parseMountinfo('40 1 0:40 / /mnt/a\\040b rw - tmpfs tmpfs rw');
  t.equal(m?.mountPoint, '/mnt/a b');
});

void t.test('this machine is detected as it is', async (t) => {
  const layout = detectCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  t.ok(layout.version === 'v1' || layout.version === 'v2', `detected ${layout.version}`);
  if (layout.version === 'v1') t.ok(Object.values(layout.v1 ?? {}).every((p) => p.startsWith('/')), 'every v1 controller has a mount point');
});
