/**
 * Pre-approval by EK hash in the principal-signed policy, an untrusted EK,
 * kill -9 of the orchestrator mid-bootstrap (between challenge and attest,
 * and between persisting a step and replying: each machine ends enrolled
 * exactly once, one MACHINE_ENROLLED entry, one serial), and the daemon
 * contract of --check-config (exit 0 / 78 naming the option).
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectBus } from '../../adapters/nats/connect.js';
import { auditLedger, openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { TpmAttestor } from '../../adapters/tpm/index.js';
import { convertId } from '../../bus-schemas/ids.js';
import { ledgerSubject } from '../../bus-schemas/subjects.js';
import { ekHash, parseTpm2bPublic } from '../../bus-schemas/tpm/index.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import type { RefusedError } from '../../bus-schemas/v1/refusal.js';
import type { MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import { NatsServer } from '../harness/nats-server.js';
import { startSwtpm } from '../harness/swtpm.js';
import { holonctl, initCell, ORCHESTRATOR_MAIN, OrchestratorProcess, writeConfig, writePolicy } from './cell-fixture.js';
import { TestAgent } from './test-agent.js';

const nats = await NatsServer.start();
t.teardown(() => nats.stop());
const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const cell = initCell('required');
t.teardown(() => cell.cleanup());
const attestor = new TpmAttestor({ stateDir: join(cell.dir, 'ak'), tcti: tpm.tcti });
const identity = await attestor.provision();
const ekHex = ekHash(parseTpm2bPublic(identity.ekPublic)).slice('sha256:'.length);
writePolicy(cell, 'policy-plain.json', {});
writePolicy(cell, 'policy-pre.json', { preapproved_eks: [{ ek_sha256: ekHex }] });
// No EK trust anchors: an EK is trusted only when the policy pre-approves it.
const plainConfig = writeConfig(cell, 'plain.json', { nats: { servers: [nats.url] }, policy: 'policy-plain.json' });
const preConfig = writeConfig(cell, 'pre.json', { nats: { servers: [nats.url] }, policy: 'policy-pre.json' });
const conn = await connectBus({ servers: nats.url, reconnect: false, logger: pino({ level: 'silent' }) });
t.teardown(() => conn.close());
const agent = (): TestAgent => new TestAgent(conn, { tpm: { attestor, identity }, pinned: [cell.principalKey] });
const bus = ['--server', nats.url, '--dir', cell.dir];
let orch: OrchestratorProcess | undefined;
t.teardown(() => orch?.stop());

async function ledgerOf(a: TestAgent): Promise<LedgerEntryV1[]> {
  const replay = await openLedgerReplay(conn, { subject: ledgerSubject(convertId(a.machineId, 'holon')) });
  const out: LedgerEntryV1[] = [];
  for await (const r of replay.records) out.push(LedgerEntryV1.decode(r.data));
  return out;
}

async function enrolledOnce(t: Test, a: TestAgent): Promise<void> {
  const entries = await ledgerOf(a);
  const enrolled = entries.filter((e) => e.kind === 'MACHINE_ENROLLED');
  t.equal(enrolled.length, 1, 'exactly one MACHINE_ENROLLED entry');
  const s = await a.status();
  t.equal(s.state, 'ENROLLED');
  t.equal(s.holon_certificate?.serial, (enrolled[0]?.body as { serial?: number } | undefined)?.serial, 'the certificate served is the one in the ledger');
  const r = holonctl(['machines', ...bus, '--json']);
  const row = (JSON.parse(r.stdout) as { machines: MachineRowV1[] }).machines.find((m) => m.machine_id === a.machineId);
  t.match(row, { state: 'ENROLLED', approval: { source: 'policy' }, certificate_serial: s.holon_certificate?.serial });
}

void t.test('--check-config: 0 when valid, 78 naming the option otherwise', async (t) => {
  const check = (cfg: string): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [ORCHESTRATOR_MAIN, '--config', cfg, '--check-config'], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  };
  t.equal(check(preConfig).status, 0);
  const unknown = join(cell.dir, 'bad-key.json');
  writeFileSync(unknown, JSON.stringify({ data_dir: cell.dir, nats: { servers: [nats.url] }, bogus: 1 }));
  t.match(check(unknown), { status: 78, stderr: /\$\.bogus: unknown field/ });
  const badUrl = join(cell.dir, 'bad-url.json');
  writeFileSync(badUrl, JSON.stringify({ data_dir: cell.dir, nats: { servers: ['nats://user:pw@host:4222'] } }));
  t.match(check(badUrl), { status: 78, stderr: /\$\.nats\.servers\[0\]: expected a nats:\/\/host:port URL/ });
  const noKey = join(cell.dir, 'no-key.json');
  writeFileSync(noKey, JSON.stringify({ data_dir: cell.dir, nats: { servers: [nats.url] }, cell_key: 'missing.key' }));
  t.match(check(noKey), { status: 78, stderr: /\$\.cell_key: .*missing\.key: cannot read \(ENOENT\)/ });
  const otherPrincipal = join(cell.dir, 'other-principal.json');
  writeFileSync(otherPrincipal, JSON.stringify({ data_dir: cell.dir, nats: { servers: [nats.url] }, principal_key: agent().machineId }));
  t.match(check(otherPrincipal), { status: 78, stderr: /\$\.principal_key: the cell certificate is signed by/ });
});

void t.test('an EK neither certified nor pre-approved is refused and recorded', async (t) => {
  orch = await OrchestratorProcess.start(plainConfig);
  const a = agent();
  const e = (await a.hello().then(
    () => undefined,
    (err: unknown) => err,
  )) as RefusedError | undefined;
  t.equal(e?.code, 'HOLON_E_BOOT_EK_UNTRUSTED');
  t.match((await ledgerOf(a)).map((x) => [x.kind, (x.body as { code?: string }).code]), [['MACHINE_REFUSED', 'HOLON_E_BOOT_EK_UNTRUSTED']]);
  t.equal((await orch.stop()).code, 0);
});

void t.test('pre-approval by EK hash: enrolled on attestation, no holonctl approve', async (t) => {
  orch = await OrchestratorProcess.start(preConfig);
  const a = agent();
  const { status } = await a.bootstrap();
  t.equal(status.state, 'ENROLLED');
  t.ok(status.holon_certificate && status.nats_user_jwt, 'certificate and JWT at once');
  await enrolledOnce(t, a);
});

void t.test('kill -9 between challenge and attest: the challenge survives, enrolled once', async (t) => {
  const a = agent();
  const { challenge } = await a.hello();
  await (orch as OrchestratorProcess).kill9();
  orch = await OrchestratorProcess.start(preConfig);
  const status = await a.attest(a.makeAttest(challenge, await a.quote(challenge)));
  t.equal(status.state, 'ENROLLED');
  await enrolledOnce(t, a);
});

for (const kind of ['MACHINE_ATTESTED', 'MACHINE_ENROLLED']) {
  void t.test(`kill -9 after persisting ${kind}, before publishing and replying: enrolled exactly once`, async (t) => {
    await (orch as OrchestratorProcess).stop();
    orch = await OrchestratorProcess.start(preConfig, { HOLONET_TEST_CRASH_AFTER: kind });
    const crashing = orch;
    const a = agent();
    const { challenge } = await a.hello();
    const attest = a.makeAttest(challenge, await a.quote(challenge));
    const lost = await a.attest(attest, 2000).then(
      () => 'answered',
      () => 'no answer',
    );
    t.equal(lost, 'no answer', 'the orchestrator died before answering');
    t.equal((await crashing.exited()).signal, 'SIGKILL');
    orch = await OrchestratorProcess.start(preConfig);
    const status = await a.attest(attest);
    t.equal(status.state, 'ENROLLED', 'the retried attest finds the step done and finishes it');
    await enrolledOnce(t, a);
    const again = await a.attest(attest);
    t.same(again.holon_certificate, status.holon_certificate, 'and keeps answering the same enrollment');
  });
}

void t.test('after the crashes the whole ledger audits clean: no fork, no gap', async (t) => {
  const report = await auditLedger(conn, { mode: 'full', trustedWriters: [convertId(cell.cellId, 'key')] });
  t.equal(report.breaks, 0, JSON.stringify(report.first_break));
  // 1 refusal + 4 machines × (CHALLENGED, ATTESTED, APPROVED, ENROLLED): nothing written twice.
  t.equal(report.entries, 17, 'every step written exactly once');
});
