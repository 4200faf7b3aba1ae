/**
 * The Bastille adapter's life cycle against the simulated FreeBSD tools
 * (FreeBSD cannot run here), re-checking the system after each step, and
 * recovery by a fresh adapter instance. Processes in the simulated jails are
 * real (chrooted to the jail root as uid 1001, the thin jail's release
 * mounted read-only on /.bastille), so exit codes, writes, freeze and kill
 * are observed on real processes.
 */
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SIM_RELEASE } from './sim/install.js';
import { isBastilleError, leftOf, procState, simulatedHost, sleep, spec } from './fixture.js';

const { sim, iso, calls } = simulatedHost(t);

void t.test('life cycle: create → exec → writeFile → usage → freeze/thaw → kill → destroy', async (t) => {
  const info = await iso.create(spec('u-life1'));
  t.equal(info.status, 'running');
  t.equal(info.hostLink, 'e0a_ulife1', 'e0a_ulife1 fits in 15 characters');
  t.equal(info.root, join(sim.prefix, 'jails', 'ulife1', 'root'));
  t.equal(info.uid, 1001);
  t.ok(sim.state().running.ulife1, 'jls lists it');
  t.match(calls('bastille')[0], new RegExp(`^create -V -g 10\\.17\\.89\\.1 ulife1 ${SIM_RELEASE} 10\\.17\\.89\\.\\d+/24 em0$`));
  t.match(readFileSync(join(info.root, 'etc', 'passwd'), 'utf8'), /^unit:\*:1001:1001:Holonet unit:\/home\/unit:\/bin\/sh$/m);

  // exec: exit code, uid, cwd, env only what was given
  let out = '';
  const r = await iso.exec('u-life1', ['/bin/sh', '-c', 'id -u; pwd; echo "$SECRET_TOKEN"; echo "${HOLONET_BSD_SIM_STATE:-unset}"; exit 42'], {
    env: { SECRET_TOKEN: 's3cret' },
    onStdout: (d) => (out += d.toString()),
  });
  t.same(r, { exitCode: 42, signal: null, timedOut: false });
  t.equal(out, '1001\n/home/unit\ns3cret\nunset\n');
  t.notOk(calls('jexec').some((c) => c.includes('s3cret')), 'the env value never appears in argv');
  out = '';
  const root = await iso.exec('u-life1', ['/bin/sh', '-c', 'id -u; pwd'], { asRoot: true, cwd: '/tmp', onStdout: (d) => (out += d.toString()) });
  t.equal(root.exitCode, 0);
  t.equal(out, '0\n/tmp\n');
  const slow = await iso.exec('u-life1', ['/bin/sh', '-c', 'sleep 30'], { timeoutMs: 300 });
  t.equal(slow.timedOut, true);
  t.equal(slow.signal, 'SIGKILL');

  // writeFile: owner, mode, content, atomic replace
  await iso.writeFile('u-life1', { path: 'home/unit/.config/holon/key', content: 'KEY-1', mode: 0o600, owner: 'unit' });
  const kp = join(info.root, 'home/unit/.config/holon/key');
  const st = statSync(kp);
  t.equal(st.mode & 0o7777, 0o600);
  t.equal(st.uid, 1001);
  t.equal(readFileSync(kp, 'utf8'), 'KEY-1');
  await iso.writeFile('u-life1', { path: 'home/unit/.config/holon/key', content: new Uint8Array([75, 50]), mode: 0o640, owner: 'root' });
  t.equal(readFileSync(kp, 'utf8'), 'K2');
  t.equal(statSync(kp).uid, 0);
  out = '';
  await iso.exec('u-life1', ['/bin/cat', '/home/unit/.config/holon/key'], { asRoot: true, onStdout: (d) => (out += d.toString()) });
  t.equal(out, 'K2', 'visible inside the jail at the same path');

  // a thin jail: the base system is the release, read-only; the rest is the jail's own
  let err = '';
  const ro = await iso.exec('u-life1', ['/bin/sh', '-c', 'echo x > /usr/bin/holonet-x'], { asRoot: true, onStderr: (d) => (err += d.toString()) });
  t.not(ro.exitCode, 0);
  t.match(err, 'Read-only file system', 'a write under /usr/bin reaches the read-only nullfs of the release');
  t.notOk(existsSync(join(sim.prefix, 'releases', SIM_RELEASE, 'usr/bin/holonet-x')));
  const rw = await iso.exec('u-life1', ['/bin/sh', '-c', 'echo y > /usr/local/holonet-y'], { asRoot: true });
  t.equal(rw.exitCode, 0);
  t.equal(readFileSync(join(info.root, 'usr/local/holonet-y'), 'utf8'), 'y\n', "a write under /usr/local lands in the jail's root");

  // a long-running busy process, started through the port and not awaited
  const busy = iso.exec('u-life1', ['/bin/sh', '-c', 'while :; do :; done']);
  let pid: number | undefined;
  for (let i = 0; i < 50 && pid === undefined; i++) {
    await sleep(100);
    pid = sim.state().running.ulife1?.procs.map((p) => p.pid).find((p) => procState(p) === 'R' || procState(p) === 'S');
  }
  t.ok(pid, 'the busy process is a jail process');
  sim.update((s) => {
    const i = s.interfaces.e0a_ulife1;
    if (i) Object.assign(i, { rx: 123_456, tx: 789 });
  });
  let u = await iso.usage('u-life1');
  for (let i = 0; i < 60 && u.cpuUsageUsec < 1_000_000; i++) {
    await sleep(250);
    u = await iso.usage('u-life1');
  }
  t.ok(u.pids >= 2, `pids ${u.pids}: the rc daemons and the busy loop`);
  t.ok(u.cpuUsageUsec >= 1_000_000, `cputime ${u.cpuUsageUsec} µs after spinning`);
  t.ok(u.memoryBytes > 0);
  t.ok(u.memoryPeakBytes >= u.memoryBytes, 'the peak is the highest memoryuse sampled');
  t.equal(u.egressBytes, 123_456, 'host side received = all the unit sent');
  t.equal(u.ingressBytes, 789);
  const du = Number(execFileSync('du', ['-s', '-B1', '-x', join(sim.prefix, 'jails', 'ulife1')], { encoding: 'utf8' }).split('\t')[0]);
  t.ok(Math.abs(u.storageBytes - du) <= 64 * 1024, `storage ${u.storageBytes} ≈ du -sx ${du} (the release behind /.bastille is not counted)`);
  t.same([u.gpuMs, u.gpuNote, u.oomKills], [0, 'no GPU is assigned to jails', 0]);
  t.same(calls('netstat').at(-1), '-I e0a_ulife1 -bn --libxo json');

  await iso.freeze('u-life1');
  t.equal(procState(pid as number), 'T', 'SIGSTOPped');
  t.equal((await iso.inspect('u-life1'))?.status, 'frozen');
  await t.rejects(iso.exec('u-life1', ['/bin/true']), isBastilleError('state'), 'no new processes in a frozen unit');
  await iso.freeze('u-life1');
  await iso.thaw('u-life1');
  t.not(procState(pid as number), 'T');
  t.equal((await iso.inspect('u-life1'))?.status, 'running');
  await iso.thaw('u-life1');

  await iso.freeze('u-life1');
  await iso.kill('u-life1');
  const ended = await busy;
  t.equal(ended.signal, 'SIGKILL', 'the frozen process was killed');
  // Gone, or exited and waiting for its (re)parent to reap it: under load the reaping can lag the exit.
  for (let i = 0; i < 100 && procState(pid as number) !== undefined && procState(pid as number) !== 'Z'; i++) await sleep(20);
  t.ok(procState(pid as number) === undefined || procState(pid as number) === 'Z', `the process is gone (state ${String(procState(pid as number))})`);
  t.notOk(sim.state().running.ulife1, 'jls no longer lists it');
  t.same(leftOf(sim, 'ulife1', 'e0a_ulife1').filter((l) => !l.startsWith('rctl')), [], 'no mount, no epair left');
  t.equal((await iso.inspect('u-life1'))?.status, 'stopped');
  const stopped = await iso.usage('u-life1');
  t.same([stopped.memoryBytes, stopped.pids, stopped.egressBytes], [0, 0, 0], 'a stopped jail uses no memory and has no link');
  t.ok(stopped.cpuUsageUsec >= u.cpuUsageUsec, 'cputime is kept while the rules hold the racct: no reset for the meter');
  t.equal(stopped.memoryPeakBytes, u.memoryPeakBytes, 'the sampled peak stays');
  await iso.kill('u-life1');

  t.equal((await iso.create(spec('u-life1'))).status, 'running', 'create restarts a stopped unit');
  t.equal((await iso.usage('u-life1')).egressBytes, 0, 'a new epair: its counters start at 0');
  await iso.destroy('u-life1');
  t.notOk(existsSync(join(sim.prefix, 'jails', 'ulife1')));
  t.same(leftOf(sim, 'ulife1', 'e0a_ulife1'), []);
  t.equal(await iso.inspect('u-life1'), undefined);
  t.same(await iso.list(), []);
});
