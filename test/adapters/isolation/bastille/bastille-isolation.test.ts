/**
 * The Bastille adapter against the simulated FreeBSD tools: idempotency,
 * every Bastille quirk detected, names refused before any call, rctl rules
 * set and removed, path escapes refused, foreign jails left alone.
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBastilleIsolation, createCommandRunner } from '../../../../adapters/isolation/bastille/index.js';
import { installSim, SIM_RELEASE } from './sim/install.js';
import { adapterFor, callsOf, isBastilleError, MiB, spec } from './fixture.js';

const sim = installSim();
t.teardown(() => sim.cleanup());
const iso = adapterFor(sim);
const calls = (tool: string) => callsOf(sim, tool);

void t.test('idempotent: create twice, destroy twice; a gone jail is never named to bastille', async (t) => {
  const a = await iso.create(spec('idem', 'none'));
  const b = await iso.create(spec('idem', 'none'));
  t.same(a, b);
  t.equal(calls('bastille').filter((c) => c.startsWith('create') && c.includes(' idem ')).length, 1, 'bastille create ran once');
  t.equal(a.hostLink, undefined, 'network none: no link');
  await iso.create(spec('idemx', 'none'));
  await iso.destroy('idem');
  const before = calls('bastille').length;
  await iso.destroy('idem');
  t.equal(calls('bastille').length, before, 'second destroy calls nothing (bastille would autocomplete "idem" to "idemx")');
  t.ok(sim.state().running.idemx, 'idemx untouched');
  t.same(await iso.list(), ['idemx']);
  await iso.destroy('idemx');
});

void t.test('quirk: bastille exits 0 but the jail did not start / was not destroyed → typed error', async (t) => {
  sim.update((s) => s.faults.startFails.push('nostart'));
  await t.rejects(iso.create(spec('nostart')), isBastilleError('state', /bastille start nostart.*jls does not list/));
  t.same(await iso.list(), ['nostart'], 'the record stays, so recovery can destroy it');
  await iso.destroy('nostart');
  t.same(await iso.list(), []);

  await iso.create(spec('sticky', 'none'));
  sim.update((s) => s.faults.destroyLeaves.push('sticky'));
  await t.rejects(iso.destroy('sticky'), isBastilleError('state', /bastille destroy sticky.*still there/));
  sim.update((s) => (s.faults.destroyLeaves = []));
  await iso.destroy('sticky');
  t.notOk(existsSync(join(sim.prefix, 'jails', 'sticky')));
});

void t.test('names that cannot fit are refused before any call', async (t) => {
  const n = sim.state().calls.length;
  await t.rejects(iso.create(spec('webserver123')), isBastilleError('refused', /e0a_webserver123 is 16 characters.*IFNAMSIZ/));
  await t.rejects(iso.create(spec('web-1')), isBastilleError('refused', /may not contain '-'/));
  await t.rejects(iso.create(spec('Bad_Name')), isBastilleError('refused'));
  await t.rejects(iso.inspect('../etc'), isBastilleError('refused'));
  await t.rejects(iso.create({ ...spec('okname'), limits: { cpuMillicores: 0, memoryBytes: 1, pids: 0 } }), isBastilleError('refused'));
  t.equal(sim.state().calls.length, n, 'no tool was run');
  const fits = await iso.create(spec('webserver12'));
  t.equal(fits.hostLink, 'e0a_webserver12', '15 characters: fits');
  const dashed = await iso.create(spec('a-long-sandbox-name-without-link', 'none'));
  t.equal(dashed.status, 'running', 'network=none has no epair: long dashed names are fine');
  await iso.destroy('webserver12');
  await iso.destroy('a-long-sandbox-name-without-link');
});

void t.test('rctl rules: set from limits, replaced when limits change, removed on destroy', async (t) => {
  await iso.create(spec('lim1', 'none', 64));
  t.same(sim.state().rctl.filter((r) => r.startsWith('jail:lim1:')).sort(), ['jail:lim1:maxproc:deny=64', `jail:lim1:memoryuse:deny=${256 * MiB}`, 'jail:lim1:pcpu:deny=150']);
  await iso.create(spec('lim1', 'none', 100));
  t.same(sim.state().rctl.filter((r) => r.startsWith('jail:lim1:')).sort(), ['jail:lim1:maxproc:deny=100', `jail:lim1:memoryuse:deny=${256 * MiB}`, 'jail:lim1:pcpu:deny=150']);
  await iso.destroy('lim1');
  t.same(sim.state().rctl.filter((r) => r.startsWith('jail:lim1:')), []);
});

void t.test('writeFile refuses escapes from the jail root', async (t) => {
  const info = await iso.create(spec('esc1', 'none'));
  const outside = join(sim.dir, 'outside');
  mkdirSync(outside);
  symlinkSync(outside, join(info.root, 'home/unit/link'));
  symlinkSync(join(outside, 'victim'), join(info.root, 'home/unit/file-link'));
  const w = (path: string) => iso.writeFile('esc1', { path, content: 'x', mode: 0o600, owner: 'unit' });
  await t.rejects(w('../../outside/x'), isBastilleError('refused'));
  await t.rejects(w('home/../../x'), isBastilleError('refused'));
  await t.rejects(w('/etc/passwd'), isBastilleError('refused'));
  await t.rejects(w(''), isBastilleError('refused'));
  await t.rejects(w('home/unit/link/x'), isBastilleError('refused', /symlink/));
  t.notOk(existsSync(join(outside, 'x')), 'nothing written through the symlink');
  writeFileSync(join(outside, 'victim'), 'untouched');
  await w('home/unit/file-link');
  t.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched', 'a symlink at the target is replaced, not followed');
  t.equal(readFileSync(join(info.root, 'home/unit/file-link'), 'utf8'), 'x');
  await iso.destroy('esc1');
});

void t.test("somebody else's jail is never touched", async (t) => {
  const run = createCommandRunner({ path: `${sim.binDir}:/usr/bin:/bin`, env: sim.env });
  const r = await run.run('bastille', ['create', 'other', SIM_RELEASE, '10.17.89.250', 'bastille0']);
  t.equal(r.exitCode, 0);
  await t.rejects(iso.create(spec('other', 'none')), isBastilleError('refused'));
  await t.rejects(iso.destroy('other'), isBastilleError('refused'));
  await t.rejects(iso.inspect('other'), isBastilleError('refused'));
  t.ok(sim.state().running.other, 'still running');
  t.same(await iso.list(), []);
});

void t.test('bad configuration is refused at construction', async (t) => {
  t.throws(() => createBastilleIsolation({ release: 'latest' }), isBastilleError('config'));
  t.throws(() => createBastilleIsolation({ release: SIM_RELEASE, ipRange: '10.0.0.0/33' }), isBastilleError('config'));
  t.throws(() => createBastilleIsolation({ release: SIM_RELEASE, bastillePrefix: 'relative' }), isBastilleError('config'));
  const noIf = createBastilleIsolation({ release: SIM_RELEASE, bastillePrefix: sim.prefix, run: createCommandRunner({ path: sim.binDir, env: sim.env }) });
  await t.rejects(noIf.create(spec('needsif')), isBastilleError('config'));
});
