/**
 * writeFile() puts a file inside the unit root atomically, with the owner and
 * mode asked, visible inside the unit; and it refuses, with a typed error and
 * without writing anything, every path that could leave the root: `..`, an
 * absolute path, and symlinks planted by the unit (as a directory on the way
 * or as the target itself) pointing out of the root.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOT_ROOT, fixture, run, spec, uniqueName } from './linux-fixture.js';

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

void t.test('writeFile: atomic, owned, visible inside; escapes refused with nothing written', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('wf');
  const info = await f.create(spec(name, 'none'));

  await f.adapter.writeFile(name, { path: 'home/unit/.config/holon/key', content: 'k1', mode: 0o600, owner: 'unit' });
  const key = join(info.root, 'home/unit/.config/holon/key');
  const st = lstatSync(key);
  t.equal(st.uid, info.uid, 'owned by the unit user');
  t.equal(st.mode & 0o777, 0o600, 'mode 0600');
  t.equal(lstatSync(join(info.root, 'home/unit/.config')).uid, info.uid, 'created parents belong to the unit user too');
  const inside = await run(f.adapter, name, ['/bin/cat', '/home/unit/.config/holon/key']);
  t.equal(inside.stdout, 'k1', 'the unit user reads it inside the unit');
  await f.adapter.writeFile(name, { path: './home//unit/.config/holon/key', content: new Uint8Array([107, 50]), mode: 0o640, owner: 'unit' });
  t.equal(readFileSync(key, 'utf8'), 'k2', 'overwritten (path canonicalized: ./ and // dropped)');
  t.same(readdirSync(join(info.root, 'home/unit/.config/holon')), ['key'], 'no temp file left behind');
  await f.adapter.writeFile(name, { path: 'etc/motd', content: 'hello\n', mode: 0o644, owner: 'root' });
  t.equal(lstatSync(join(info.root, 'etc/motd')).uid, 0, 'owner root');
  const denied = await run(f.adapter, name, ['/bin/sh', '-c', 'echo x > /etc/motd; echo rc=$?']);
  t.match(denied.stderr, /Permission denied/, 'the unit user cannot overwrite a root-owned file');
  t.equal(readFileSync(join(info.root, 'etc/motd'), 'utf8'), 'hello\n', 'which keeps its content');

  // things outside the root that a bad write could hit
  const outside = mkdtempSync('/tmp/holonet-linux-outside-');
  t.teardown(() => rmSync(outside, { recursive: true, force: true }));
  const victim = join(outside, 'victim');
  writeFileSync(victim, 'original');
  const passwd = sha('/etc/passwd');
  const unitDir = join(f.stateDir, 'units', name);

  // the unit plants symlinks in its home pointing out of its root (as seen from the host)
  const plant = await run(f.adapter, name, ['/bin/sh', '-c', `ln -s ${outside} /home/unit/outdir && ln -s ${victim} /home/unit/outfile && ln -s /etc /home/unit/etc && echo planted`]);
  t.equal(plant.stdout.trim(), 'planted');

  const cases: [string, string][] = [
    ['../x', "contains '..'"],
    ['home/unit/../../../x', "contains '..'"],
    ['/etc/passwd', 'is absolute'],
    ['home/unit/outdir/pwned', 'is a symlink or not a directory'],
    ['home/unit/etc/passwd', 'is a symlink or not a directory'],
    ['home/unit/outfile', 'is a symlink'],
    ['bin/pwned', 'is a symlink or not a directory'],
    ['', 'is empty'],
    ['.', 'names the root itself'],
  ];
  for (const [path, why] of cases) {
    await t.rejects(
      f.adapter.writeFile(name, { path, content: 'PWNED', mode: 0o644, owner: 'root' }),
      { code: 'HOLON_E_ISOLATION', kind: 'refused', unit: name, message: new RegExp(why.replace(/[.()]/g, '\\$&')) },
      `refused: ${JSON.stringify(path)} (${why})`,
    );
  }
  t.equal(readFileSync(victim, 'utf8'), 'original', 'the file outside the root is untouched');
  t.same(readdirSync(outside).sort(), ['victim'], 'nothing was created outside the root');
  t.equal(sha('/etc/passwd'), passwd, '/etc/passwd is untouched');
  t.notOk(existsSync(join(unitDir, 'x')) || existsSync(join(f.stateDir, 'x')), 'nothing written next to the root');
  t.ok(lstatSync(join(info.root, 'home/unit/outfile')).isSymbolicLink(), 'the planted symlink itself was not replaced');
  await t.rejects(f.adapter.writeFile(name, { path: 'home/unit/f', content: 'x', mode: 0o4755, owner: 'root' }), { code: 'HOLON_E_ISOLATION', kind: 'refused', step: 'writeFile/mode' }, 'setuid mode refused');
  await t.rejects(f.adapter.writeFile(uniqueName('none'), { path: 'x', content: 'x', mode: 0o644, owner: 'root' }), { code: 'HOLON_E_ISOLATION', kind: 'not-found' }, 'unknown unit');
});
