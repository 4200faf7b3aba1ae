/**
 * Recovery after an agent restart: a fresh Bastille adapter lists, inspects,
 * thaws, uses and destroys the units an earlier instance created on the
 * simulated host, from their records and the system alone.
 */
import t from 'tap';
import { adapterFor, simulatedHost, spec } from './fixture.js';

const { iso, sim } = simulatedHost(t);

void t.test('recovery: a fresh adapter lists, inspects, uses and destroys what an earlier one created', async (t) => {
  await iso.create(spec('u-rec1'));
  await iso.create(spec('u-rec2', 'none'));
  await iso.freeze('u-rec2');
  const fresh = adapterFor(sim);
  t.same(await fresh.list(), ['u-rec1', 'u-rec2']);
  t.equal((await fresh.inspect('u-rec1'))?.hostLink, 'e0a_urec1');
  t.equal((await fresh.inspect('u-rec2'))?.status, 'frozen');
  await fresh.thaw('u-rec2');
  const r = await fresh.exec('u-rec2', ['/bin/sh', '-c', 'exit 5']);
  t.equal(r.exitCode, 5);
  for (const n of await fresh.list()) await fresh.destroy(n);
  t.same(await iso.list(), []);
});
