/**
 * What a process inside a unit sees: it runs as the non-root unit user with
 * no capabilities and no_new_privs, under the unit's own hostname; pid 1 is
 * the unit init; no host process is visible; the filesystem is the unit's
 * private root (no agent state dir, no other unit's root), with a private
 * /tmp. exec() streams stdout/stderr, passes exactly the given environment,
 * returns exit codes and signals, SIGKILLs on timeout, and asRoot runs as root.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { NOT_ROOT, fixture, processExists, run, spec, uniqueName } from './linux-fixture.js';

void t.test('identity and visibility inside a unit', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const a = uniqueName('vis');
  const b = uniqueName('vis');
  const infoA = await f.create(spec(a, 'egress'));
  const infoB = await f.create(spec(b, 'none'));
  t.ok(infoA.uid >= 600000 && infoA.uid !== infoB.uid, `each unit has its own unit user (${infoA.uid}, ${infoB.uid})`);

  const id = await run(f.adapter, a, ['/usr/bin/id']);
  t.match(id.stdout, new RegExp(`^uid=${infoA.uid}\\(unit\\) gid=${infoA.gid}\\(unit\\) groups=${infoA.gid}\\(unit\\)$`, 'm'), `runs as the unit user: ${id.stdout.trim()}`);
  const status = await run(f.adapter, a, ['/bin/sh', '-c', 'grep -E "^(Cap(Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status']);
  t.match(status.stdout, /CapEff:\s+0000000000000000/, 'no effective capabilities');
  t.match(status.stdout, /CapBnd:\s+0000000000000000/, 'empty bounding set');
  t.match(status.stdout, /NoNewPrivs:\s+1/, 'no_new_privs set');

  t.equal((await run(f.adapter, a, ['/bin/cat', '/proc/sys/kernel/hostname'])).stdout.trim(), a, 'own hostname');
  t.equal((await run(f.adapter, b, ['/bin/cat', '/proc/sys/kernel/hostname'])).stdout.trim(), b, 'the other unit has its own');
  const hostHostname = (await import('node:os')).hostname();
  t.not(hostHostname, a, 'and the host keeps its own');

  const pid1 = await run(f.adapter, a, ['/bin/sh', '-c', 'tr "\\0" " " < /proc/1/cmdline']);
  t.match(pid1.stdout, /while :; do sleep/, `pid 1 is the unit init: ${pid1.stdout.trim()}`);
  const procs = await run(f.adapter, a, ['/bin/sh', '-c', 'for p in /proc/[0-9]*; do echo "${p#/proc/}"; done']);
  const visible = procs.stdout.split('\n').filter((l) => l !== '').map(Number);
  const hostCount = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
  t.ok(visible.length <= 6, `only the unit's own processes are visible (${visible.join(' ')}; the host has ${hostCount})`);
  t.notOk(visible.includes(process.pid) && processExists(process.pid) && visible.length > 6, 'the test process is not among them');
  t.ok(visible.every((p) => p < 100), 'pids are those of a fresh pid namespace');

  // the filesystem: the unit's root only
  const ls = await run(f.adapter, a, ['/bin/ls', '-A', '/']);
  t.same(ls.stdout.split('\n').filter((l) => l !== '').sort(), ['bin', 'dev', 'etc', 'home', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr'].filter((d) => ls.stdout.includes(d)).sort());
  t.notMatch(ls.stdout, /work|root\n|var|run/, 'no host directories beyond the system ones');
  for (const asRoot of [false, true]) {
    const who = asRoot ? 'as root' : 'as the unit user';
    const probe = await run(f.adapter, a, ['/bin/sh', '-c', `for p in ${f.stateDir} ${infoB.root} ${infoB.root}/etc/hostname /work /run/netns; do test -e "$p" && echo "SEES $p"; done; echo probed`], { asRoot });
    t.equal(probe.stdout.trim(), 'probed', `${who}: neither the state dir, nor the other unit's root, nor host paths are visible`);
  }
  const mounts = await run(f.adapter, a, ['/bin/cat', '/proc/self/mountinfo'], { asRoot: true });
  t.notMatch(mounts.stdout, new RegExp(`${f.stateDir}/units/${b}`), 'no mount of the other unit');
  t.notMatch(mounts.stdout, /\/run\/netns/, 'no netns mounts of other units (the host tree is detached)');
  const usrWrite = await run(f.adapter, a, ['/bin/sh', '-c', 'touch /usr/x 2>&1; echo rc=$?'], { asRoot: true });
  t.match(usrWrite.stdout, /Read-only file system/, '/usr is mounted read-only, even for root inside');

  // private /tmp and home
  await run(f.adapter, a, ['/bin/sh', '-c', 'echo secret-a > /tmp/a && echo home-a > /home/unit/h']);
  const tmpB = await run(f.adapter, b, ['/bin/sh', '-c', 'ls -A /tmp; ls -ld /home/unit; cat /home/unit/h 2>&1']);
  t.notMatch(tmpB.stdout, /secret-a|home-a/, "unit B does not see unit A's /tmp or home");
  t.match(tmpB.stdout, new RegExp(`^drwx------ \\d+ unit unit .* /home/unit$`, 'm'), 'home is the unit user’s, 0700');
  t.equal((await run(f.adapter, a, ['/bin/cat', '/tmp/a'])).stdout, 'secret-a\n', '/tmp persists within the unit');
});

void t.test('exec: env exactly as given, streams, exit codes, signals, timeout, asRoot, cwd', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('exec');
  await f.create(spec(name, 'none'));
  process.env.HOLONET_TEST_LEAK = 'must-not-appear';
  t.teardown(() => delete process.env.HOLONET_TEST_LEAK);

  const given = { A: '1', B_2: 'two words', PWD: '/given', ML: "line1\nexport A=evil\n'q' \"$x\"" };
  const env = await run(f.adapter, name, ['/usr/bin/env', '-0'], { env: given });
  t.same(
    env.stdout.split('\0').filter((l) => l !== '').sort(),
    Object.entries(given).map(([k, v]) => `${k}=${v}`).sort(),
    'exactly the given environment (PWD and a multi-line value included), nothing of the agent’s',
  );
  const empty = await run(f.adapter, name, ['/usr/bin/env']);
  t.equal(empty.stdout, '', 'no environment at all when none is given');

  const streams = await run(f.adapter, name, ['/bin/sh', '-c', 'echo out; echo err >&2; exit 7']);
  t.equal(streams.stdout, 'out\n');
  t.equal(streams.stderr, 'err\n');
  t.equal(streams.exitCode, 7, 'exit code returned');
  t.equal(streams.signal, null);

  const chunks: string[] = [];
  const live = f.adapter.exec(name, ['/bin/sh', '-c', 'echo first; sleep 0.3; echo second'], { onStdout: (d) => chunks.push(d.toString()) });
  await new Promise((r) => setTimeout(r, 200));
  t.same(chunks, ['first\n'], 'stdout is streamed while the process runs');
  await live;
  t.same(chunks.join(''), 'first\nsecond\n');

  const sig = await run(f.adapter, name, ['/bin/sh', '-c', 'kill -TERM $$']);
  t.equal(sig.signal, 'SIGTERM', 'a signal death is reported as the signal');
  t.equal(sig.exitCode, null);

  const started = Date.now();
  const slow = await run(f.adapter, name, ['/bin/sh', '-c', 'sleep 30 & sleep 30'], { timeoutMs: 300 });
  t.equal(slow.timedOut, true, 'timed out');
  t.equal(slow.signal, 'SIGKILL', 'killed with SIGKILL');
  t.ok(Date.now() - started < 5000, 'returned promptly');
  const left = await run(f.adapter, name, ['/bin/sh', '-c', 'ps -eo comm= | grep -c "^sleep$" || true']);
  t.equal(left.stdout.trim(), '1', 'the exec’s own sleeps are gone (only the init’s remains)');

  const root = await run(f.adapter, name, ['/usr/bin/id', '-u'], { asRoot: true });
  t.equal(root.stdout.trim(), '0', 'asRoot runs as root inside the unit');
  const cwd = await run(f.adapter, name, ['/bin/pwd']);
  t.equal(cwd.stdout.trim(), '/home/unit', 'default cwd is the unit home');
  t.equal((await run(f.adapter, name, ['/bin/pwd'], { cwd: '/tmp' })).stdout.trim(), '/tmp', 'cwd option');
  const missing = await run(f.adapter, name, ['/no/such/binary']);
  t.not(missing.exitCode, 0, 'a missing program fails with a non-zero exit');

  await t.rejects(f.adapter.exec(name, []), { code: 'HOLON_E_ISOLATION', kind: 'refused', step: 'exec/validate' }, 'empty argv refused');
  await t.rejects(f.adapter.exec(name, ['/bin/true'], { env: { 'BAD-NAME': 'x' } }), { code: 'HOLON_E_ISOLATION', kind: 'refused' }, 'a non-portable env name refused');
  await t.rejects(f.adapter.exec(name, ['/bin/true'], { cwd: '../etc' }), { code: 'HOLON_E_ISOLATION', kind: 'refused' }, 'a relative cwd refused');
  await t.rejects(f.adapter.exec(uniqueName('nope'), ['/bin/true']), { code: 'HOLON_E_ISOLATION', kind: 'not-found' }, 'unknown unit');
  await t.rejects(f.adapter.exec('Bad_Name', ['/bin/true']), { code: 'HOLON_E_ISOLATION', kind: 'refused', step: 'exec/name', unit: 'Bad_Name' }, 'bad name refused');
});
