/**
 * The Bastille adapter against the simulated FreeBSD tools: names refused
 * before any command runs, idempotency, foreign jails left alone,
 * configuration refused at construction or before the first command.
 * bastille-rules-writes.test.ts has Bastille's failures, rctl rules and
 * writes; bastille-teardown.test.ts teardown and the network/storage options.
 */
import t from 'tap';
import { join } from 'node:path';
import { createBastilleIsolation, createCommandRunner } from '../../../../adapters/isolation/bastille/index.js';
import { SIM_RELEASE } from './sim/install.js';
import { isBastilleError, simulatedHost, spec } from './fixture.js';

const { sim, iso, calls, host } = simulatedHost(t);

void t.test("names Bastille would read as something else are refused before any command runs", async (t) => {
  const n = sim.state().calls.length;
  const refusals: [string, RegExp][] = [
    ['all', /set_target takes ALL for every jail/],
    ['on', /stop\.sh greps every jail's settings\.conf/],
    ['boot', /stop\.sh greps/],
    ['x-release', /destroy\.sh takes it for a release name/],
    ['app-rc1', /destroy\.sh takes it for a release name/],
    ['webserver', /must be u- followed by lowercase letters and digits/],
    ['u-a-b', /must be u-/],
    ['u-', /must be u-/],
    ['Bad_Name', /must be u-/],
  ];
  for (const [name, why] of refusals) {
    await t.rejects(iso.create(spec(name)), isBastilleError('refused', why), name);
    await t.rejects(iso.destroy(name), isBastilleError('refused'), `destroy ${name}`);
  }
  await t.rejects(iso.inspect('../etc'), isBastilleError('refused'));
  await t.rejects(iso.create({ ...spec('u-okname'), limits: { cpuMillicores: 0, memoryBytes: 1, pids: 0 } }), isBastilleError('refused'));
  t.equal(sim.state().calls.length, n, 'no tool was run');
  const u = await iso.create(spec('u-3f9a0c2d1b4e'));
  t.equal(u.status, 'running', "the orchestrator's u-<12 hex> names work for egress units");
  t.equal(u.hostLink, 'e0a_bastille1', 'jail u3f9a0c2d1b4e: e0a_u3f9a0c2d1b4e would exceed IFNAMSIZ, Bastille names it e0a_bastilleN');
  t.ok(sim.state().running.u3f9a0c2d1b4e, 'the jail is the unit name without its dash');
  await iso.destroy('u-3f9a0c2d1b4e');
});

void t.test('idempotent: create twice, destroy twice; a gone jail is never named to bastille', async (t) => {
  const a = await iso.create(spec('u-idem', 'none'));
  const b = await iso.create(spec('u-idem', 'none'));
  t.same(a, b);
  t.equal(calls('bastille').filter((c) => c.startsWith('create') && c.includes(' uidem ')).length, 1, 'bastille create ran once');
  t.equal(a.hostLink, undefined, 'network none: no link');
  await iso.create(spec('u-idemx', 'none'));
  await iso.destroy('u-idem');
  const before = calls('bastille').length;
  await iso.destroy('u-idem');
  t.equal(calls('bastille').length, before, 'second destroy calls nothing (bastille would autocomplete "uidem" to "uidemx")');
  t.ok(sim.state().running.uidemx, 'uidemx untouched');
  t.same(await iso.list(), ['u-idemx']);
  await iso.destroy('u-idemx');
});

void t.test("somebody else's jail is never touched", async (t) => {
  const r = await host.run('bastille', ['create', 'uother', SIM_RELEASE, '10.17.89.250', 'bastille0']);
  t.equal(r.exitCode, 0);
  await t.rejects(iso.create(spec('u-other', 'none')), isBastilleError('refused', /uother exists .* not touching somebody else's jail/));
  await t.rejects(iso.destroy('u-other'), isBastilleError('refused'));
  await t.rejects(iso.inspect('u-other'), isBastilleError('refused'));
  t.ok(sim.state().running.uother, 'still running');
  t.same(await iso.list(), []);
});

void t.test('bad configuration is refused at construction or before the first command', async (t) => {
  t.throws(() => createBastilleIsolation({ release: 'latest' }), isBastilleError('config'));
  t.throws(() => createBastilleIsolation({ release: SIM_RELEASE, ipRange: '10.0.0.0/33' }), isBastilleError('config'));
  t.throws(() => createBastilleIsolation({ release: SIM_RELEASE, bastillePrefix: 'relative' }), isBastilleError('config'));
  t.throws(() => createBastilleIsolation({ release: SIM_RELEASE, gateway: '10.0.0.1' }), isBastilleError('config', /gateway/), 'the gateway must be inside ipRange');
  const run = createCommandRunner({ path: sim.binDir, env: sim.env });
  const noIf = createBastilleIsolation({ release: SIM_RELEASE, bastillePrefix: sim.prefix, bastilleConfig: sim.confPath, run });
  await t.rejects(noIf.create(spec('u-needsif')), isBastilleError('config', /interface/));
  const wrongPrefix = createBastilleIsolation({ release: SIM_RELEASE, bastillePrefix: '/usr/local/bastille', bastilleConfig: sim.confPath, run });
  await t.rejects(wrongPrefix.create(spec('u-wrong', 'none')), isBastilleError('config', /puts jails in .* set bastillePrefix/));
  const noConf = createBastilleIsolation({ release: SIM_RELEASE, bastillePrefix: sim.prefix, bastilleConfig: join(sim.dir, 'nosuch.conf'), run });
  await t.rejects(noConf.create(spec('u-noconf', 'none')), isBastilleError('config', /cannot read/));
});
