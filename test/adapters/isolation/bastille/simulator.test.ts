/**
 * The simulator itself: it must refuse what the real tools refuse (so the
 * adapter's argv is checked, not just accepted) and reproduce the quirks the
 * adapter guards against. Every expectation cites the behaviour in Bastille
 * 1.4.4's scripts or the FreeBSD tool's source (docs/adapters/bastille.md).
 */
import t from 'tap';
import { createCommandRunner } from '../../../../adapters/isolation/bastille/index.js';
import { installSim, SIM_RELEASE } from './sim/install.js';

const sim = installSim();
t.teardown(() => sim.cleanup());
const run = createCommandRunner({ path: `${sim.binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, env: sim.env, timeoutMs: 30_000 });
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
  t.same(sim.state().running, {}, 'nothing was created');
});

void t.test('bastille quirks: exit 0 on failures, exit 1 on create of an existing jail, prefix autocompletion', async (t) => {
  let r = await sh('bastille', 'create', 'abc', SIM_RELEASE, '10.17.89.9', 'bastille0');
  t.equal(r.exitCode, 0);
  t.ok(sim.state().running.abc, 'created and started');
  r = await sh('bastille', 'create', 'abc', SIM_RELEASE, '10.17.89.9', 'bastille0');
  t.equal(r.exitCode, 1, 'create.sh validate_name: error_exit');
  t.match(r.stderr, 'Jail already exists: abc');
  r = await sh('bastille', 'start', 'abc');
  t.equal(r.exitCode, 0, 'start of a running jail: error_continue → 0');
  t.match(r.stderr, 'Jail is already running.');
  r = await sh('bastille', 'destroy', '-y', 'abc');
  t.equal(r.exitCode, 0, 'destroy of a running jail without -a exits 0 …');
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
  r = await sh('bastille', 'destroy', '-a', '-y', 'zzz');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'Jail not found "zzz"');
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
});

void t.test('rctl: getopt, rule validation, -u format, -r of nothing', async (t) => {
  let r = await sh('rctl', '-x');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]');
  r = await sh('rctl', '-a', '-r', 'jail:x:maxproc:deny=1');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'at most one of -a, -l, -r, or -u may be specified');
  r = await sh('rctl', '-a', 'jail:x:bogus:deny=1');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, "rctl: failed to add rule 'jail:x:bogus:deny=1': Invalid argument");
  r = await sh('rctl', '-a', 'j:x:memoryuse:deny=1g');
  t.equal(r.exitCode, 0);
  r = await sh('rctl', 'jail:x');
  t.equal(r.stdout, 'jail:x:memoryuse:deny=1073741824\n', 'subject alias and expand_number');
  r = await sh('rctl', '-r', 'jail:x');
  t.equal(r.exitCode, 0);
  r = await sh('rctl', '-r', 'jail:x');
  t.equal(r.exitCode, 1, 'nothing to remove');
  t.match(r.stderr, 'No such process');
  await sh('bastille', 'create', 'usage1', SIM_RELEASE, '10.17.89.30', 'bastille0');
  r = await sh('rctl', '-u', 'jail:usage1');
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /^cputime=\d+\ndatasize=0\n/);
  t.ok(r.stdout.split('\n').filter(Boolean).every((l) => /^[a-z]+=\d+$/.test(l)), 'resource=value lines');
  r = await sh('rctl', '-u', 'jail:nosuch');
  t.equal(r.exitCode, 1);
});

void t.test('jls --libxo json shape, usage and unknown parameters', async (t) => {
  let r = await sh('jls', '--libxo', 'json', 'jid', 'name', 'path');
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /^\{"__version": "2", "jail-information": \{"jail": \[/);
  const doc = JSON.parse(r.stdout);
  t.ok(doc['jail-information'].jail.every((j: { jid: unknown; name: unknown; path: unknown }) => typeof j.jid === 'number' && typeof j.name === 'string' && typeof j.path === 'string'));
  r = await sh('jls', '-z');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: jls [-dhNnqsv] [-j jail] [param ...]');
  r = await sh('jls', '--libxo', 'json', 'nosuchparam');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'unknown parameter: nosuchparam');
});

void t.test('jexec: getopt "lnu:U:", -u with -U, unknown jail and user', async (t) => {
  let r = await sh('jexec');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: jexec [-l] [-u username | -U username] jail [command ...]');
  r = await sh('jexec', '-u', 'a', '-U', 'b', 'usage1', '/bin/true');
  t.equal(r.exitCode, 1);
  r = await sh('jexec', '-d', '/tmp', 'usage1', '/bin/true');
  t.equal(r.exitCode, 1, 'jexec has no -d');
  r = await sh('jexec', 'nosuch', '/bin/true');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'jexec: jail "nosuch" not found');
  r = await sh('jexec', '-U', 'nobody9', 'usage1', '/bin/true');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'nobody9: no such user');
  r = await sh('jexec', 'usage1', '/bin/sh', '-c', 'exit 7');
  t.equal(r.exitCode, 7, "the command's exit code");
  r = await sh('jexec', 'usage1', '/bin/sh', '-c', 'ls /; test -e /state.json || echo contained');
  t.match(r.stdout, 'contained', 'chrooted to the jail root');
});

void t.test('netstat, pkill, pgrep, ps refuse what they do not know', async (t) => {
  let r = await sh('netstat', '-I', 'em0', '-bn', '--libxo', 'json');
  t.equal(r.exitCode, 0);
  t.same(Object.keys(JSON.parse(r.stdout)), ['statistics']);
  r = await sh('netstat', '-Y');
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'usage: netstat');
  r = await sh('pkill', '-BOGUS', '-j', '1');
  t.equal(r.exitCode, 2);
  r = await sh('pgrep', '-j', '999');
  t.equal(r.exitCode, 1, 'no match');
  r = await sh('ps', '-Q');
  t.equal(r.exitCode, 1);
});
