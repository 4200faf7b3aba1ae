/**
 * Holon id hijack across two machines. Machine A (holonctl up's agent) runs
 * holon X. Machine B is a second enrolled agent, stopped (SIGSTOP), whose keys
 * and credentials an attacker holds; it answers B's provision commands first
 * with a raw NATS client. Every claim beyond its own is refused, typed; a
 * second claim of an issued id is recorded in the ledger; `holonctl holons`
 * never lists two units with one id.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createUser } from '@nats-io/nkeys';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { convertId, encodeId, type HolonIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS, holonSubject, inboxPrefix, ledgerSubject, UNIT_REPORT_TOKEN } from '../../bus-schemas/subjects.js';
import { proveHolonKey } from '../../bus-schemas/v1/holon-key-proof.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { RefusalV1 } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1, UnitReportReplyV1, UnitReportV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl, loadKey, MAIN, makeTemp } from '../cli/init-helpers.js';
import { assertCellHealthy, startFleet } from './attack-fixture.js';
import { rawConnect } from './raw-nats.js';

const HOUR = 3_600_000;
const { dir: tmp, remove } = makeTemp('holonet-hijack-');
t.teardown(remove);
const f = await startFleet(t, join(tmp, 'cell'));

/** A provisioning request sealed by the principal, optionally only for machines labelled site=<site>. */
function request(site?: string): ProvisioningRequestV1 {
  const now = Date.now();
  return ProvisioningRequestV1.seal(
    {
      requesting_holon: encodeId('holon', f.principal.publicKey),
      requested_role: 'GENERAL_COMPUTE',
      requested_capabilities: {
        grants: [
          {
            action: '/',
            resource: '>',
            caps: { max_children: 1, max_depth: 1, rate_per_epoch: 10, cpu_seconds: 60, gpu_seconds: 0, storage_bytes: 2 ** 20, egress_bytes: 2 ** 20, cost_usd_cents: 1 },
            not_before: now - 60_000,
            not_after: now + HOUR,
          },
        ],
      },
      resource_budget: { compute_cpu_seconds: 60, compute_gpu_seconds: 0, storage_bytes: 2 ** 20, network_egress_bytes: 2 ** 20, cost_usd_cents: 1, valid_until: timeAt(now + HOUR), on_exhaustion: 'TEARDOWN' },
      constraints: { os: ['linux'], ...(site !== undefined ? { labels: [{ key: 'site', value: site }] } : {}) },
      request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'),
      created_at: timeAt(now),
      expires_at: now + HOUR,
      delegation_chain: [],
    },
    f.principal,
  );
}

async function place(site?: string): Promise<{ digest: CasDigest; status: ProvisionStatusV1 }> {
  const req = request(site);
  const status = await requestSigned(f.operatorConn, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: f.cellKey, timeoutMs: 15_000 });
  return { digest: ProvisioningRequestV1.digest(req), status };
}

// Holon X, running on machine A (the only machine so far).
const x = JSON.parse(holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...f.up.bus, '--json']).stdout) as ProvisionStatusV1;
const holonX = x.holon.holon_id as HolonIdV1;

// Machine B: a second agent, labelled site=b, enrolled, then frozen so the attacker answers its commands.
const bDir = join(f.dir, 'agent-b');
const base = JSON.parse(readFileSync(join(f.dir, 'up/agent.json'), 'utf8')) as Record<string, unknown>;
const bConfig = join(f.dir, 'up/agent-b.json');
writeFileSync(bConfig, JSON.stringify({ ...base, data_dir: bDir, labels: { site: 'b' }, nats: { ...(base.nats as object), name: 'agent-b' } }), { mode: 0o600 });
const agentB = spawn(process.execPath, [MAIN.replace('cli/main.js', 'agent/main.js'), '--config', bConfig], { stdio: 'ignore' });
t.teardown(() => {
  agentB.kill('SIGCONT');
  agentB.kill('SIGKILL');
});
for (let i = 0; i < 300 && !existsSync(join(bDir, 'machine.key')); i++) await sleep(100);
const b = loadKey(join(bDir, 'machine.key'));
let approved = false;
for (let i = 0; i < 100 && !approved; i++) {
  await sleep(300);
  approved = holonctl(['approve', b.keyId, ...f.up.bus, '--json']).status === 0;
}
for (let i = 0; i < 100 && !existsSync(join(bDir, 'holon.creds')); i++) await sleep(200);
await sleep(1000);
agentB.kill('SIGSTOP');
const bHolon = convertId(b.keyId, 'holon');
const attacker = await rawConnect(f.url, readFileSync(join(bDir, 'holon.creds'), 'utf8'), 'machine-b-attacker');
t.teardown(() => attacker.close());
const bInbox = inboxPrefix(b.keyId);
attacker.sub(`${bInbox}.>`);
await attacker.flush();

