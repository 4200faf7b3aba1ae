/**
 * The simulator itself: it must refuse what the real tools refuse (so the
 * adapter's argv is checked, not just accepted) and print what they print.
 * Every expectation cites Bastille 1.4.4's scripts (BastilleBSD/bastille,
 * commit 2280556b) or the FreeBSD 14 tool's source (sobomax/freebsd14_vendor);
 * simulator-issue14.test.ts has the behaviours that do damage on a host.
 */
import t from 'tap';
import { installSim, SIM_RELEASE } from './sim/install.js';
import { hostRunner } from './fixture.js';

const sim = installSim();
t.teardown(() => sim.cleanup());
const run = hostRunner(sim);
const sh = (p: string, ...a: string[]) => run.run(p, a);

void t.test('bastille refuses unknown options and wrong argument counts like its scripts', async (t) => {
  let r = await sh('bastille', 'create', '-q', 'x1', SIM_RELEASE, '10.0.0.2');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, '[ERROR]: Unknown Option: "-q"');
  r = await sh('bastille', 'create', 'x1', SIM_RELEASE);
  t.equal(r.exitCode, 1, 'NAME RELEASE without IP');
  t.match(r.stderr, 'Usage: bastille create [option(s)] NAME RELEASE IP [INTERFACE]');
  r = await sh('bastille', 'destroy', '-a', '-y');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'Usage: bastille destroy');
  r = await sh('bastille', 'frobnicate');
  t.equal(r.exitCode, 1);
  t.match(r.stdout, 'Usage:\n  bastille [option(s)] COMMAND');
  r = await sh('bastille', 'create', '-V', 'bad-name', SIM_RELEASE, '10.0.0.3/24', 'em0');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'VNET jail names may not contain (-|_) characters.');
  r = await sh('bastille', 'create', 'x2', '14.2-BOGUS', '10.0.0.2', 'bastille0');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'Unknown release: 14.2-BOGUS');
  r = await sh('bastille', 'create', 'x2', SIM_RELEASE, '10.0.0.2', 'nosuch0');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'Invalid interface: nosuch0');
  r = await sh('bastille', 'create', '-V', '-g', 'gw', 'x3', SIM_RELEASE, '10.0.0.3/24', 'em0');
  t.equal(r.exitCode, 1, 'create.sh: -g is validated with validate_ip');
  t.match(r.stderr, '[ERROR]: Not a valid gateway: gw');
  r = await sh('bastille', 'config', 'x1', 'set', 'frobs');
  t.equal(r.exitCode, 1, 'config.sh validate_property');
  t.same(sim.state().running, {}, 'nothing was created');
});

void t.test('bastille quirks: exit 0 on refusals, exit 1 on create of an existing jail, prefix autocompletion', async (t) => {
  let r = await sh('bastille', 'create', 'abc', SIM_RELEASE, '10.17.89.9', 'bastille0');
  t.equal(r.exitCode, 0);
  t.ok(sim.state().running.abc, 'created and started');
  r = await sh('bastille', 'create', 'abc', SIM_RELEASE, '10.17.89.9', 'bastille0');
  t.equal(r.exitCode, 1, 'create.sh validate_name: error_exit');
  t.match(r.stderr, 'Jail already exists: abc');
  r = await sh('bastille', 'start', 'abc');
  t.equal(r.exitCode, 0, 'start.sh: error_continue → 0');
  t.match(r.stderr, 'Jail is already running.');
  r = await sh('bastille', 'destroy', '-y', 'abc');
  t.equal(r.exitCode, 0, 'destroy.sh of a running jail without -a exits 0 …');
  t.ok(sim.state().running.abc, '… and leaves it running');
  r = await sh('bastille', 'stop', 'ab');
  t.equal(r.exitCode, 0);
  t.notOk(sim.state().running.abc, 'set_target autocompleted "ab" to "abc" and stopped it');
  r = await sh('bastille', 'stop', 'abc');
  t.equal(r.exitCode, 0, 'stop of a stopped jail exits 0');
  t.match(r.stderr, 'Jail is already stopped.');
  sim.update((s) => s.faults.startFails.push('abc'));
  r = await sh('bastille', 'start', 'abc');
  t.equal(r.exitCode, 0, 'jail -c failed but start.sh exits 0');
  t.notOk(sim.state().running.abc, 'and the jail is not running');
  sim.update((s) => (s.faults.startFails = []));
  r = await sh('bastille', 'destroy', '-a', '-y', 'zzz');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'Jail not found "zzz"');
  r = await sh('bastille', 'config', 'abc', 'set', 'persist');
  t.equal(r.exitCode, 0);
  t.match(r.stderr, 'A restart is required');
  r = await sh('bastille', 'config', 'abc', 'get', 'persist');
  t.equal(r.stdout, 'enabled\n', 'config.sh get of a property set by its name alone');
  await sh('bastille', 'destroy', '-a', '-y', 'abc');
});

