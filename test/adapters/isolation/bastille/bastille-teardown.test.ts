/**
 * Teardown through the Bastille adapter leaves nothing on the simulated host
 * — no jail, no mount below its root, no epair, no dataset, no rctl rule —
 * even when the jail's processes are already gone (killed behind the
 * adapter's back, or a jail made before units were persistent that vanished
 * with them); and the options around egress and storage: netgraph refused up
 * front, the gateway passed as -g, storage read from ZFS.
 */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installSim } from './sim/install.js';
import { adapterFor, callsOf, isBastilleError, leftOf, simulatedHost, spec } from './fixture.js';

const { sim, iso, calls, host } = simulatedHost(t);

void t.test('the unit jail is persistent: its processes gone, kill and destroy still leave nothing', async (t) => {
  const info = await iso.create(spec('u-gone1'));
  t.equal(sim.state().running.ugone1?.persist, true, 'persist set (bastille config … set persist) and in effect');
  t.ok(calls('bastille').includes('config ugone1 set persist'));
  t.equal((await host.run('pkill', ['-KILL', '-j', String(sim.state().running.ugone1?.jid)])).exitCode, 0, "every process killed behind the adapter's back");
  t.ok(sim.state().running.ugone1, 'the jail outlives its processes');
  await iso.kill('u-gone1');
  t.same(leftOf(sim, 'ugone1', info.hostLink).filter((l) => !l.startsWith('rctl')), [], 'kill: no jail, no mount, no epair');
  t.equal((await iso.inspect('u-gone1'))?.status, 'stopped');
  await iso.create(spec('u-gone1'));
  await host.run('pkill', ['-KILL', '-j', String(sim.state().running.ugone1?.jid)]);
  await iso.destroy('u-gone1');
  t.same(leftOf(sim, 'ugone1', info.hostLink), [], 'destroy after the processes are gone: nothing left, rctl rules included');
  t.notOk(existsSync(join(sim.prefix, 'jails', 'ugone1')));
});

void t.test('a unit jail without persist (made before, or by hand) that vanished is cleaned up: mounts unmounted, epair destroyed', async (t) => {
  const info = await iso.create(spec('u-old1'));
  // As create.sh writes it: no persist line; restarted so the running jail has none either.
  const conf = join(sim.prefix, 'jails', 'uold1', 'jail.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^\s*persist;\n/m, ''));
  await host.run('bastille', ['restart', 'uold1']);
  await host.run('pkill', ['-KILL', '-j', String(sim.state().running.uold1?.jid)]);
  t.notOk(sim.state().running.uold1, 'the jail vanished with its processes');
  t.same(leftOf(sim, 'uold1', info.hostLink).filter((l) => !l.startsWith('rctl')), [`mount: ${sim.prefix}/jails/uold1/root/.bastille`, `mount: ${sim.prefix}/jails/uold1/root/dev`, `link: ${String(info.hostLink)}`]);
  t.equal((await iso.create(spec('u-old1'))).status, 'running', 'create releases the leftovers, makes it persistent and starts it');
  t.equal(sim.state().running.uold1?.persist, true);
  await host.run('pkill', ['-KILL', '-j', String(sim.state().running.uold1?.jid)]);
  await iso.destroy('u-old1');
  t.same(leftOf(sim, 'uold1', info.hostLink), []);
  t.same(calls('umount').slice(0, 2).sort(), [`-f ${sim.prefix}/jails/uold1/root/.bastille`, `-f ${sim.prefix}/jails/uold1/root/dev`], 'umount -f of each mount below the root');
  t.ok(calls('ifconfig').includes(`${String(info.hostLink)} destroy`), 'and the epair destroyed, as exec.poststop would have');
});

void t.test('egress: netgraph refused up front, the gateway passed as -g, storage read from ZFS when Bastille uses it', async (t) => {
  sim.configure({ vnetType: 'netgraph' });
  const n = sim.state().calls.length;
  const fresh = adapterFor(sim);
  await t.rejects(fresh.create(spec('u-ng1')), isBastilleError('refused', /bastille_network_vnet_type="netgraph".*ng0_<NAME>/));
  t.equal(sim.state().calls.length, n, 'no tool was run');
  t.equal((await fresh.create(spec('u-ng2', 'none'))).status, 'running', 'network=none needs no VNET');
  await fresh.destroy('u-ng2');
  sim.configure({ vnetType: 'if_bridge' });

  await iso.create(spec('u-gw1'));
  t.match(calls('bastille').find((c) => c.includes(' ugw1 ')), /^create -V -g 10\.17\.89\.1 ugw1 /);
  t.match(readFileSync(join(sim.prefix, 'jails', 'ugw1', 'root/etc/rc.conf'), 'utf8'), 'defaultrouter="10.17.89.1"');
  await iso.destroy('u-gw1');

  const z = installSim({ config: { zfs: { pool: 'zroot', prefix: 'bastille' } } });
  t.teardown(() => z.cleanup());
  const zi = adapterFor(z);
  await zi.create(spec('u-zfs1', 'none'));
  t.ok(z.state().datasets.includes('zroot/bastille/jails/uzfs1/root'));
  const u = await zi.usage('u-zfs1');
  t.ok(u.storageBytes > 0, `storage ${u.storageBytes}`);
  t.ok(callsOf(z, 'zfs').includes('get -Hp -o value used zroot/bastille/jails/uzfs1'), 'zfs get -Hp -o value used of the jail dataset');
  await zi.destroy('u-zfs1');
  t.same(z.state().datasets, [], 'the datasets are gone');
});