let seq = 0;
/** Send B's sealed PROVISIONED report; the cell's answer (refusal or reply), decoded. */
async function report(placed: { digest: CasDigest; status: ProvisionStatusV1 }, holonId: HolonIdV1, prover: Signer): Promise<{ refusal?: RefusalV1; reply?: UnitReportReplyV1 }> {
  const requestDigest = placed.digest;
  const r = UnitReportV1.seal(
    {
      event: 'PROVISIONED',
      request_digest: requestDigest,
      machine_id: b.keyId,
      unit_name: placed.status.holon.unit_name ?? 'u-none',
      holon_id: holonId,
      nats_user_key: createUser().getPublicKey(),
      holon_key_proof: proveHolonKey(requestDigest, holonId, prover),
      adapter: 'noop',
      at: timeAt(Date.now()),
    },
    b.signer,
  );
  const reply = `${bInbox}.r${++seq}`;
  attacker.pub(holonSubject(bHolon, UNIT_REPORT_TOKEN), UnitReportV1.encode(r), reply);
  const m = await attacker.waitFor((msg) => msg.subject === reply, 10_000);
  if (m === undefined) throw new Error('no answer from the cell');
  const json = JSON.parse(m.data.toString('utf8')) as Record<string, unknown>;
  return 'refuser_seal' in json ? { refusal: RefusalV1.decode(m.data) } : { reply: UnitReportReplyV1.decode(m.data) };
}

void t.test('machine B cannot take holon X, another machine\'s command, or an id twice', async (t) => {
  t.match(holonX, /^holon1/, 'holon X runs on machine A');
  t.ok(approved, 'machine B was enrolled');
  const onB = await place('b');
  t.equal(onB.status.holon.machine_id, b.keyId, 'a provisioning is placed on B');

  // (a) naming X, whose key B does not hold.
  const stolen = await report(onB, holonX, signerFromSeed(generateEd25519().seed));
  t.match(stolen.refusal, { code: 'HOLON_E_HOLON_KEY_PROOF', path: '.holon_key_proof' }, 'claiming X without its key: refused, typed');

  // (b) answering a command that went to A (X's own provisioning).
  t.equal(x.holon.machine_id, f.machine.id, 'X was placed on A');
  const onA = { digest: x.holon.request_digest, status: x };
  const k = signerFromSeed(generateEd25519().seed);
  const other = await report(onA, encodeId('holon', k.publicKey), k);
  t.match(other.refusal, { code: 'HOLON_E_UNIT_REPORT' }, 'a report for a command sent to A: refused, typed');

  // (c) its own command with its own fresh key: accepted (B is a real machine)…
  const mine = signerFromSeed(generateEd25519().seed);
  const mineId = encodeId('holon', mine.publicKey);
  const ok = await report(onB, mineId, mine);
  t.equal(ok.reply?.receipt?.assigned_holon_id, mineId, 'B\'s honest claim of its own new holon is issued');
  // …but the same id again for a second provisioning: refused and recorded.
  const onB2 = await place('b');
  const again = await report(onB2, mineId, mine);
  t.match(again.refusal, { code: 'HOLON_E_HOLON_ID_TAKEN', path: '.holon_id' }, 'a second claim of an issued id: refused, typed');
  const replay = await openLedgerReplay(f.admin, { subject: ledgerSubject(bHolon) });
  const kinds: LedgerEntryV1[] = [];
  for await (const r of replay.records) kinds.push(LedgerEntryV1.decode(r.data));
  const security = kinds.filter((e) => e.kind === 'SECURITY_HOLON_ID_CLAIM_REFUSED');
  t.equal(security.length, 1, 'recorded once in the ledger, on B\'s chain, as a security event');
  t.match(security[0]?.body, { holon_id: mineId, machine_id: b.keyId, request_digest: onB2.digest });

  const rows = (JSON.parse(holonctl(['holons', '--all', ...f.up.bus, '--json']).stdout) as { holons: { holon_id: string | null; state: string }[] }).holons;
  const ids = rows.map((r) => r.holon_id).filter((h): h is string => h !== null);
  t.equal(new Set(ids).size, ids.length, 'holonctl holons: no holon id twice');
  t.equal(rows.filter((r) => r.holon_id === holonX && r.state === 'RUNNING').length, 1, 'X runs once');
  await assertCellHealthy(t, f);
});

export type { PublicKeyIdV1 };
