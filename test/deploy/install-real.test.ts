/**
 * deploy/install.sh for real — into `/`, as root, creating the holonet user
 * and chowning — but inside a private mount namespace (unshare -m) where
 * /etc, /opt, /usr/local and /var/lib are overlays on temp directories, so the
 * host sees none of it. This is the path a staging root cannot exercise:
 * groupadd/useradd, the owners of every directory and config, and that a
 * second real run is idempotent too.
 *
 * Needs root, unshare(1) and overlayfs; skipped (with the reason) otherwise.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_SH, makeTempDir, which } from './staging.js';

const OVERLAID = ['/etc', '/opt', '/usr/local', '/var/lib'];

/** Shell prelude: overlay each dir, then prove every one is an overlay before anything runs. */
function prelude(work: string): string {
  return [
    'set -eu',
    ...OVERLAID.map((d, i) => `mkdir -p ${work}/up${i} ${work}/wk${i} && mount -t overlay overlay -o lowerdir=${d},upperdir=${work}/up${i},workdir=${work}/wk${i} ${d}`),
    ...OVERLAID.map((d) => `awk '$5 == "${d}" && $0 ~ / - overlay / { found = 1 } END { exit !found }' /proc/self/mountinfo`),
  ].join('\n');
}

function whyNot(): string | false {
  if (process.getuid?.() !== 0) return 'not root: a real install needs root';
  if (process.platform !== 'linux') return 'not Linux';
  if (which('unshare') === undefined) return 'unshare(1) not installed';
  if (spawnSync('id', ['holonet']).status === 0) return 'this host already has a holonet user: its creation cannot be tested';
  const { dir, remove } = makeTempDir('holonet-probe-');
  try {
    const r = spawnSync('unshare', ['-m', 'sh', '-c', prelude(dir)], { encoding: 'utf8', timeout: 20_000 });
    return r.status === 0 ? false : `cannot overlay ${OVERLAID.join(', ')} in a private mount namespace here (${r.stderr.trim()})`;
  } finally {
    remove();
  }
}

const SKIP = whyNot();

void t.test('a real install as root, in a private mount namespace', { skip: SKIP }, async (t) => {
  const { dir, remove } = makeTempDir('holonet-real-');
  t.teardown(remove);
  // Describe every installed path except the code (replaced on each run).
  const describe = (out: string): string =>
    `find /etc/holonet /etc/systemd/system/holon-agent.service /etc/systemd/system/holon-orchestrator.service /var/lib/holonet /usr/local/bin -path /usr/local/bin/\\* ! -name 'holon*' -prune -o -printf '%p %M %u:%g %s %T@ %l\\n' | sort > ${out}`;
  const script = [
    prelude(dir),
    `id holonet >/dev/null 2>&1 && { echo 'holonet already exists on this host: cannot test its creation' >&2; exit 90; }`,
    `sh ${INSTALL_SH} --component all > ${dir}/first.out 2>&1 || { cat ${dir}/first.out >&2; exit 91; }`,
    `id holonet > ${dir}/id.out`,
    `getent passwd holonet | cut -d: -f6,7 >> ${dir}/id.out`,
    describe(`${dir}/before`),
    `sh ${INSTALL_SH} --component all > ${dir}/second.out 2>&1 || { cat ${dir}/second.out >&2; exit 92; }`,
    describe(`${dir}/after`),
  ].join('\n');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, `both runs exit 0\n${r.stderr}`);
  const first = readFileSync(join(dir, 'first.out'), 'utf8');
  t.match(first, /created group holonet/, 'created the holonet group');
  t.match(first, /created user holonet/, 'created the holonet user');
  const id = readFileSync(join(dir, 'id.out'), 'utf8');
  t.match(id, /uid=\d+\(holonet\) gid=\d+\(holonet\)/, 'holonet exists with its own group');
  t.match(id, /^\/var\/lib\/holonet:\/usr\/sbin\/nologin$/m, 'home is the data root, no login shell');

  const before = readFileSync(join(dir, 'before'), 'utf8');
  const entry = (path: string): string => before.split('\n').find((l) => l.startsWith(`${path} `)) ?? `${path} (missing)`;
  t.match(entry('/etc/holonet'), /^\/etc\/holonet drwxr-x--- root:holonet /, '/etc/holonet 0750 root:holonet');
  t.match(entry('/etc/holonet/agent.json'), / -rw------- root:root /, 'agent.json 0600 root:root');
  t.match(entry('/etc/holonet/orchestrator.json'), / -rw-r----- root:holonet /, 'orchestrator.json 0640 root:holonet');
  t.match(entry('/var/lib/holonet'), / drwxr-xr-x root:root /, '/var/lib/holonet 0755 root');
  t.match(entry('/var/lib/holonet/agent'), / drwx------ root:root /, 'agent data 0700 root');
  t.match(entry('/var/lib/holonet/orchestrator'), / drwx------ holonet:holonet /, 'orchestrator data 0700 holonet');
  t.match(entry('/etc/systemd/system/holon-agent.service'), / -rw-r--r-- root:root /, 'unit 0644 root');

  const second = readFileSync(join(dir, 'second.out'), 'utf8');
  t.notMatch(second, /created (user|group)/, 'the second run creates no user');
  t.equal(readFileSync(join(dir, 'after'), 'utf8'), before, 'and changes nothing outside the code (modes, owners, sizes, mtimes, links)');
});
