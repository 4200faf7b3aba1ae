/**
 * The Bastille adapter against the simulated FreeBSD tools: Bastille's
 * failures reported as what they are (create of a jail that does not start
 * exits 1; destroy refusing with exit 0), rctl rules set, replaced and
 * removed, writes contained in the jail root and out of the thin jail's
 * read-only links.
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rctlRules } from '../../../../adapters/isolation/bastille/index.js';
import { isBastilleError, MiB, simulatedHost, spec } from './fixture.js';

const { sim, iso } = simulatedHost(t);

void t.test('create of a jail that does not start is the command failure bastille reports; destroy finishes', async (t) => {
  sim.update((s) => s.faults.startFails.push('unostart'));
  await t.rejects(iso.create(spec('u-nostart')), { ...isBastilleError('command', /bastille create unostart \(exit 1\).*Failed to create jail: unostart/s), exitCode: 1 });
  t.notOk(existsSync(join(sim.prefix, 'jails', 'unostart')), 'Bastille removed the jail (destroy -afy)');
  t.same(await iso.list(), ['u-nostart'], 'the record stays, so recovery can finish');
  await iso.destroy('u-nostart');
  t.same(await iso.list(), []);
  sim.update((s) => (s.faults.startFails = []));

  await iso.create(spec('u-sticky', 'none'));
  sim.update((s) => s.faults.destroyLeaves.push('usticky'));
  await t.rejects(iso.destroy('u-sticky'), isBastilleError('state', /bastille destroy usticky.*still there/));
  sim.update((s) => (s.faults.destroyLeaves = []));
  await iso.destroy('u-sticky');
  t.notOk(existsSync(join(sim.prefix, 'jails', 'usticky')));
});

void t.test('rctl rules: memoryuse and swapuse (the hard cap) from memory, set, replaced when limits change, removed on destroy', async (t) => {
  await iso.create(spec('u-lim1', 'none', 64));
  const rules = () => sim.state().rctl.filter((r) => r.startsWith('jail:ulim1:')).sort();
  t.same(rules(), ['jail:ulim1:maxproc:deny=64', `jail:ulim1:memoryuse:deny=${256 * MiB}`, 'jail:ulim1:pcpu:deny=150', `jail:ulim1:swapuse:deny=${256 * MiB}`]);
  t.same(rules(), rctlRules('ulim1', spec('u-lim1', 'none', 64).limits).sort());
  await iso.create(spec('u-lim1', 'none', 100));
  t.equal(rules()[0], 'jail:ulim1:maxproc:deny=100');
  await iso.destroy('u-lim1');
  t.same(rules(), []);
});

void t.test('writeFile refuses escapes from the jail root and the thin jail links', async (t) => {
  const info = await iso.create(spec('u-esc1', 'none'));
  const outside = join(sim.dir, 'outside');
  mkdirSync(outside);
  symlinkSync(outside, join(info.root, 'home/unit/link'));
  symlinkSync(join(outside, 'victim'), join(info.root, 'home/unit/file-link'));
  const w = (path: string) => iso.writeFile('u-esc1', { path, content: 'x', mode: 0o600, owner: 'unit' });
  await t.rejects(w('../../outside/x'), isBastilleError('refused'));
  await t.rejects(w('home/../../x'), isBastilleError('refused'));
  await t.rejects(w('/etc/passwd'), isBastilleError('refused'));
  await t.rejects(w(''), isBastilleError('refused'));
  await t.rejects(w('home/unit/link/x'), isBastilleError('refused', /symlink/));
  await t.rejects(w('usr/bin/holonet'), isBastilleError('refused', /\/usr\/bin is a symlink/), 'a thin jail links usr/bin to /.bastille: refused, not written into the release');
  t.notOk(existsSync(join(outside, 'x')), 'nothing written through the symlink');
  writeFileSync(join(outside, 'victim'), 'untouched');
  await w('home/unit/file-link');
  t.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched', 'a symlink at the target is replaced, not followed');
  t.equal(readFileSync(join(info.root, 'home/unit/file-link'), 'utf8'), 'x');
  await w('usr/local/etc/holonet.conf');
  t.equal(readFileSync(join(info.root, 'usr/local/etc/holonet.conf'), 'utf8'), 'x', "usr/local is the jail's own");
  await iso.destroy('u-esc1');
});