void t.test('bastille 1.4 falls back to e0a_bastilleN when e0a_NAME exceeds IFNAMSIZ', async (t) => {
  const r = await sh('bastille', 'create', '-V', 'averylongname1', SIM_RELEASE, '10.17.89.20/24', 'em0');
  t.equal(r.exitCode, 0);
  const s = sim.state();
  t.ok(s.interfaces.e0a_bastille1, 'host epair named e0a_bastille1');
  t.notOk(s.interfaces.e0a_averylongname1, 'not e0a_<name> (18 characters)');
  t.match(s.interfaces.e0a_bastille1?.description ?? '', 'vnet0 host interface for Bastille jail averylongname1');
  const r2 = await sh('bastille', 'create', '-V', 'shortname11', SIM_RELEASE, '10.17.89.21/24', 'em0');
  t.equal(r2.exitCode, 0);
  t.ok(sim.state().interfaces.e0a_shortname11, '15 characters fit');
  for (const j of ['averylongname1', 'shortname11']) await sh('bastille', 'destroy', '-a', '-y', j);
});

void t.test('rctl: getopt, rule validation as kern_rctl.c, -u format, -r of nothing', async (t) => {
  let r = await sh('rctl', '-x');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]');
  r = await sh('rctl', '-a', '-r', 'jail:x:maxproc:deny=1');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'at most one of -a, -l, -r, or -u may be specified');
  r = await sh('rctl', '-a', 'jail:x:bogus:deny=1');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, "rctl: failed to add rule 'jail:x:bogus:deny=1': Invalid argument");
  r = await sh('rctl', '-a', 'jail:x:cputime:deny=10');
  t.equal(r.exitCode, 1, 'rctl_rule_add: deny on a resource racct cannot deny');
  t.match(r.stderr, 'Operation not supported');
  r = await sh('rctl', '-a', 'j:x:memoryuse:deny=1g', 'jail:x:swapuse:deny=1g');
  t.equal(r.exitCode, 0, 'memoryuse is accepted as the exception "enforced in a different way"; swapuse is deniable');
  r = await sh('rctl', 'jail:x');
  t.equal(r.stdout, 'jail:x:memoryuse:deny=1073741824\njail:x:swapuse:deny=1073741824\n', 'subject alias and expand_number');
  await sh('rctl', '-a', 'jail:x:memoryuse:deny=2g');
  t.equal((await sh('rctl', 'jail:x:memoryuse')).stdout, 'jail:x:memoryuse:deny=2147483648\n', 'a deny rule replaces one that differs only by amount');
  r = await sh('rctl', '-r', 'jail:x');
  t.equal(r.exitCode, 0);
  r = await sh('rctl', '-r', 'jail:x');
  t.equal(r.exitCode, 1, 'rctl_rule_remove: ESRCH when nothing matched');
  t.match(r.stderr, "rctl: failed to remove rule 'jail:x': No such process");
  await sh('bastille', 'create', 'usage1', SIM_RELEASE, '10.17.89.30', 'bastille0');
  r = await sh('rctl', '-u', 'jail:usage1');
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /^cputime=\d+\ndatasize=0\nstacksize=0\ncoredumpsize=0\nmemoryuse=\d+\n/);
  t.equal(r.stdout.split('\n').filter(Boolean).length, 25, 'every resource, sloppy ones too (rctl_racct_to_sbuf with sloppy=1)');
});

