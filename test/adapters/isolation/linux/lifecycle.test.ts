/**
 * The unit's life as the agent drives it: freeze stops progress and thaw
 * resumes it; kill leaves the unit with no process (and create restarts it);
 * a unit outlives the process that created it and a fresh adapter instance
 * over the same state dir lists, inspects, execs into, kills and destroys it;
 * destroy leaves nothing of any resource kind, is idempotent, and a no-op
 * for an unknown name; bad names and specs are refused with typed errors.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { LinuxIsolation } from '../../../../adapters/isolation/linux/index.js';
import type { UnitInfo } from '../../../../bus-schemas/units/port.js';
import { MiB, NOT_ROOT, fixture, processExists, readText, run, spec, uniqueName } from './linux-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function counterOf(root: string): number {
  try {
    return Number(readFileSync(join(root, 'home/unit/c'), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

void t.test('freeze stops progress, thaw resumes it, kill leaves no process', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('frz');
  const info = await f.create(spec(name, 'none'));
  const loop = f.adapter.exec(name, ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /home/unit/c.new; mv /home/unit/c.new /home/unit/c; sleep 0.02; done']);
  for (let i = 0; i < 100 && counterOf(info.root) < 3; i++) await sleep(20);
  t.ok(counterOf(info.root) >= 3, 'the loop is counting');

  await f.adapter.freeze(name);
  t.equal((await f.adapter.inspect(name))?.status, 'frozen', 'inspect says frozen');
  const state = f.adapter.cgroupVersion === 'v1' ? await readText(join(f.adapter.cgroups.dir(name, 'freezer'), 'freezer.state')) : await readText(join(f.adapter.cgroups.dir(name), 'cgroup.events'));
  t.match(state, /FROZEN|frozen 1/, 'the kernel says frozen');
  const frozenAt = counterOf(info.root);
  await sleep(400);
  t.equal(counterOf(info.root), frozenAt, `no progress while frozen (stuck at ${frozenAt})`);
  await t.rejects(f.adapter.exec(name, ['/bin/true']), { code: 'HOLON_E_ISOLATION', kind: 'state', step: 'exec/state' }, 'exec into a frozen unit is refused');
  await f.adapter.freeze(name);
  t.pass('freeze is idempotent');

  await f.adapter.thaw(name);
  t.equal((await f.adapter.inspect(name))?.status, 'running', 'running again');
  await sleep(400);
  t.ok(counterOf(info.root) > frozenAt + 3, `progress resumed (${frozenAt} → ${counterOf(info.root)})`);

  await f.adapter.kill(name);
  const ended = await loop;
  t.equal(ended.signal, 'SIGKILL', 'the running exec ended with SIGKILL');
  const after = await f.adapter.inspect(name);
  t.equal(after?.status, 'stopped', 'status stopped');
  t.equal(after?.initPid, undefined, 'no init pid reported');
  t.notOk(processExists(info.initPid as number), 'the init process is gone');
  for (const d of f.adapter.cgroups.dirs(name)) t.equal((await readText(join(d, 'cgroup.procs'))).trim(), '', `no process in ${d}`);
  t.equal((await f.adapter.usage(name)).pids, 0, 'pids.current is 0');
  const stoppedAt = counterOf(info.root);
  await sleep(200);
  t.equal(counterOf(info.root), stoppedAt, 'nothing counts any more');
  await t.rejects(f.adapter.exec(name, ['/bin/true']), { code: 'HOLON_E_ISOLATION', kind: 'state', step: 'exec/state' }, 'exec into a stopped unit is refused');
  await f.adapter.kill(name);
  t.pass('kill is idempotent');

  const restarted = await f.create(spec(name, 'none'));
  t.equal(restarted.status, 'running', 'create() starts a stopped unit again');
  t.not(restarted.initPid, info.initPid, 'with a new init');
  t.equal((await run(f.adapter, name, ['/bin/cat', '/home/unit/c'])).stdout.trim(), String(stoppedAt), 'its files are still there');
});

void t.test('recovery: a fresh adapter takes over units whose creator has exited', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('rec');
  f.track(name);
  const child = await promisify(execFile)(process.execPath, [join(here, 'create-in-child.js'), f.stateDir, name, 'egress']);
  const created = JSON.parse(child.stdout) as UnitInfo;
  t.equal(created.status, 'running', 'the child process created the unit and exited');
  t.ok(processExists(created.initPid as number), 'the unit init outlived its creator');

  const logged: string[] = [];
  const fresh = new LinuxIsolation({ stateDir: f.stateDir, log: pino({ level: 'info' }, { write: (line: string) => void logged.push(line) }) });
  t.same(await fresh.list(), [name], 'list() finds it');
  const seen = await fresh.inspect(name);
  t.same(seen, created, 'inspect() reads back the same unit from the system');
  const echo = await run(fresh, name, ['/bin/sh', '-c', 'hostname; id -u']);
  t.equal(echo.stdout, `${name}\n${created.uid}\n`, 'exec works through the fresh instance');
  t.ok((await fresh.usage(name)).memoryBytes > 0, 'usage() works');

  // a recycled pid is not mistaken for the init: the state file's start time must match
  const stateFile = join(f.stateDir, 'units', name, 'unit.json');
  const recorded = JSON.parse(readFileSync(stateFile, 'utf8'));
  t.equal(recorded.initPid, created.initPid, 'the state file records the init pid');

  await fresh.kill(name);
  t.equal((await fresh.inspect(name))?.status, 'stopped', 'kill() through the fresh instance');
  t.notOk(processExists(created.initPid as number), 'the init is gone');
  await fresh.destroy(name);
  t.equal(await fresh.inspect(name), undefined, 'destroyed through the fresh instance');
  t.same(await fresh.leftovers(name), [], 'nothing left');
  t.same(await fresh.list(), [], 'list() is empty');
  const msgs = logged.map((l) => JSON.parse(l) as { msg: string; unit: string });
  t.same(msgs.map((m) => m.msg), ['isolation(linux): unit killed', 'isolation(linux): unit destroyed'], 'mutations are logged through the pino logger');
  t.ok(msgs.every((m) => m.unit === name), 'with the unit name');
});

void t.test('destroy leaves nothing of any resource kind; idempotent; unknown names are a no-op', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('gone');
  const info = await f.create(spec(name, 'egress', { memoryBytes: 64 * MiB }));
  const bg = f.adapter.exec(name, ['/bin/sh', '-c', 'sleep 60 & sleep 60 & wait']);
  await sleep(100);
  const pids = await f.adapter.cgroups.pids(name);
  t.ok(pids.length >= 4, `processes are running in the unit (${pids.join(' ')})`);
  const unitMounts = readFileSync(`/proc/${info.initPid}/mountinfo`, 'utf8');
  t.match(unitMounts, /\/usr \/usr ro/, 'the unit has its own mounts');
  const state = JSON.parse(readFileSync(join(f.stateDir, 'units', name, 'unit.json'), 'utf8'));
  const ns = `/run/netns/holon-${name}`;
  t.ok(existsSync(ns), 'netns exists');
  t.ok(existsSync(`/sys/class/net/${info.hostLink}`), 'host link exists');
  const cgDirs = f.adapter.cgroups.dirs(name);
  t.ok(cgDirs.every((d) => existsSync(d)), `cgroup dirs exist (${cgDirs.length} hierarchies)`);
  if (f.adapter.cgroupVersion === 'v1') {
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']) t.ok(cgDirs.some((d) => d.startsWith(`/sys/fs/cgroup/${c}/`)), `a ${c} cgroup`);
  }
  t.match(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`/run/netns/holon-${name} `), 'the netns is bind-mounted on the host');

  await f.adapter.destroy(name);
  t.match(await bg, { signal: 'SIGKILL' }, 'the running exec was killed');
  for (const p of [...pids, info.initPid as number]) t.notOk(processExists(p), `process ${p} is gone`);
  t.notOk(state.launcherPid !== undefined && processExists(state.launcherPid) && readFileSync(`/proc/${state.launcherPid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z', 'the launcher is gone');
  t.notOk(existsSync(ns), `no ${ns}`);
  t.notOk(existsSync(`/sys/class/net/${info.hostLink}`), `no link ${info.hostLink}`);
  t.notOk(existsSync('/run/netns') && readdirSync('/run/netns').includes(`holon-${name}`), 'ip netns list does not show it');
  for (const d of cgDirs) t.notOk(existsSync(d), `no cgroup ${d}`);
  const hierarchies = readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h, 'holonet', name));
  t.same(hierarchies.filter((d) => existsSync(d)), [], 'no cgroup dir of the unit in any hierarchy');
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
  t.notMatch(hostMounts, new RegExp(name), 'no mount mentions the unit on the host');
  t.notOk(existsSync(join(f.stateDir, 'units', name)), 'no unit directory');
  t.equal(await f.adapter.inspect(name), undefined, 'inspect() says nothing exists');
  t.same(await f.adapter.leftovers(name), [], 'leftovers() agrees');
  t.same(await f.adapter.list(), [], 'list() is empty');

  await f.adapter.destroy(name);
  t.pass('a second destroy is a no-op');
  await f.adapter.destroy(uniqueName('never'));
  t.pass('destroy of an unknown name is a no-op');
  await t.rejects(f.adapter.destroy('../etc'), { code: 'HOLON_E_ISOLATION', kind: 'refused', step: 'destroy/name' }, 'a bad name is refused');
});

void t.test('create is idempotent and validates its spec', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('idem');
  const first = await f.create(spec(name, 'egress', { pids: 32 }));
  const second = await f.create(spec(name, 'egress', { pids: 48 }));
  t.same({ ...second }, { ...first }, 'a second create returns the same running unit');
  t.equal((await readText(join(f.adapter.cgroups.dir(name, 'pids'), 'pids.max'))).trim(), '48', 'and re-applies the limits');
  await t.rejects(f.create(spec(name, 'none')), { code: 'HOLON_E_ISOLATION', kind: 'refused', step: 'create/spec' }, 'a different network is refused');
  const bad = [
    [{ ...spec('Upper', 'none') }, 'create/name'],
    [{ ...spec('a', 'none') }, 'create/name'],
    [{ ...spec(`x${'y'.repeat(32)}`, 'none') }, 'create/name'],
    [{ ...spec(uniqueName(), 'none'), role: 'HOST' }, 'create/spec'],
    [{ ...spec(uniqueName(), 'none'), network: 'bridge' }, 'create/spec'],
    [spec(uniqueName(), 'none', { memoryBytes: 1024 }), 'create/spec'],
    [spec(uniqueName(), 'none', { pids: 0 }), 'create/spec'],
    [spec(uniqueName(), 'none', { cpuMillicores: 1.5 }), 'create/spec'],
  ] as const;
  for (const [s, step] of bad) {
    await t.rejects(f.adapter.create(s as never), { code: 'HOLON_E_ISOLATION', kind: 'refused', step }, `refused: ${JSON.stringify(s).slice(0, 90)}`);
  }
  t.same(await f.adapter.list(), [name], 'no refused spec left anything behind');
  await t.rejects(f.adapter.freeze(uniqueName('nope')), { code: 'HOLON_E_ISOLATION', kind: 'not-found' }, 'freeze of an unknown unit');
  await t.rejects(f.adapter.usage(uniqueName('nope')), { code: 'HOLON_E_ISOLATION', kind: 'not-found' }, 'usage of an unknown unit');
  t.equal(await f.adapter.inspect(uniqueName('nope')), undefined, 'inspect of an unknown unit');
});
