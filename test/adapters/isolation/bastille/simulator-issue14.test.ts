/**
 * Issue 14, point by point: what Bastille 1.4.4 and FreeBSD 14 really do, as
 * the simulator now reproduces it. Sources: BastilleBSD/bastille tag 1.4.4
 * (commit 2280556b), usr/local/share/bastille/*.sh; FreeBSD 14 as vendored in
 * sobomax/freebsd14_vendor (usr.sbin/jail/jail.{8,c}, usr.bin/rctl/rctl.c,
 * sys/kern/kern_{rctl,racct}.c, sys/vm/vm_swapout.c, usr.sbin/jls/jls.c,
 * usr.bin/netstat/if.c, usr.sbin/jexec/jexec.c).
 */
import t from 'tap';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { installSim, SIM_RELEASE } from './sim/install.js';
import { hostRunner, sleep } from './fixture.js';

const sim = installSim();
t.teardown(() => sim.cleanup());
const run = hostRunner(sim);
const sh = (p: string, ...a: string[]) => run.run(p, a);
const jailDir = (j: string) => join(sim.prefix, 'jails', j);
const mountsBelow = (j: string) => sim.state().mounts.filter((m) => m.on.startsWith(`${jailDir(j)}/root/`)).map((m) => m.on.slice(jailDir(j).length + 1));
const jid = (j: string) => String(sim.state().running[j]?.jid);
const ip = (n: number) => `10.17.89.${n}`;

void t.test('1. killing the processes of a jail without persist removes it and skips jail -r: mounts and epair stay, stop and destroy give up with exit 0', async (t) => {
  t.equal((await sh('bastille', 'create', '-V', 'k1', SIM_RELEASE, `${ip(11)}/24`, 'em0')).exitCode, 0);
  t.notMatch(readFileSync(join(jailDir('k1'), 'jail.conf'), 'utf8'), /persist/, "create.sh's jail.conf has no persist");
  t.equal((await sh('pkill', '-KILL', '-j', jid('k1'))).exitCode, 0);
  // jail.8 (persist): "the jail is destroyed as its last process exits"
  t.notOk(sim.state().running.k1, 'jls no longer lists it');
  t.same(mountsBelow('k1'), ['root/.bastille', 'root/dev'], "jail.c JF_STOP for a jail not found: no unmount …");
  t.ok(sim.state().interfaces.e0a_k1, '… and no exec.poststop: the epair stays');
  let r = await sh('bastille', 'stop', 'k1');
  t.equal(r.exitCode, 0);
  t.match(r.stderr, 'Jail is already stopped.', 'stop.sh: check_target_is_stopped → error_continue, no jail -r');
  t.same(mountsBelow('k1'), ['root/.bastille', 'root/dev']);
  r = await sh('bastille', 'destroy', '-a', '-y', 'k1');
  t.equal(r.exitCode, 0, 'destroy.sh destroy_jail: error_continue → exit 0 …');
  t.match(r.stderr, 'Jail has mounted filesystems');
  t.ok(existsSync(jailDir('k1')), '… and nothing destroyed');

  t.equal((await sh('bastille', 'create', '-V', 'k2', SIM_RELEASE, `${ip(12)}/24`, 'em0')).exitCode, 0);
  await sh('bastille', 'config', 'k2', 'set', 'persist');
  await sh('bastille', 'restart', 'k2');
  await sh('pkill', '-KILL', '-j', jid('k2'));
  t.equal(sim.state().running.k2?.persist, true, 'with persist the jail outlives its processes');
  t.equal((await sh('bastille', 'stop', 'k2')).exitCode, 0);
  t.same([mountsBelow('k2'), sim.state().interfaces.e0a_k2], [[], undefined], 'and bastille stop (jail -r) takes its mounts and epair with it');
  t.equal((await sh('bastille', 'destroy', '-a', '-y', 'k2')).exitCode, 0);
  t.notOk(existsSync(jailDir('k2')));
});

void t.test('2. a jail named all: set_target takes ALL for every jail, so destroy -a -y all destroys them all', async (t) => {
  t.equal((await sh('bastille', 'create', 'neighbour', SIM_RELEASE, ip(21), 'bastille0')).exitCode, 0);
  t.equal((await sh('bastille', 'create', 'all', SIM_RELEASE, ip(22), 'bastille0')).exitCode, 0, 'create.sh validate_name accepts "all"');
  const r = await sh('bastille', 'destroy', '-a', '-y', 'all');
  t.equal(r.exitCode, 0);
  t.same([existsSync(jailDir('all')), existsSync(jailDir('neighbour'))], [false, false], "common.sh set_target ^[aA][lL][lL]$ → target_all_jails: the neighbour's jail is gone too");
});