void t.test('jls --libxo json: strings for every value, usage and unknown parameters', async (t) => {
  let r = await sh('jls', '--libxo', 'json', 'jid', 'name', 'path', 'persist', 'children.max');
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /^\{"__version": "2", "jail-information": \{"jail": \[/);
  const [j] = JSON.parse(r.stdout)['jail-information'].jail as Record<string, unknown>[];
  t.match(j, { jid: /^[1-9][0-9]*$/, name: 'usage1', persist: 'false', 'children.max': '0' }, 'jailparam_export + %s: "jid": "1", booleans "true"/"false"');
  r = await sh('jls', '-z');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: jls');
  r = await sh('jls', '--libxo', 'json', 'nosuchparam');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'unknown parameter: nosuchparam');
});

void t.test('jexec: getopt, -u with -U, unknown jail and user, exit code, chroot', async (t) => {
  let r = await sh('jexec');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: jexec [-l]');
  r = await sh('jexec', '-u', 'a', '-U', 'b', 'usage1', '/bin/true');
  t.equal(r.exitCode, 1);
  r = await sh('jexec', 'nosuch', '/bin/true');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'jexec: jail "nosuch" not found');
  r = await sh('jexec', '-U', 'nobody9', 'usage1', '/bin/true');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'nobody9: no such user');
  r = await sh('jexec', 'usage1', '/bin/sh', '-c', 'exit 7');
  t.equal(r.exitCode, 7, "the command's exit code");
  r = await sh('jexec', 'usage1', '/bin/sh', '-c', 'pwd; test -e /state.json || echo contained');
  t.equal(r.stdout, '/\ncontained\n', 'starts in / (chdir("/")), chrooted to the jail root');
});

void t.test('netstat, mount, umount, ifconfig, zfs, pkill, pgrep, ps: formats and refusals', async (t) => {
  let r = await sh('netstat', '-I', 'em0', '-bn', '--libxo', 'json');
  t.equal(r.exitCode, 0);
  const row = JSON.parse(r.stdout).statistics.interface[0];
  t.match(row, { name: 'em0', flags: '0x8863', network: '<Link#1>', 'received-bytes': 0, 'sent-bytes': 0 }, 'if.c: {:received-bytes/%lu} is a JSON number');
  r = await sh('netstat', '-I', 'nosuch0', '-bn', '--libxo', 'json');
  t.same([r.exitCode, JSON.parse(r.stdout)], [0, { statistics: { interface: [] } }], 'an absent interface: empty list, exit 0');
  r = await sh('netstat', '-Y');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: netstat');
  r = await sh('mount', '-p');
  t.match(r.stdout, /^\/dev\/ada0p2\t\/\tufs rw\t1 1\n/, 'putfsent: from<TAB>on<TAB>type opts<TAB>freq pass');
  t.match(r.stdout, `\t${sim.prefix}/jails/usage1/root/.bastille\tnullfs ro\t0 0\n`, "the thin jail's release, mounted from its fstab");
  r = await sh('umount', '-f', sim.dir);
  t.equal(r.exitCode, 1);
  t.match(r.stderr, `umount: ${sim.dir}: not a file system root directory`);
  r = await sh('ifconfig', '-l');
  t.equal(r.stdout, 'em0 lo0 bastille0\n');
  r = await sh('ifconfig', 'nosuch0', 'destroy');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'ifconfig: interface nosuch0 does not exist');
  r = await sh('zfs', 'get', '-Hp', '-o', 'value', 'used', 'zroot/bastille/jails/usage1');
  t.equal(r.exitCode, 1, 'not on ZFS: no dataset');
  t.match(r.stderr, "cannot open 'zroot/bastille/jails/usage1': dataset does not exist");
  r = await sh('pkill', '-BOGUS', '-j', '1');
  t.equal(r.exitCode, 2);
  r = await sh('pgrep', '-j', '999');
  t.equal(r.exitCode, 1, 'no match');
  r = await sh('ps', '-Q');
  t.equal(r.exitCode, 1);
  await sh('bastille', 'destroy', '-a', '-y', 'usage1');
});
