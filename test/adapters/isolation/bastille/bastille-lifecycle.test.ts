/**
 * The Bastille adapter's life cycle against the simulated FreeBSD tools
 * (FreeBSD cannot run here), re-checking the system after each step, and
 * recovery by a fresh adapter instance. Processes in the simulated jails are
 * real (chrooted to the jail root as uid 1001), so exit codes, freeze and
 * kill are observed on real processes.
 */
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { installSim, SIM_RELEASE } from './sim/install.js';
import { adapterFor, callsOf, isBastilleError, procState, sleep, spec } from './fixture.js';
import { ZERO_USAGE } from '../../../../bus-schemas/units/port.js';

const sim = installSim();
t.teardown(() => sim.cleanup());
const iso = adapterFor(sim);
const calls = (tool: string) => callsOf(sim, tool);

void t.test('life cycle: create → exec → writeFile → usage → freeze/thaw → kill → destroy', async (t) => {
  const info = await iso.create(spec('life1'));
  t.equal(info.status, 'running');
  t.equal(info.hostLink, 'e0a_life1');
  t.equal(info.root, join(sim.prefix, 'jails', 'life1', 'root'));
  t.equal(info.uid, 1001);
  t.ok(sim.state().running.life1, 'jls lists it');
  t.same(calls('bastille'), [`create -V life1 ${SIM_RELEASE} ${/10\.17\.89\.\d+\/24/.exec(calls('bastille')[0] ?? '')?.[0] ?? '?'} em0`]);
  t.match(readFileSync(join(info.root, 'etc', 'passwd'), 'utf8'), /^unit:\*:1001:1001:Holonet unit:\/home\/unit:\/bin\/sh$/m);

  // exec: exit code, uid, cwd, env only what was given
  let out = '';
  const r = await iso.exec('life1', ['/bin/sh', '-c', 'id -u; pwd; echo "$SECRET_TOKEN"; echo "${HOLONET_BSD_SIM_STATE:-unset}"; exit 42'], {
    env: { SECRET_TOKEN: 's3cret' },
    onStdout: (d) => (out += d.toString()),
  });
  t.same(r, { exitCode: 42, signal: null, timedOut: false });
  t.equal(out, '1001\n/home/unit\ns3cret\nunset\n');
  t.notOk(calls('jexec').some((c) => c.includes('s3cret')), 'the env value never appears in argv');
  out = '';
  const root = await iso.exec('life1', ['/bin/sh', '-c', 'id -u; pwd'], { asRoot: true, cwd: '/tmp', onStdout: (d) => (out += d.toString()) });
  t.equal(root.exitCode, 0);
  t.equal(out, '0\n/tmp\n');
  const slow = await iso.exec('life1', ['/bin/sh', '-c', 'sleep 30'], { timeoutMs: 300 });
  t.equal(slow.timedOut, true);
  t.equal(slow.signal, 'SIGKILL');

  // writeFile: owner, mode, content, atomic replace
  await iso.writeFile('life1', { path: 'home/unit/.config/holon/key', content: 'KEY-1', mode: 0o600, owner: 'unit' });
  const kp = join(info.root, 'home/unit/.config/holon/key');
  const st = statSync(kp);
  t.equal(st.mode & 0o7777, 0o600);
  t.equal(st.uid, 1001);
  t.equal(readFileSync(kp, 'utf8'), 'KEY-1');
  await iso.writeFile('life1', { path: 'home/unit/.config/holon/key', content: new Uint8Array([75, 50]), mode: 0o640, owner: 'root' });
  t.equal(readFileSync(kp, 'utf8'), 'K2');
  t.equal(statSync(kp).uid, 0);
  out = '';
  await iso.exec('life1', ['/bin/cat', '/home/unit/.config/holon/key'], { asRoot: true, onStdout: (d) => (out += d.toString()) });
  t.equal(out, 'K2', 'visible inside the jail at the same path');

  // a long-running busy process, started through the port and not awaited
  const busy = iso.exec('life1', ['/bin/sh', '-c', 'while :; do :; done']);
  let pid: number | undefined;
  for (let i = 0; i < 50 && pid === undefined; i++) {
    await sleep(100);
    pid = sim.state().running.life1?.procs.map((p) => p.pid).find((p) => procState(p) === 'R' || procState(p) === 'S');
  }
  t.ok(pid, 'the busy process is a jail process');
  await sleep(1200);
  sim.update((s) => {
    const i = s.interfaces.e0a_life1;
    if (i) Object.assign(i, { rx: 123_456, tx: 789 });
  });
  const u = await iso.usage('life1');
  t.ok(u.pids >= 1, `pids ${u.pids}`);
  t.ok(u.cpuUsageUsec >= 1_000_000, `cputime ${u.cpuUsageUsec} µs after >1 s of spinning`);
  t.ok(u.memoryBytes > 0);
  t.equal(u.egressBytes, 123_456, 'host side received = unit sent');
  t.equal(u.ingressBytes, 789);
  t.same(calls('netstat').at(-1), '-I e0a_life1 -bn --libxo json');

  await iso.freeze('life1');
  t.equal(procState(pid as number), 'T', 'SIGSTOPped');
  t.equal((await iso.inspect('life1'))?.status, 'frozen');
  await t.rejects(iso.exec('life1', ['/bin/true']), isBastilleError('state'), 'no new processes in a frozen unit');
  await iso.freeze('life1');
  await iso.thaw('life1');
  t.not(procState(pid as number), 'T');
  t.equal((await iso.inspect('life1'))?.status, 'running');
  await iso.thaw('life1');

  await iso.freeze('life1');
  await iso.kill('life1');
  const ended = await busy;
  t.equal(ended.signal, 'SIGKILL', 'the frozen process was killed');
  t.equal(procState(pid as number), undefined);
  t.notOk(sim.state().running.life1, 'jls no longer lists it');
  t.equal((await iso.inspect('life1'))?.status, 'stopped');
  t.same(await iso.usage('life1'), { ...ZERO_USAGE, gpuNote: 'no GPU is assigned to jails' }, 'a stopped jail has no racct: every counter reads 0');
  await iso.kill('life1');

  t.equal((await iso.create(spec('life1'))).status, 'running', 'create restarts a stopped unit');
  await iso.destroy('life1');
  t.notOk(existsSync(join(sim.prefix, 'jails', 'life1')));
  t.notOk(sim.state().running.life1);
  t.same(sim.state().rctl.filter((r) => r.startsWith('jail:life1:')), []);
  t.equal(await iso.inspect('life1'), undefined);
  t.same(await iso.list(), []);
});

void t.test('recovery: a fresh adapter lists, inspects, uses and destroys what an earlier one created', async (t) => {
  await iso.create(spec('rec1'));
  await iso.create(spec('rec2', 'none'));
  await iso.freeze('rec2');
  const fresh = adapterFor(sim);
  t.same(await fresh.list(), ['rec1', 'rec2']);
  t.equal((await fresh.inspect('rec1'))?.hostLink, 'e0a_rec1');
  t.equal((await fresh.inspect('rec2'))?.status, 'frozen');
  await fresh.thaw('rec2');
  const r = await fresh.exec('rec2', ['/bin/sh', '-c', 'exit 5']);
  t.equal(r.exitCode, 5);
  for (const n of await fresh.list()) await fresh.destroy(n);
  t.same(await iso.list(), []);
});
