/**
 * The one unit path rule (bus-schemas/units/unit-path.ts), and that every
 * adapter refuses with it: the same path gets the same reason from Linux,
 * Bastille and noop, each in its own error class.
 */
import t from 'tap';
import { createNoopIsolation } from '../../adapters/isolation/noop/index.js';
import { segmentsOrRefuse as bastilleSegments } from '../../adapters/isolation/bastille/safe-write.js';
import { segmentsOrRefuse as linuxSegments } from '../../adapters/isolation/linux/safe-write.js';
import { UNIT_PATH_MAX_BYTES, UNIT_PATH_MAX_SEGMENTS, splitUnitPath, type UnitPathCheck } from '../../bus-schemas/units/unit-path.js';

const ok = (...segments: string[]): UnitPathCheck => ({ ok: true, segments });
const no = (reason: string): UnitPathCheck => ({ ok: false, reason });

/** Refused paths and the exact reason (the stricter of the rules the adapters had before). */
const REFUSED: [unknown, string][] = [
  ['', 'is empty'],
  [undefined, 'is not a string'],
  [42, 'is not a string'],
  ['.', 'names the root itself'],
  ['./', 'names the root itself'],
  ['//', 'is absolute; paths are relative to the unit root'],
  ['/etc/passwd', 'is absolute; paths are relative to the unit root'],
  ['..', "contains '..'"],
  ['../x', "contains '..'"],
  ['home/unit/../../../x', "contains '..'"],
  ['a/b/..', "contains '..'"],
  ['a\0b', 'contains NUL'],
  [`${'a/'.repeat(2048)}b`, `is longer than ${UNIT_PATH_MAX_BYTES} bytes`],
  // 1366 × 3 bytes: shorter than 4096 characters, longer than 4096 bytes
  ['€'.repeat(1366), `is longer than ${UNIT_PATH_MAX_BYTES} bytes`],
  [`a/${'x'.repeat(256)}`, 'has a component longer than 255 bytes'],
  [`a/${'é'.repeat(128)}`, 'has a component longer than 255 bytes'],
  [Array.from({ length: UNIT_PATH_MAX_SEGMENTS + 1 }, () => 'd').join('/'), `has more than ${UNIT_PATH_MAX_SEGMENTS} segments`],
];

void t.test('accepted paths split into segments; . and empty segments are dropped', async (t) => {
  t.same(splitUnitPath('home/unit/.config/holon/key'), ok('home', 'unit', '.config', 'holon', 'key'));
  t.same(splitUnitPath('./home//unit/./key/'), ok('home', 'unit', 'key'), 'canonicalized');
  t.same(splitUnitPath('...'), ok('...'), '... is a name, not a climb');
  t.same(splitUnitPath('a..b/..c'), ok('a..b', '..c'));
  t.same(splitUnitPath(`a/${'x'.repeat(255)}`), ok('a', 'x'.repeat(255)), 'a 255-byte component');
  t.same(splitUnitPath(Array.from({ length: UNIT_PATH_MAX_SEGMENTS }, () => 'd').join('/')).ok, true, `${UNIT_PATH_MAX_SEGMENTS} segments`);
  const longest = `${Array.from({ length: 16 }, () => 'a'.repeat(255)).join('/')}/`;
  t.equal(longest.length, UNIT_PATH_MAX_BYTES);
  t.same(splitUnitPath(longest).ok, true, 'exactly 4096 bytes');
  t.same(splitUnitPath(`${longest}b`), no(`is longer than ${UNIT_PATH_MAX_BYTES} bytes`), 'one byte more');
});

void t.test('refused paths, with the exact reason', async (t) => {
  for (const [path, reason] of REFUSED) t.same(splitUnitPath(path), no(reason), `${JSON.stringify(String(path).slice(0, 40))}: ${reason}`);
});

void t.test('every adapter refuses with the shared rule, in its own error class', async (t) => {
  for (const [path, reason] of REFUSED) {
    const shown = JSON.stringify(String(path).slice(0, 200));
    t.throws(() => linuxSegments('u1', path), { code: 'HOLON_E_ISOLATION', kind: 'refused', step: 'writeFile/path', message: `isolation(linux): u1: writeFile/path: path ${shown} ${reason}` }, `linux: ${reason}`);
    t.throws(() => bastilleSegments('u1', path), { code: 'HOLON_E_ISOLATION_BASTILLE', kind: 'refused', message: `isolation(bastille): writeFile u1: path ${shown} ${reason}` }, `bastille: ${reason}`);
  }
  // Bastille used to accept any length: now the same bound as Linux.
  t.throws(() => bastilleSegments('u1', 'x/'.repeat(3000)), { kind: 'refused', message: /is longer than 4096 bytes$/ });
  t.same(linuxSegments('u1', './a//b'), ['a', 'b']);
  t.same(bastilleSegments('u1', './a//b'), ['a', 'b']);

  const noop = createNoopIsolation();
  await noop.create({ name: 'u1', role: 'BUILD_WORKER', limits: { cpuMillicores: 100, memoryBytes: 1 << 20, pids: 8 }, network: 'none' });
  for (const [path, reason] of REFUSED.filter(([p]) => typeof p === 'string')) {
    await t.rejects(
      noop.writeFile('u1', { path: path as string, content: 'x', mode: 0o600, owner: 'unit' }),
      { code: 'HOLON_E_ISOLATION_NOOP', message: `isolation(noop): writeFile u1: path ${JSON.stringify(String(path).slice(0, 200))} ${reason}` },
      `noop: ${reason}`,
    );
  }
  await noop.writeFile('u1', { path: './etc//motd', content: 'hi', mode: 0o644, owner: 'root' });
  t.same([...(noop.files.get('u1')?.keys() ?? [])], ['etc/motd'], 'noop stores the canonical path');
});