void t.test('3. stopping a jail named on stops every jail whose settings.conf holds the word (boot="on")', async (t) => {
  for (const [j, n] of [['on', 31], ['bystander', 32]] as const) t.equal((await sh('bastille', 'create', j, SIM_RELEASE, ip(n), 'bastille0')).exitCode, 0);
  t.match(readFileSync(join(jailDir('bystander'), 'settings.conf'), 'utf8'), 'boot="on"');
  t.equal((await sh('bastille', 'stop', 'on')).exitCode, 0);
  t.notOk(sim.state().running.bystander, 'stop.sh: grep -hoqsw "on" settings.conf → bastille stop bystander');
  for (const j of ['on', 'bystander']) await sh('bastille', 'destroy', '-a', '-y', j);
});

void t.test('4. memoryuse:deny does not refuse an allocation: the jail holds more than the rule allows', async (t) => {
  t.equal((await sh('bastille', 'create', 'm4', SIM_RELEASE, ip(41), 'bastille0')).exitCode, 0);
  t.equal((await sh('rctl', '-a', 'jail:m4:memoryuse:deny=8m')).exitCode, 0, 'kern_rctl.c rctl_rule_add accepts deny on RSS as an exception');
  const holder = run.run('jexec', ['m4', '/bin/sh', '-c', 'x=$(head -c 33554432 /dev/zero | tr "\\0" a); echo ${#x}; sleep 3']);
  let memoryuse = 0;
  for (let i = 0; i < 40 && memoryuse <= 8 * 1024 * 1024; i++) {
    await sleep(150);
    memoryuse = Number(/^memoryuse=(\d+)$/m.exec((await sh('rctl', '-u', 'jail:m4')).stdout)?.[1]);
  }
  t.ok(memoryuse > 8 * 1024 * 1024, `racct memoryuse ${memoryuse} above the 8 MiB rule: RSS is not deniable (kern_racct.c racct_types), vm_swapout.c only deactivates pages`);
  const r = await holder;
  t.same([r.exitCode, r.stdout], [0, '33554432\n'], 'the allocation succeeded');
  await sh('rctl', '-r', 'jail:m4');
  await sh('bastille', 'destroy', '-a', '-y', 'm4');
});

void t.test('5. create of a jail that does not start exits 1 and removes the jail', async (t) => {
  sim.update((s) => s.faults.startFails.push('f5'));
  const r = await sh('bastille', 'create', 'f5', SIM_RELEASE, ip(51), 'bastille0');
  t.equal(r.exitCode, 1, 'create.sh: check_target_is_running fails → bastille destroy -afy, error_exit');
  t.match(r.stderr, '[ERROR]: Failed to create jail: f5');
  t.notOk(existsSync(jailDir('f5')), 'the jail was destroyed');
  sim.update((s) => (s.faults.startFails = []));
});

void t.test('6. a jail named like a release can be created but never destroyed', async (t) => {
  for (const [j, n] of [['x-release', 61], ['app-rc1', 62]] as const) {
    t.equal((await sh('bastille', 'create', j, SIM_RELEASE, ip(n), 'bastille0')).exitCode, 0, `validate_name accepts ${j}`);
    const r = await sh('bastille', 'destroy', '-a', '-y', j);
    t.equal(r.exitCode, 1, `destroy.sh: ${j} matches a release pattern, NAME_VERIFY is empty → usage`);
    t.match(r.stderr, 'Usage: bastille destroy');
    t.ok(sim.state().running[j] && existsSync(jailDir(j)), 'still running, still there');
  }
});

void t.test('7. a thin jail links the base system to a read-only nullfs of the release: writes there fail, writes elsewhere land in the jail', async (t) => {
  t.equal((await sh('bastille', 'create', 'thin7', SIM_RELEASE, ip(71), 'bastille0')).exitCode, 0);
  const root = join(jailDir('thin7'), 'root');
  t.same(['bin', 'usr/bin', 'usr/share'].map((l) => readlinkSync(join(root, l))), ['/.bastille/bin', '/.bastille/usr/bin', '/.bastille/usr/share'], 'create.sh LINK_LIST: ln -sf /.bastille/…');
  t.ok(lstatSync(join(root, 'etc')).isDirectory() && !lstatSync(join(root, 'etc')).isSymbolicLink(), 'FILE_LIST (etc, var, root, tmp …) is copied');
  t.match(readFileSync(join(jailDir('thin7'), 'fstab'), 'utf8'), `${join(sim.prefix, 'releases', SIM_RELEASE)} ${root}/.bastille nullfs ro 0 0`);
  let r = await sh('jexec', 'thin7', '/bin/sh', '-c', 'echo x > /usr/share/holonet-x');
  t.not(r.exitCode, 0);
  t.match(r.stderr, 'Read-only file system', 'through the symlink into the read-only nullfs');
  r = await sh('jexec', 'thin7', '/bin/sh', '-c', 'echo x > /etc/holonet-x && echo y > /usr/local/holonet-y');
  t.equal(r.exitCode, 0);
  t.same([existsSync(join(root, 'etc/holonet-x')), existsSync(join(root, 'usr/local/holonet-y'))], [true, true], "lands in the jail's own root");
  t.notOk(existsSync(join(sim.prefix, 'releases', SIM_RELEASE, 'etc/holonet-x')), 'the release is untouched');
  await sh('bastille', 'destroy', '-a', '-y', 'thin7');
});

