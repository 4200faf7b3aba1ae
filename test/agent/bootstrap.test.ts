/**
 * The agent's bootstrap client against a fake cell (the real cell half of
 * the protocol) over a real nats-server in operator mode, with a real swtpm:
 * enrollment with the approval arriving later, heartbeats on the right
 * subject that verify, an idempotent restart, and refusal of a cell that
 * cannot prove its authority — with nothing sent after the hello.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapError } from '../../bus-schemas/bootstrap/bootstrap-error.js';
import { convertId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { evtSubject } from '../../bus-schemas/subjects.js';
import { HeartbeatV1 } from '../../bus-schemas/v1/heartbeat.js';
import { startSwtpm } from '../harness/swtpm.js';
import { FakeCell, keyOf, newSigner, startOperatorBus, type CellMode } from './fake-cell.js';
import { startAgent, swtpmPort, waitFor } from './agent-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'holonet-agent-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const bus = await startOperatorBus(tmp);
t.teardown(() => bus.stop());
const principal = newSigner();
const tpmPolicy = { tpm: 'required' as const, ekRoots: [tpm.rootCaPem], ekIntermediates: [tpm.intermediateCaPem] };

let n = 0;
function agentIn(dir: string, tcti = tpm.tcti) {
  return startAgent({ dataDir: dir, natsUrl: bus.server.url, bootstrapCreds: bus.bootstrapCredsFile, principalRoot: keyOf(principal), tcti, tpm: swtpmPort(join(dir, 'tpm'), tcti) });
}
const readState = (dir: string): Record<string, unknown> & { state?: string; machine_id?: string; cell_certificate?: { cell_id: string }; software_only?: boolean; holon_certificate?: { serial: number }; refusal?: unknown } | undefined => {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch {
    return undefined;
  }
};

void t.test('UNBOOTSTRAPPED → ATTESTED, approval later → ENROLLED; heartbeats verify; a restart does not re-bootstrap', async (t) => {
  const cell = new FakeCell({ bus, principal, policy: tpmPolicy });
  await cell.start();
  t.teardown(() => cell.stop());
  const dir = join(tmp, `a${++n}`);

  const agent = agentIn(dir);
  const attested = await waitFor('ATTESTED in state.json', () => (readState(dir)?.state === 'ATTESTED' ? readState(dir) : undefined));
  const machine = attested?.machine_id as PublicKeyIdV1;
  t.equal(attested?.cell_certificate?.cell_id, cell.cellId, 'the verified cell certificate is kept');
  t.equal(attested?.software_only, false, 'attested with the TPM');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(readState(dir)?.state, 'ATTESTED', 'it keeps waiting while the machine is not approved');
  t.ok(cell.seen.filter((s) => s === 'api.bootstrap.status').length >= 1, 'and polls api.bootstrap.status meanwhile');

  cell.approve(machine);
  const running = await agent.running;
  const holonId = convertId(machine, 'holon');
  t.equal(running.enrollment.holonId, holonId, 'enrolled as the HOST holon of its machine key');
  const st = readState(dir);
  t.equal(st?.state, 'ENROLLED');
  t.equal(st?.holon_certificate?.serial, cell.issued[0]?.certificate.serial, 'the certificate the cell issued is stored');
  t.equal(statSync(join(dir, 'holon.creds')).mode & 0o777, 0o600, '.creds is 0600');
  t.equal(statSync(join(dir, 'machine.key')).mode & 0o777, 0o600, 'machine key is 0600');
  t.equal(statSync(dir).mode & 0o777, 0o700, 'data dir is 0700');

  // Heartbeats come over the agent's OWN credentials (the bootstrap user could not publish evt.>).
  await waitFor('three heartbeats', () => cell.heartbeats.length >= 3);
  const subject = evtSubject(holonId, 'heartbeat');
  t.ok(cell.seen.includes(subject), `heartbeats on ${subject}`);
  const beats = cell.heartbeats.map((b) => HeartbeatV1.decode(b));
  for (const hb of beats) HeartbeatV1.verify(hb, machine);
  t.same(beats.slice(0, 3).map((b) => b.seq), [1, 2, 3], 'sealed by the machine key, counted from 1');

  const stopped = await agent.stop();
  t.equal(stopped, undefined, 'a stop ends runAgent cleanly');
  const hellos = cell.hellos;
  const issued = cell.issued.length;

  // Restart: stored credentials are valid → no hello, no new enrollment, heartbeats resume.
  const again = agentIn(dir);
  const r2 = await again.running;
  t.equal(r2.enrollment.holonId, holonId);
  const before = cell.heartbeats.length;
  await waitFor('a heartbeat after restart', () => cell.heartbeats.length > before);
  t.equal(cell.hellos, hellos, 'no new hello after a restart');
  t.equal(cell.issued.length, issued, 'enrolled exactly once');
  t.ok(again.log.messages().includes('already enrolled; stored credentials are valid'));
  await again.stop();
});

for (const [mode, reason] of [
  ['foreign', /not a pinned principal root/],
  ['forged', /cell certificate seal does not verify/],
] as [CellMode, RegExp][]) {
  void t.test(`a ${mode} cell certificate: the agent refuses, records why, and sends nothing after the hello`, async (t) => {
    const cell = new FakeCell({ bus, principal, policy: tpmPolicy, mode });
    await cell.start();
    t.teardown(() => cell.stop());
    const dir = join(tmp, `a${++n}`);
    const agent = agentIn(dir);
    const err = await agent.done;
    t.ok(err instanceof BootstrapError, 'runAgent fails with a BootstrapError');
    t.equal((err as BootstrapError).code, 'HOLON_E_BOOT_UNTRUSTED_CELL');
    t.match((err as BootstrapError).reason, reason);
    await new Promise((r) => setTimeout(r, 300));
    t.same(cell.seen, ['api.bootstrap.hello'], 'the cell saw the hello and nothing else');
    const st = readState(dir);
    t.equal(st?.state, 'REFUSED');
    t.match(st?.refusal, { by: 'agent', code: 'HOLON_E_BOOT_UNTRUSTED_CELL', reason });
    const line = agent.log.lines.find((l) => l.msg === 'refusing the cell: it did not prove its authority');
    t.match(line, { level: 50, code: 'HOLON_E_BOOT_UNTRUSTED_CELL', reason }, 'the log says why');
  });
}
