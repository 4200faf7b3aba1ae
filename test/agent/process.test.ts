/**
 * holon-agent as an operator runs it: `node dist/agent/main.js --config`,
 * real probes, a real swtpm, a real operator-mode nats-server and a fake
 * cell. kill -9 in the middle of the bootstrap (waiting for the challenge,
 * then waiting for approval) and restart: it resumes and ends ENROLLED,
 * enrolled once. SIGTERM: exit 0 within two seconds. No secret in the logs.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { startSwtpm } from '../harness/swtpm.js';
import { configJson, waitFor } from './agent-fixture.js';
import { FakeCell, keyOf, newSigner, startOperatorBus } from './fake-cell.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../agent/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'holonet-agent-proc-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const bus = await startOperatorBus(tmp);
t.teardown(() => bus.stop());
const principal = newSigner();
const tpmPolicy = { tpm: 'required' as const, ekRoots: [tpm.rootCaPem], ekIntermediates: [tpm.intermediateCaPem] };

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
t.teardown(() => {
  for (const c of live) c.kill('SIGKILL');
});

function writeConfig(name: string): { file: string; dataDir: string } {
  const dataDir = join(tmp, name, 'data');
  mkdirSync(dirname(dataDir), { recursive: true });
  const file = join(tmp, name, 'agent.json');
  const cfg = configJson({ dataDir, natsUrl: bus.server.url, bootstrapCreds: bus.bootstrapCredsFile, principalRoot: keyOf(principal), tcti: tpm.tcti });
  writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
  return { file, dataDir };
}

function spawnAgent(file: string): Proc {
  const child = spawn(process.execPath, [MAIN, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      res({ code, signal });
    }),
  );
  return { child, out: () => out, exited };
}

const stateOf = (dataDir: string): { state?: string; machine_id?: PublicKeyIdV1 } => {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8'));
  } catch {
    return {};
  }
};

void t.test('kill -9 mid-bootstrap, twice; each restart resumes; ENROLLED exactly once', async (t) => {
  const cell = new FakeCell({ bus, principal, policy: tpmPolicy, helloDelayMs: 4000 });
  await cell.start();
  t.teardown(() => cell.stop());
  const { file, dataDir } = writeConfig('kill9');

  // 1. Killed while waiting for the challenge.
  const p1 = spawnAgent(file);
  await waitFor('HELLO_SENT', () => stateOf(dataDir).state === 'HELLO_SENT');
  await waitFor('the cell got the hello', () => cell.hellos === 1);
  p1.child.kill('SIGKILL');
  t.equal((await p1.exited).signal, 'SIGKILL', 'agent killed -9 in HELLO_SENT');

  // 2. Restarted: a new hello (answered at once now); killed while awaiting approval.
  cell.helloDelayMs = 0;
  const p2 = spawnAgent(file);
  await waitFor('ATTESTED', () => stateOf(dataDir).state === 'ATTESTED', 20_000);
  t.equal(cell.hellos, 2, 'the restart sent a new hello');
  p2.child.kill('SIGKILL');
  await p2.exited;

  // 3. Approved while the agent is down; the restart resumes polling (no hello) and enrolls.
  const machine = stateOf(dataDir).machine_id as PublicKeyIdV1;
  cell.approve(machine);
  const p3 = spawnAgent(file);
  await waitFor('ENROLLED', () => stateOf(dataDir).state === 'ENROLLED', 20_000);
  await waitFor('a heartbeat', () => cell.heartbeats.length > 0);
  t.equal(cell.hellos, 2, 'resumed from ATTESTED without a new hello');
  t.equal(cell.issued.length, 1, 'enrolled exactly once');
  p3.child.kill('SIGTERM');
  t.equal((await p3.exited).code, 0, 'SIGTERM: exit 0');
});

function expectCleanStop(t: Test, e: { code: number | null; signal: NodeJS.Signals | null }, when: string, out: string): void {
  if (!t.same(e, { code: 0, signal: null }, `${when}: exit 0`)) t.comment(out);
}

void t.test('SIGTERM in the middle of the bootstrap (at start, awaiting the challenge, awaiting approval): exit 0', async (t) => {
  const cell = new FakeCell({ bus, principal, policy: tpmPolicy, helloDelayMs: 4000 });
  await cell.start();
  t.teardown(() => cell.stop());
  const { file, dataDir } = writeConfig('sigterm-mid');

  const p0 = spawnAgent(file);
  await waitFor('the machine key', () => { try { readFileSync(join(dataDir, 'machine.key')); return true; } catch { return false; } });
  p0.child.kill('SIGTERM');
  expectCleanStop(t, await p0.exited, 'at start', p0.out());
  t.notOk(['ATTESTED', 'ENROLLED'].includes(stateOf(dataDir).state ?? ''), 'stopped before attesting');

  const hellos = cell.hellos;
  const p1 = spawnAgent(file);
  await waitFor('the cell got the hello', () => cell.hellos > hellos && stateOf(dataDir).state === 'HELLO_SENT', 20_000);
  p1.child.kill('SIGTERM');
  expectCleanStop(t, await p1.exited, 'awaiting the challenge', p1.out());

  cell.helloDelayMs = 0;
  const p2 = spawnAgent(file);
  await waitFor('ATTESTED', () => stateOf(dataDir).state === 'ATTESTED', 20_000);
  p2.child.kill('SIGTERM');
  expectCleanStop(t, await p2.exited, 'awaiting approval', p2.out());
});

void t.test('SIGTERM exits 0 within two seconds; the logs are JSON and hold no secret', async (t) => {
  const cell = new FakeCell({ bus, principal, policy: tpmPolicy });
  await cell.start();
  t.teardown(() => cell.stop());
  const { file, dataDir } = writeConfig('sigterm');
  const p = spawnAgent(file);
  await waitFor('ATTESTED', () => stateOf(dataDir).state === 'ATTESTED', 20_000);
  cell.approve(stateOf(dataDir).machine_id as PublicKeyIdV1);
  await waitFor('heartbeats', () => cell.heartbeats.length >= 2, 20_000);

  const t0 = Date.now();
  p.child.kill('SIGTERM');
  const { code } = await p.exited;
  const ms = Date.now() - t0;
  t.equal(code, 0, 'exit 0');
  t.ok(ms < 2000, `stopped in ${ms} ms`);

  const out = p.out();
  const lines = out.trim().split('\n');
  t.ok(lines.every((l) => l.startsWith('{')), 'stdout and stderr carry only JSON log lines');
  const msgs = lines.map((l) => JSON.parse(l) as { msg: string });
  t.ok(msgs.some((m) => m.msg === 'enrolled') && msgs.some((m) => m.msg === 'stopping') && msgs.some((m) => m.msg === 'stopped'), 'enrolled, stopping, stopped');

  const machineSeed = (JSON.parse(readFileSync(join(dataDir, 'machine.key'), 'utf8')) as { seed: string }).seed;
  const natsSeed = readFileSync(join(dataDir, 'nats-user.nk'), 'utf8').trim();
  const creds = readFileSync(join(dataDir, 'holon.creds'), 'utf8');
  const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(creds)?.[1] ?? 'no-jwt';
  t.notOk(out.includes(machineSeed), 'the machine key seed is not logged');
  t.notOk(out.includes(natsSeed), 'the NATS nkey seed is not logged');
  t.notOk(out.includes(jwt), 'the user JWT is not logged');
  t.notOk(out.includes(jwt.split('.')[2] as string), 'nor its signature');
});

void t.test('--check-config: 0 for a valid file, 78 naming the path otherwise; nothing created', async (t) => {
  const { file, dataDir } = writeConfig('check');
  const ok = spawnSync(process.execPath, [MAIN, '--config', file, '--check-config'], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  const bad = join(tmp, 'check', 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), tpm: { mode: 'sometimes' } }));
  const r = spawnSync(process.execPath, [MAIN, '--config', bad, '--check-config'], { encoding: 'utf8' });
  t.equal(r.status, 78);
  t.equal(r.stderr.trim(), `agent config ${bad}: $.tpm.mode: expected one of auto, required, off`);
  const missing = spawnSync(process.execPath, [MAIN, '--config', join(tmp, 'nope.json')], { encoding: 'utf8' });
  t.equal(missing.status, 78, 'a missing config file exits 78 (daemon mode, JSON log)');
  t.match(JSON.parse(missing.stdout.trim()) as object, { level: 60, code: 'HOLON_E_AGENT_CONFIG', path: '$', reason: 'cannot read the file (ENOENT)' });
  t.throws(() => readFileSync(join(dataDir, 'machine.key')), 'no key was generated by a check');
});

void t.test('--help exits 0 with the usage; --version prints the release; a bad flag exits 64', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^holon-agent — .*\n\nusage: holon-agent --config <file> \[--check-config\]\n/);
  t.equal(help.stderr, '');
  const v = spawnSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' });
  t.equal(v.status, 0);
  t.equal(v.stdout, `holon-agent ${version}\n`);
  const bad = spawnSync(process.execPath, [MAIN, '--bogus'], { encoding: 'utf8' });
  t.equal(bad.status, 64);
  t.match(bad.stderr, /^holon-agent: Unknown option '--bogus'.*\nusage: holon-agent --config <file>/s);
});
