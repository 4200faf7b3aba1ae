/**
 * holon-orchestrator end to end: real nats-server, real swtpm, the real
 * orchestrator process and the real holonctl; a test-side agent built from
 * the protocol halves. Approve flow to ENROLLED (certificate + JWT), the
 * same enrollment on re-bootstrap, every attest/hello refusal recorded in
 * the ledger and shown by `holonctl machines --json`, then the projection
 * deleted and rebuilt from the ledger with the same output.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode as decodeJwt } from '@nats-io/jwt';
import { pino } from 'pino';
import { connectBus } from '../../adapters/nats/connect.js';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { TpmAttestor } from '../../adapters/tpm/index.js';
import { convertId } from '../../bus-schemas/ids.js';
import { agentConsumerName, ledgerSubject } from '../../bus-schemas/subjects.js';
import { HolonCertificateV1 } from '../../bus-schemas/v1/holon-certificate.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import type { RefusedError } from '../../bus-schemas/v1/refusal.js';
import type { MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import { NatsServer } from '../harness/nats-server.js';
import { startSwtpm } from '../harness/swtpm.js';
import { holonctl, initCell, OrchestratorProcess, writeConfig, writePolicy } from './cell-fixture.js';
import { TestAgent } from './test-agent.js';

const nats = await NatsServer.start();
t.teardown(() => nats.stop());
const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const cell = initCell('required');
t.teardown(() => cell.cleanup());
const attestor = new TpmAttestor({ stateDir: join(cell.dir, 'ak'), tcti: tpm.tcti });
const identity = await attestor.provision();
writeFileSync(join(cell.dir, 'ek-root.pem'), tpm.rootCaPem);
writeFileSync(join(cell.dir, 'ek-issuer.pem'), tpm.intermediateCaPem);
const BAD_PCR = '11'.repeat(32);
writePolicy(cell, 'policy-a.json', { pcr_golden: [{ machine_class: 'bad-class', bank: 'sha256', pcrs: [{ index: 0, digest: BAD_PCR }] }] });
const config = writeConfig(cell, 'orchestrator.json', {
  nats: { servers: [nats.url] },
  policy: 'policy-a.json',
  ek_trust_anchors: ['ek-root.pem'],
  ek_intermediates: ['ek-issuer.pem'],
  challenge_ttl_ms: 4000,
});
let orch = await OrchestratorProcess.start(config);
t.teardown(() => orch.stop());
const conn = await connectBus({ servers: nats.url, reconnect: false, logger: pino({ level: 'silent' }) });
t.teardown(() => conn.close());
const agent = (o: Partial<ConstructorParameters<typeof TestAgent>[1]> = {}): TestAgent => new TestAgent(conn, { tpm: { attestor, identity }, pinned: [cell.principalKey], ...o });
const bus = ['--server', nats.url, '--dir', cell.dir];

function machines(): { total: number; machines: MachineRowV1[] } {
  const r = holonctl(['machines', ...bus, '--json']);
  if (r.status !== 0) throw new Error(`holonctl machines: ${r.stderr}`);
  const list = JSON.parse(r.stdout) as { total: number; machines: MachineRowV1[] };
  // Liveness describes the present (heartbeats since this process started), not the projection: left out.
  return { ...list, machines: list.machines.map(({ liveness: _l, ...row }) => row) };
}
const rowOf = (a: TestAgent): MachineRowV1 | undefined => machines().machines.find((m) => m.machine_id === a.machineId);

async function ledgerKinds(a: TestAgent): Promise<{ kind: string; body: Record<string, unknown> }[]> {
  const replay = await openLedgerReplay(conn, { subject: ledgerSubject(convertId(a.machineId, 'holon')) });
  const out: { kind: string; body: Record<string, unknown> }[] = [];
  for await (const r of replay.records) {
    const e = LedgerEntryV1.decode(r.data);
    out.push({ kind: e.kind, body: e.body as Record<string, unknown> });
  }
  return out;
}

async function refusedWith(t: Test, p: Promise<unknown>, code: string): Promise<void> {
  const e = (await p.then(
    () => undefined,
    (err: unknown) => err,
  )) as RefusedError | undefined;
  t.equal(e?.code, code, `refused with ${code}`);
}

const approved = agent();
let firstCertificate: HolonCertificateV1 | undefined;

void t.test('attested → approve via holonctl → enrolled with certificate and JWT', async (t) => {
  const { status } = await approved.bootstrap();
  t.equal(status.state, 'ATTESTED');
  t.equal(status.software_only, false);
  const waiting = await approved.status();
  t.equal(waiting.state, 'ATTESTED', 'unapproved: stays ATTESTED');
  t.equal(waiting.nats_user_jwt, undefined, 'and gets no credentials');
  t.match(rowOf(approved), { state: 'ATTESTED', ek_trusted_by: 'certificate', refusal: { code: 'HOLON_E_BOOT_NOT_APPROVED' } });

  const r = holonctl(['approve', approved.machineId, ...bus, '--json']);
  t.equal(r.status, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { machines: [{ machine_id: approved.machineId, state: 'ENROLLED', approval: { source: 'principal' } }] });

  const s = await approved.status();
  t.equal(s.state, 'ENROLLED');
  const cert = s.holon_certificate as HolonCertificateV1;
  HolonCertificateV1.verify(cert, convertId(cell.cellId, 'key'));
  t.match(cert, { holon_id: convertId(approved.machineId, 'holon'), role: 'HOST', cell_id: cell.cellId, parent_holon: null });
  firstCertificate = cert;
  const claims = decodeJwt<{ pub: { allow: string[] }; sub: { allow: string[] } }>(s.nats_user_jwt as string);
  const holon = convertId(approved.machineId, 'holon');
  t.equal(claims.sub, approved.natsUserKey, 'the JWT is for the agent’s own nkey');
  t.same(
    claims.nats.pub?.allow,
    [`holon.${holon}.>`, `evt.${holon}.>`, `$JS.ACK.CMD.${agentConsumerName(approved.machineId)}.>`, `_INBOX.${convertId(cell.cellId, 'key')}.>`],
    'publish: its own subjects, the acks of its own command queue, answers into the cell\'s inbox only',
  );
  t.same(claims.nats.sub?.allow, [`holon.${holon}.>`, `_INBOX.${approved.machineId}.>`], 'subscribe: its own subjects and inbox');
  const kinds = (await ledgerKinds(approved)).map((e) => e.kind);
  t.same(kinds, ['MACHINE_CHALLENGED', 'MACHINE_ATTESTED', 'MACHINE_REFUSED', 'MACHINE_APPROVED', 'MACHINE_ENROLLED']);
  const again = holonctl(['approve', approved.machineId, ...bus, '--json']);
  t.equal(again.status, 0, 'approving an enrolled machine is harmless');
});

void t.test('re-bootstrap with the same machine key and TPM returns the same enrollment', async (t) => {
  const same = agent({ machine: approved.machine, natsUserKey: approved.natsUserKey });
  const { status } = await same.bootstrap();
  t.equal(status.state, 'ENROLLED');
  t.same(status.holon_certificate, firstCertificate, 'same certificate, same serial');
  const enrolled = (await ledgerKinds(approved)).filter((e) => e.kind === 'MACHINE_ENROLLED');
  t.equal(enrolled.length, 1, 'enrolled exactly once');
});

void t.test('each refusal is typed, recorded in the ledger and shown by holonctl machines', async (t) => {
  const expect: [TestAgent, string][] = [];

  const noTpm = agent({ tpm: undefined });
  await refusedWith(t, noTpm.hello(noTpm.makeHello({ withTpm: false })), 'HOLON_E_BOOT_TPM_REQUIRED');
  expect.push([noTpm, 'HOLON_E_BOOT_TPM_REQUIRED']);

  const badAk = agent();
  await refusedWith(t, badAk.hello(badAk.makeHello({ akPublic: identity.ekPublic })), 'HOLON_E_BOOT_AK_ATTRIBUTES');
  expect.push([badAk, 'HOLON_E_BOOT_AK_ATTRIBUTES']);

  const wrongSecret = agent();
  await refusedWith(t, wrongSecret.bootstrap({ secret: randomBytes(32) }), 'HOLON_E_BOOT_ACTIVATION');
  expect.push([wrongSecret, 'HOLON_E_BOOT_ACTIVATION']);

  const otherPcrs = agent();
  await refusedWith(t, otherPcrs.bootstrap({ pcrs: [4, 5] }), 'HOLON_E_BOOT_PCR_SELECTION');
  expect.push([otherPcrs, 'HOLON_E_BOOT_PCR_SELECTION']);

  const replayNonce = agent();
  const done = await replayNonce.bootstrap();
  t.equal(done.status.state, 'ATTESTED');
  const retried = await replayNonce.attest(done.attest);
  t.equal(retried.state, 'ATTESTED', 'the very same attest again (a lost reply) gets the same status');
  const quote = done.attest.tpm_quote;
  await refusedWith(t, replayNonce.attest(replayNonce.makeAttest(done.challenge, quote, Date.now() + 1)), 'HOLON_E_BOOT_NONCE_REPLAY');
  expect.push([replayNonce, 'HOLON_E_BOOT_NONCE_REPLAY']);

  const replayQuote = agent();
  const first = await replayQuote.bootstrap();
  const { challenge: second } = await replayQuote.hello();
  await refusedWith(t, replayQuote.attest(replayQuote.makeAttest(second, first.attest.tpm_quote)), 'HOLON_E_BOOT_QUOTE_REPLAY');
  expect.push([replayQuote, 'HOLON_E_BOOT_QUOTE_REPLAY']);

  const offPolicy = agent();
  t.equal((await offPolicy.bootstrap()).status.state, 'ATTESTED');
  const r = holonctl(['approve', offPolicy.machineId, ...bus, '--class', 'bad-class', '--json']);
  t.equal(r.status, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { machines: [{ state: 'REFUSED', refusal: { code: 'HOLON_E_BOOT_PCR_POLICY' } }] }, 'PCR values off the class policy');
  expect.push([offPolicy, 'HOLON_E_BOOT_PCR_POLICY']);

  const stale = agent();
  const { challenge } = await stale.hello();
  const late = stale.makeAttest(challenge, await stale.quote(challenge));
  await new Promise((res) => setTimeout(res, challenge.expires_at - Date.now() + 200));
  await refusedWith(t, stale.attest(late), 'HOLON_E_BOOT_NONCE_STALE');
  expect.push([stale, 'HOLON_E_BOOT_NONCE_STALE']);

  const rows = machines().machines;
  for (const [a, code] of expect) {
    const row = rows.find((m) => m.machine_id === a.machineId);
    t.match(row, { state: 'REFUSED', refusal: { code, reason: /./ } }, `holonctl machines shows ${code}`);
    const refused = (await ledgerKinds(a)).filter((e) => e.kind === 'MACHINE_REFUSED');
    t.match(refused.at(-1)?.body, { code, machine_id: a.machineId }, `ledger has MACHINE_REFUSED ${code}`);
  }
  const table = holonctl(['machines', ...bus]);
  t.match(table.stdout, /HOLON_E_BOOT_ACTIVATION: /, 'the table shows code and reason');
});

void t.test('the projection is rebuilt from the ledger: same holonctl machines output', async (t) => {
  const db = join(cell.dir, 'orchestrator.db');
  t.equal(statSync(db).mode & 0o777, 0o600, 'database file mode 0600');
  const before = machines();
  t.equal((await orch.stop()).code, 0, 'SIGTERM: clean exit 0');
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  orch = await OrchestratorProcess.start(config);
  t.ok(orch.lines.some((l) => l.msg === 'projection rebuilt from the ledger'), 'rebuilt at start');
  t.same(machines(), before, 'same rows after the rebuild');
  const s = await approved.status();
  t.equal(s.state, 'ENROLLED', 'an enrolled machine is still enrolled…');
  t.same(s.holon_certificate, firstCertificate, '…with the same certificate (JWT minted again)');
});
