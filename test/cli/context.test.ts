/**
 * holonctl finds its cell with no flags: `holonctl up` records its server and
 * holonctl's credential in <dir>/up/context.json, and in another terminal
 * (here: other processes, in the directory that holds .holonet) machines,
 * provision, holons, show, job run, teardown and audit work with no
 * --server, --creds or --dir. HOLONET_DIR / HOLONET_SERVER override the data
 * dir, flags override them. Runtime conditions exit 1 (a job on the destroyed
 * unit, an approval of a key id that is no machine — which leaves no row
 * behind). When up stops, the context goes, and holonctl says what to pass.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import type { MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import type { HolonRowV1, ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctlCommand } from '../../cli/commands/up.js';
import { startUp, stopUp } from '../provision/up-fixture.js';
import { MAIN, makeTemp } from './init-helpers.js';

const { dir: tmp, remove } = makeTemp('holonet-context-');
t.teardown(remove);
const dir = join(tmp, '.holonet');

/** The environment of a fresh terminal: none of holonctl's variables. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOLONET_')));

/** holonctl in `cwd` (default: the directory holding .holonet), with no bus flags unless given. */
function holonctl(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd: opts.cwd ?? tmp, env: { ...CLEAN_ENV, ...(opts.env ?? {}) } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const up = await startUp(dir);
t.teardown(() => stopUp(up));

void t.test('holonctl up records the server and the credential', async (t) => {
  const context = JSON.parse(readFileSync(join(dir, 'up/context.json'), 'utf8')) as Record<string, string>;
  t.match(context, { url: up.report.nats_url, creds: up.report.creds, inbox_prefix: /^_INBOX\.hkey1/, description: `holonctl up: local cell ${up.report.cell_id}` }, 'the fields of a nats CLI context');
  t.equal((statSync(join(dir, 'up/context.json')).mode & 0o777).toString(8), '600');
});

void t.test('every bus command works with no flags', async (t) => {
  const m = holonctl(['machines', '--json']);
  t.equal(m.status, 0, m.stderr);
  const rows = (JSON.parse(m.stdout) as { machines: MachineRowV1[] }).machines;
  t.match(rows, [{ machine_id: up.report.machine_id, state: 'ENROLLED' }], 'machines');

  const p = holonctl(['provision', '--role', 'BUILD_WORKER', '--json']);
  t.equal(p.status, 0, p.stderr);
  const placed = JSON.parse(p.stdout) as ProvisionStatusV1;
  t.equal(placed.holon.state, 'RUNNING', 'provision');
  const holon = placed.holon.holon_id as string;

  const h = holonctl(['holons', '--json']);
  t.equal(h.status, 0, h.stderr);
  t.ok((JSON.parse(h.stdout) as { holons: HolonRowV1[] }).holons.some((r) => r.holon_id === holon), 'holons');
  const s = holonctl(['show', holon]);
  t.equal(s.status, 0, s.stderr);
  t.match(s.stdout, `holon      ${holon}\nstate      RUNNING`, 'show');

  const home = join(dir, 'agent/isolation/units', placed.holon.unit_name as string, 'root/home/unit');
  const script = '#!/bin/sh\necho "hello from $(hostname)"\n';
  writeFileSync(join(home, 'hello.sh'), script, { mode: 0o755 });
  chownSync(join(home, 'hello.sh'), statSync(home).uid, statSync(home).gid);
  const sha = createHash('sha256').update(script).digest('hex');
  const j = holonctl(['job', 'run', holon, '--sha256', sha, '--', '/home/unit/hello.sh']);
  t.equal(j.status, 0, j.stderr);
  t.equal(j.stdout, `hello from ${placed.holon.unit_name as string}\n`, 'job run');

  const d = holonctl(['teardown', holon, '--json']);
  t.equal(d.status, 0, d.stderr);
  t.ok((JSON.parse(d.stdout) as ProvisionStatusV1).destruction, 'teardown, with its destruction receipt');

  const again = holonctl(['job', 'run', holon, '--sha256', sha, '--', '/home/unit/hello.sh']);
  t.equal(again.status, 1, 'a job on the destroyed unit exits 1 (not 2: the command line is fine)');
  t.equal(again.stderr, `holonctl job: holon ${holon} is DESTROYED, not running: nothing was run\n`);

  const a = holonctl(['audit', '--json']);
  t.equal(a.status, 0, a.stderr);
  t.match(JSON.parse(a.stdout), { ok: true, servers: [up.report.nats_url] }, 'audit');
});

void t.test('approving a key id that is no machine: exit 1, and no row appears', async (t) => {
  const stranger = encodeId('key', generateEd25519().publicKey);
  const r = holonctl(['approve', stranger]);
  t.equal(r.status, 1);
  t.match(r.stderr, `lists no machine ${stranger}; nothing was approved`);
  const rows = (JSON.parse(holonctl(['machines', '--json']).stdout) as { machines: MachineRowV1[] }).machines;
  t.same(rows.map((m) => m.machine_id), [up.report.machine_id], 'no phantom row');
});

void t.test('the environment overrides the data dir; flags override the environment', async (t) => {
  const elsewhere = join(tmp, 'elsewhere');
  mkdirSync(elsewhere);
  t.equal(holonctl(['machines'], { cwd: elsewhere }).status, 2, 'no .holonet here');
  const byEnv = holonctl(['machines'], { cwd: elsewhere, env: { HOLONET_DIR: dir } });
  t.equal(byEnv.status, 0, byEnv.stderr);
  t.match(byEnv.stdout, /: 1 machine\n/);
  t.equal(holonctl(['machines', '--dir', dir], { cwd: elsewhere }).status, 0, '--dir');

  const down = holonctl(['machines'], { env: { HOLONET_SERVER: 'nats://127.0.0.1:1' } });
  t.equal(down.status, 1);
  t.match(down.stderr, /cannot connect: .*; the server is HOLONET_SERVER \[HOLON_E_BUS_CONNECT\]\n$/);
  const flagWins = holonctl(['machines', '--server', up.report.nats_url], { env: { HOLONET_SERVER: 'nats://127.0.0.1:1' } });
  t.equal(flagWins.status, 0, flagWins.stderr);
  const badCreds = holonctl(['machines'], { env: { HOLONET_CREDS: join(tmp, 'missing.creds') } });
  t.equal(badCreds.status, 1, 'HOLONET_CREDS is used over the data dir’s');
  t.match(badCreds.stderr, `missing.creds`);
});

void t.test('up tells the user `holonctl` when the holonctl on PATH is this one', async (t) => {
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  t.equal(holonctlCommand({ PATH: bin }), `node ${MAIN}`, 'none on PATH');
  symlinkSync(MAIN, join(bin, 'holonctl'));
  const executable = (statSync(MAIN).mode & 0o111) !== 0;
  t.equal(holonctlCommand({ PATH: bin }), executable ? 'holonctl' : `node ${MAIN}`, `a link to this build (${executable ? 'executable' : 'not executable'})`);
  const other = join(tmp, 'other-bin');
  mkdirSync(other);
  writeFileSync(join(other, 'holonctl'), '#!/bin/sh\n');
  chmodSync(join(other, 'holonctl'), 0o755);
  t.equal(holonctlCommand({ PATH: `${other}:${bin}` }), `node ${MAIN}`, 'another holonctl comes first');
});

void t.test('when up stops, its context goes, and holonctl says what to pass', async (t) => {
  await stopUp(up);
  t.notOk(existsSync(join(dir, 'up/context.json')), 'context removed');
  const r = holonctl(['machines']);
  t.equal(r.status, 2);
  t.match(r.stderr, /^holonctl machines: no NATS server: pass --server <url> \(and --creds <file>\), or set HOLONET_SERVER \(and HOLONET_CREDS\), or run holonctl up/);
});
