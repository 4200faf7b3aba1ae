/**
 * The self-test an operator runs on a real FreeBSD 14 host with Bastille 1.4
 * (deploy/freebsd/selftest.sh → adapters/isolation/bastille/selftest.ts),
 * run here against the simulator: the report it prints here is the report
 * expected there, check for check. The shell script itself cannot run here
 * (it refuses anything but FreeBSD); it is checked for syntax and refusal.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSelftest, SELFTEST_CHECKS } from '../../../../adapters/isolation/bastille/index.js';
import { installSim } from './sim/install.js';
import { leftOf, optionsFor } from './fixture.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const SCRIPT = join(REPO, 'deploy/freebsd/selftest.sh');

void t.test('the self-test passes every check against the simulator (an egress unit, Bastille on ZFS)', async (t) => {
  const sim = installSim({ config: { zfs: { pool: 'zroot', prefix: 'bastille' } } });
  t.teardown(() => sim.cleanup());
  const report = await runSelftest({ adapter: optionsFor(sim), network: 'egress', unit: 'u-selftest0a1b2c' });
  t.same(
    report.lines.map((l) => l.split(' ').slice(0, 2).join(' ')),
    SELFTEST_CHECKS.map((c) => `PASS ${c}`),
    report.lines.join('\n'),
  );
  t.same([report.passed, report.failed, report.jail], [SELFTEST_CHECKS.length, 0, 'uselftest0a1b2c']);
  t.match(report.lines.find((l) => l.startsWith('PASS usage')), /storage \d+ \(zfs zroot\/bastille\/jails\/uselftest0a1b2c\)/);
  t.same(leftOf(sim, 'uselftest0a1b2c', 'e0a_bastille1'), [], 'and the simulated host agrees: nothing left');
});

void t.test('deploy/freebsd/selftest.sh: valid sh, refuses to run anywhere but FreeBSD', async (t) => {
  const syntax = spawnSync('sh', ['-n', SCRIPT], { encoding: 'utf8' });
  t.equal(syntax.status, 0, syntax.stderr);
  const r = spawnSync('sh', [SCRIPT, '--release', '14.2-RELEASE'], { encoding: 'utf8' });
  t.equal(r.status, 3, 'exit 3: not this host');
  t.match(r.stderr, 'selftest.sh: this is Linux, not FreeBSD');
  const h = spawnSync('sh', [SCRIPT, '--help'], { encoding: 'utf8' });
  t.equal(h.status, 0);
  t.match(h.stdout, 'Usage: deploy/freebsd/selftest.sh');
});