void t.test('8. jls prints strings, rctl -u of an absent jail prints zeros with exit 0, jexec -d sets the working directory', async (t) => {
  t.equal((await sh('bastille', 'create', 'j8', SIM_RELEASE, ip(81), 'bastille0')).exitCode, 0);
  const doc = JSON.parse((await sh('jls', '--libxo', 'json', 'jid', 'name')).stdout);
  const row = (doc['jail-information'].jail as { jid: unknown; name: string }[]).find((j) => j.name === 'j8');
  t.equal(typeof row?.jid, 'string', 'jls.c quoted_print emits jailparam_export values with %s');
  const r = await sh('rctl', '-u', 'jail:absent');
  t.equal(r.exitCode, 0, 'kern_rctl.c: a jail subject is prison_racct_find(name), created when absent');
  t.ok(r.stdout.split('\n').filter(Boolean).every((l) => l.endsWith('=0')), 'every resource 0');
  const d = await sh('jexec', '-d', '/tmp', 'j8', '/bin/pwd');
  t.same([d.exitCode, d.stdout], [0, '/tmp\n'], 'jexec(8): -d working-directory (current manual; not in the 14.x jexec.c read)');
  await sh('bastille', 'destroy', '-a', '-y', 'j8');
});

void t.test('9. netgraph names the link ng0_NAME; the vnet template routes through the host default route; an epair left behind keeps its counters', async (t) => {
  sim.configure({ vnetType: 'netgraph' });
  t.equal((await sh('bastille', 'create', '-V', 'ng9', SIM_RELEASE, `${ip(91)}/24`, 'em0')).exitCode, 0);
  t.match(readFileSync(join(jailDir('ng9'), 'jail.conf'), 'utf8'), /vnet\.interface = ng0_ng9;\n\s*exec\.prestart \+= "jng bridge ng9 em0";/, 'common.sh generate_vnet_jail_netblock, netgraph');
  t.ok(sim.state().interfaces.ng0_ng9, 'no epair: the host has ng0_ng9');
  await sh('bastille', 'destroy', '-a', '-y', 'ng9');
  sim.configure({ vnetType: 'if_bridge' });

  t.equal((await sh('bastille', 'create', '-V', 'gw9', SIM_RELEASE, `${ip(92)}/24`, 'em0')).exitCode, 0);
  t.match(readFileSync(join(jailDir('gw9'), 'root/etc/rc.conf'), 'utf8'), 'defaultrouter="192.168.1.1"', "without -g: the host's default route, outside 10.17.89.0/24");
  t.equal((await sh('bastille', 'create', '-V', '-g', ip(1), 'gw9b', SIM_RELEASE, `${ip(93)}/24`, 'em0')).exitCode, 0);
  t.match(readFileSync(join(jailDir('gw9b'), 'root/etc/rc.conf'), 'utf8'), `defaultrouter="${ip(1)}"`);

  // The host side of the epair counts all the jail sends (to the host, other jails, ARP …): one counter per direction.
  sim.update((s) => Object.assign(s.interfaces.e0a_gw9 ?? {}, { rx: 5000, tx: 700 }));
  const counters = () => JSON.parse(readFileSync(sim.stateFile, 'utf8')).interfaces.e0a_gw9;
  await sh('pkill', '-KILL', '-j', jid('gw9'));
  t.match(counters(), { rx: 5000 }, 'the jail vanished, its epair stays with its counters');
  let r = await sh('bastille', 'start', 'gw9');
  t.equal(r.exitCode, 0);
  t.notOk(sim.state().running.gw9, 'jib cannot name a new epair e0a_gw9 while the old one exists: the start fails, exit 0');
  for (const m of ['root/.bastille', 'root/dev']) await sh('umount', '-f', join(jailDir('gw9'), m));
  await sh('ifconfig', 'e0a_gw9', 'destroy');
  r = await sh('bastille', 'start', 'gw9');
  t.match(counters(), { rx: 0, tx: 0 }, 'a new epair starts from zero');
  for (const j of ['gw9', 'gw9b']) await sh('bastille', 'destroy', '-a', '-y', j);
});

void t.test('10. children.max is 0: Bastille never sets it', async (t) => {
  t.equal((await sh('bastille', 'create', 'c10', SIM_RELEASE, ip(101), 'bastille0')).exitCode, 0);
  t.notMatch(readFileSync(join(jailDir('c10'), 'jail.conf'), 'utf8'), 'children.max', "create.sh's jail.conf has no children.max");
  const doc = JSON.parse((await sh('jls', '--libxo', 'json', '-j', 'c10', 'children.max')).stdout);
  t.same(doc['jail-information'].jail, [{ 'children.max': '0' }], 'jail.8: "This limit is zero by default"');
  await sh('bastille', 'destroy', '-a', '-y', 'c10');
});
