/**
 * The cgroup limits of a UnitSpec are enforced by the kernel, inside the unit:
 * a memory hog is OOM-killed in its unit (and counted), a fork loop stops at
 * limits.pids, a busy loop gets no more CPU than limits.cpuMillicores — while
 * the test process and the unit init carry on.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MiB, NOT_ROOT, fixture, processExists, readText, run, spec, uniqueName } from './linux-fixture.js';

void t.test('memory limit: a hog is OOM-killed inside the unit; usage().oomKills counts it', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('mem');
  const info = await f.create(spec(name, 'none', { memoryBytes: 32 * MiB }));
  const before = await f.adapter.usage(name);
  t.equal(before.oomKills, 0, 'no OOM kill yet');
  // tail keeps the whole (newline-free) line in memory: it grows until the kernel kills it
  const hog = await run(f.adapter, name, ['/bin/sh', '-c', 'tail /dev/zero; echo "hog exit $?"'], { timeoutMs: 30_000 });
  t.equal(hog.timedOut, false);
  t.equal(hog.exitCode, 0, 'the shell around the hog survives');
  t.match(hog.stdout, /hog exit 137/, 'the hog died of SIGKILL (128 + 9)');
  const after = await f.adapter.usage(name);
  t.ok(after.oomKills > before.oomKills, `oomKills increased (${before.oomKills} → ${after.oomKills})`);
  t.ok(after.memoryBytes <= 32 * MiB, `memory after the kill is within the limit (${after.memoryBytes})`);
  t.ok(processExists(process.pid) && spawnSync('true').status === 0, 'the test process is unaffected and can still fork');
  const again = await f.adapter.inspect(name);
  t.equal(again?.status, 'running', 'the unit init survived the OOM kill');
  t.equal(again?.initPid, info.initPid);
  const limit = await readText(join(f.adapter.cgroups.dir(name, 'memory'), f.adapter.cgroupVersion === 'v2' ? 'memory.max' : 'memory.limit_in_bytes'));
  t.equal(Number(limit), 32 * MiB, 'the limit is what the spec said');
});

void t.test('pids limit: a fork loop cannot exceed limits.pids', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('pids');
  await f.create(spec(name, 'none', { pids: 16 }));
  const pidsDir = f.adapter.cgroups.dir(name, 'pids');
  // start up to 40 sleepers; the shell stops at the first fork the kernel refuses
  const loop = await run(f.adapter, name, ['/bin/sh', '-c', 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo "$i"; done; echo all-started'], {
    timeoutMs: 20_000,
  });
  const started = loop.stdout.split('\n').filter((l) => /^\d+$/.test(l)).length;
  t.notMatch(loop.stdout, /all-started/, 'the loop did not get to 40 processes');
  t.match(loop.stderr, /fork/i, `the shell reports the refused fork (${loop.stderr.trim()})`);
  t.ok(started < 16, `only ${started} sleepers started`);
  const current = Number((await readText(join(pidsDir, 'pids.current'))).trim());
  t.ok(current <= 16, `pids.current ${current} ≤ 16 while the sleepers run`);
  t.ok((await f.adapter.usage(name)).pids <= 16, 'usage().pids agrees');
  if (f.adapter.cgroupVersion === 'v1') {
    t.match(await readText(join(pidsDir, 'pids.events')), /^max [1-9]\d*$/m, 'the kernel counted refused forks in pids.events');
  }
  t.equal(spawnSync('true').status, 0, 'the test process can still fork');
  await f.adapter.kill(name);
  t.equal((await f.adapter.usage(name)).pids, 0, 'kill() reaped the sleepers');
});

void t.test('cpu limit: a busy loop gets about limits.cpuMillicores', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('cpu');
  await f.create(spec(name, 'none', { cpuMillicores: 200 }));
  const before = (await f.adapter.usage(name)).cpuUsageUsec;
  const started = Date.now();
  const r = await run(f.adapter, name, ['/usr/bin/timeout', '1', '/bin/sh', '-c', 'while :; do :; done']);
  const wallMs = Date.now() - started;
  t.equal(r.exitCode, 124, 'the loop ran until timeout stopped it');
  const usedMs = ((await f.adapter.usage(name)).cpuUsageUsec - before) / 1000;
  t.ok(usedMs > 50, `the loop did run (${usedMs.toFixed(0)} ms of CPU)`);
  t.ok(usedMs < wallMs * 0.4, `CPU time ${usedMs.toFixed(0)} ms in ${wallMs} ms of wall clock stays near 20% (limit 200 millicores)`);
});
