/**
 * Provisioning end to end on real parts: `holonctl up` (nats-server,
 * orchestrator, agent with the Linux adapter), `holonctl provision` with a
 * tenant whose secret bucket is in the directory store, the unit's files and
 * kernel objects, an idempotent re-send, the typed refusals of the issue,
 * a scan for leaked secrets, and a teardown that leaves nothing behind.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import { RefusedError } from '../../bus-schemas/v1/refusal.js';
import { connectBus, type BusConnection } from '../../adapters/nats/connect.js';
import { mintUser } from '../../adapters/nats/credentials.js';
import { holonGrant } from '../../bus-schemas/grants.js';
import { pino } from 'pino';
import { convertId, encodeId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS, inboxPrefix } from '../../bus-schemas/subjects.js';
import type { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { ProvisioningReceiptV1 } from '../../bus-schemas/v1/provisioning-receipt.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import type { ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import { busOf, principalOf, startUp, stopUp } from './up-fixture.js';

const SECRET = 'tenant-secret-Zq8vX3mN1pL6';
const HOUR = 3_600_000;

const { dir: tmp, remove } = makeTemp('holonet-provision-');
t.teardown(remove);
const dir = join(tmp, 'cell');
const up = await startUp(dir);
t.teardown(() => stopUp(up));
const conn = await busOf(up);
t.teardown(() => conn.close());
const principal = principalOf(dir);
const cellKey = convertId(up.report.cell_id, 'key');

function budget(over: Partial<ResourceBudgetV1> = {}): ResourceBudgetV1 {
  return { compute_cpu_seconds: 600, compute_gpu_seconds: 0, storage_bytes: 2 ** 30, network_egress_bytes: 2 ** 28, cost_usd_cents: 50, valid_until: timeAt(Date.now() + 2 * HOUR), on_exhaustion: 'TEARDOWN', ...over };
}

function manifest(depth: number, over: Partial<CapabilityManifestV1['grants'][number]['caps']> = {}, action = '/'): CapabilityManifestV1 {
  const now = Date.now();
  return {
    grants: [
      {
        action,
        resource: '>',
        caps: { max_children: 4, max_depth: depth, rate_per_epoch: 100, cpu_seconds: 600, gpu_seconds: 0, storage_bytes: 2 ** 30, egress_bytes: 2 ** 28, cost_usd_cents: 50, ...over },
        not_before: now - 60_000,
        not_after: now + 2 * HOUR,
      },
    ],
  };
}

function request(by: Signer, fields: Partial<Omit<ProvisioningRequestV1, 'principal_authorization'>> = {}): ProvisioningRequestV1 {
  const now = Date.now();
  return ProvisioningRequestV1.seal(
    {
      requesting_holon: encodeId('holon', by.publicKey),
      requested_role: 'GENERAL_COMPUTE',
      requested_capabilities: manifest(2),
      resource_budget: budget(),
      constraints: { os: ['linux'] },
      request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'),
      created_at: timeAt(now),
      expires_at: now + HOUR,
      delegation_chain: [],
      ...fields,
    },
    by,
  );
}

/**
 * A holon's own bus connection (a user minted as the cell mints it): a request sealed by a holon is answered
 * only in that holon's inbox, so it is sent from there.
 */
async function connAs(who: Signer): Promise<BusConnection> {
  const read = (f: string): string => readFileSync(join(dir, 'nats', f), 'utf8').trim();
  const creds = (await mintUser({ account: read('account.nk'), accountSigning: read('account-signing.nk') }, holonGrant(encodeId('holon', who.publicKey)))).creds;
  const file = join(tmp, `holon-${encodeId('key', who.publicKey).slice(5, 15)}.creds`);
  writeFileSync(file, creds, { mode: 0o600 });
  const c = await connectBus({ servers: up.report.nats_url, credsFile: file, reconnect: false, jetstream: false, inboxPrefix: inboxPrefix(encodeId('key', who.publicKey)), logger: pino({ level: 'silent' }) });
  t.teardown(() => c.close());
  return c;
}

function send(c: BusConnection, req: ProvisioningRequestV1): Promise<ProvisionStatusV1> {
  return requestSigned(c, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: cellKey, timeoutMs: 15_000 });
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; path: string | undefined; reason: string | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RefusedError) return { code: e.code, path: e.path, reason: e.reason };
    throw e;
  }
  throw new Error('expected a refusal');
}

/** Raw bytes to api.provision: for what a typed client cannot even build. */
async function sendRaw(bytes: Uint8Array): Promise<{ code: string; path?: string; reason?: string }> {
  const m = await conn.nc.request(API_SUBJECTS.provision, bytes, { timeout: 10_000 });
  return JSON.parse(new TextDecoder().decode(m.data)) as { code: string; path?: string; reason?: string };
}

function unitRoot(unit: string): string {
  return join(dir, 'agent/isolation/units', unit, 'root');
}

let holon: HolonIdV1;
let holonSigner: Signer;
const TENANT = 'acme-ci';

void t.test('holonctl provision: a BUILD_WORKER for tenant acme-ci runs, with its identity and .env inside', async (t) => {
  const bucket = join(dir, 'secrets', TENANT);
  mkdirSync(bucket, { recursive: true, mode: 0o700 });
  writeFileSync(join(bucket, '.env'), `API_TOKEN=${SECRET}\nREGION=fsn1\n`, { mode: 0o600 });
  const r = holonctl(['provision', '--role', 'BUILD_WORKER', '--tenant', TENANT, ...up.bus, '--json']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /PLACED on hkey1.* as acme-ci/, 'progress: placed');
  t.match(r.stderr, /RUNNING/, 'progress: running');
  const s = ProvisionStatusV1.parse(JSON.parse(r.stdout));
  ProvisionStatusV1.verify(s, cellKey);
  t.equal(s.holon.state, 'RUNNING');
  t.equal(s.holon.unit_name, TENANT, 'tenant id = unit name');
  t.equal(s.holon.machine_id, up.report.machine_id, 'placed on the enrolled machine');
  const receipt = s.receipt as ProvisioningReceiptV1;
  ProvisioningReceiptV1.verify(receipt, cellKey);
  holon = receipt.assigned_holon_id;
  t.equal(receipt.parent_holon, encodeId('holon', principal.publicKey), 'parent: the principal');

  const home = join(unitRoot(TENANT), 'home/unit');
  const uid = statSync(home).uid;
  t.not(uid, 0, 'the unit user is not root');
  for (const f of ['holon.key', 'holon.creds', 'holon-certificate.json', 'provisioning-receipt.json', '.env']) {
    const st = statSync(join(home, f));
    t.equal(st.mode & 0o777, 0o600, `${f} is 0600`);
    t.equal(st.uid, uid, `${f} is owned by the unit user`);
  }
  const key = JSON.parse(readFileSync(join(home, 'holon.key'), 'utf8')) as { holon_id: string; seed: string };
  holonSigner = signerFromSeed(new Uint8Array(Buffer.from(key.seed, 'base64url')));
  t.equal(encodeId('holon', holonSigner.publicKey), holon, 'the key inside the unit is the holon the receipt names');
  t.match(readFileSync(join(home, '.env'), 'utf8'), `API_TOKEN='${SECRET}'`, 'the tenant secret is in the unit .env');
  t.same(JSON.parse(readFileSync(join(home, 'holon-certificate.json'), 'utf8')), receipt.issued_certificate, 'the certificate inside is the receipt’s');

  t.ok(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(`holon-${TENANT}`), 'a network namespace exists for the unit');
});

void t.test('the same request sent twice gets the same receipt; a changed body under the same nonce is a replay', async (t) => {
  const req = request(principal, { requested_role: 'PENTEST_SANDBOX' });
  const first = await send(conn, req);
  t.equal(first.holon.state, 'PLACED');
  let s = first;
  for (let i = 0; i < 100 && s.receipt === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = await send(conn, req);
  }
  t.ok(s.receipt, 'the re-sent request reports the receipt once issued');
  const again = await send(conn, req);
  t.same(again.receipt, s.receipt, 'the same receipt, byte for byte');
  t.equal(again.holon.request_digest, ProvisioningRequestV1.digest(req));
  const rows = JSON.parse(holonctl(['holons', ...up.bus, '--json']).stdout) as { holons: { request_digest: string }[] };
  t.equal(rows.holons.filter((h) => h.request_digest === ProvisioningRequestV1.digest(req)).length, 1, 'one unit for it');

  const changed = request(principal, { requested_role: 'PENTEST_SANDBOX', request_nonce: req.request_nonce, resource_budget: budget({ compute_cpu_seconds: 601 }) });
  t.match(await refusal(send(conn, changed)), { code: 'HOLON_E_REPLAY', path: '.request_nonce' }, 'replayed request with a changed body');

  // PENTEST_SANDBOX: no link at all, only loopback inside.
  const unit = s.holon.unit_name as string;
  const inside = execFileSync('ip', ['netns', 'exec', `holon-${unit}`, 'ip', '-o', 'link'], { encoding: 'utf8' });
  t.same(inside.trim().split('\n').map((l) => l.split(':')[1]?.trim()), ['lo'], 'the sandbox has loopback only');
});

void t.test('typed refusals', async (t) => {
  // Unknown role: the parser refuses it before anything else.
  const good = JSON.parse(new TextDecoder().decode(ProvisioningRequestV1.encode(request(principal)))) as Record<string, unknown>;
  t.match(await sendRaw(new TextEncoder().encode(JSON.stringify({ ...good, requested_role: 'WIZARD' }))), { code: 'HOLON_E_MALFORMED', path: '$.requested_role' }, 'unknown role');
  t.match(await sendRaw(new TextEncoder().encode('{"requesting_holon": 7')), { code: 'HOLON_E_MALFORMED' }, 'malformed request');
  t.match(await sendRaw(new TextEncoder().encode(JSON.stringify({ ...good, resource_budget: { ...(good.resource_budget as object), compute_cpu_seconds: 1 } }))), { code: 'HOLON_E_BAD_SEAL' }, 'forged seal: a body changed after sealing');
  t.match(await sendRaw(new TextEncoder().encode(JSON.stringify({ ...good, tenant: '../etc' }))), { code: 'HOLON_E_MALFORMED', path: '$.tenant' }, 'tenant path escape');
  t.match(await sendRaw(new TextEncoder().encode(JSON.stringify({ ...good, tenant: '/abs' }))), { code: 'HOLON_E_MALFORMED', path: '$.tenant' }, 'absolute tenant path');

  // The running holon (max_depth 4, budget from holonctl's defaults) asks for children.
  t.ok(holonSigner, 'the first test provisioned a holon');
  const asHolon = await connAs(holonSigner);
  t.match(await refusal(send(asHolon, request(holonSigner, { requested_capabilities: manifest(9) }))), { code: 'HOLON_E_CAP_AMPLIFICATION' }, 'capability amplification (max_depth above the parent’s − 1)');
  t.match(
    await refusal(send(asHolon, request(holonSigner, { requested_capabilities: manifest(2, { cpu_seconds: 10 ** 9 }), resource_budget: budget({ compute_cpu_seconds: 10 ** 9 }) }))),
    { code: 'HOLON_E_CAP_AMPLIFICATION' },
    'a cap above the parent grant is amplification too',
  );
  t.match(
    await refusal(send(asHolon, request(holonSigner, { requested_capabilities: manifest(2, { cpu_seconds: 600 }), resource_budget: budget({ compute_cpu_seconds: 3601 }) }))),
    { code: 'HOLON_E_BUDGET_EXCEEDED', path: '.resource_budget.compute_cpu_seconds' },
    'budget above the requester’s',
  );
  const stranger = signerFromSeed(crypto.getRandomValues(new Uint8Array(32)));
  t.match(await refusal(send(await connAs(stranger), request(stranger))), { code: 'HOLON_E_UNKNOWN_HOLON' }, 'a requester that is no holon of this cell');
  t.match(await refusal(send(conn, request(principal, { constraints: { os: ['freebsd'] } }))), { code: 'HOLON_E_NO_PLACEMENT', path: '.constraints' }, 'no machine fits');

  // A holon may provision a strictly narrower child, carved out of its budget (recursive provisioning).
  const child = await send(asHolon, request(holonSigner, { requested_capabilities: manifest(2, { cpu_seconds: 600 }), resource_budget: budget() }));
  t.equal(child.holon.requester, holon, 'a child of the holon is placed');
});

void t.test('no secret and no bootstrap credential outside the unit’s .env', async (t) => {
  const bootstrapCreds = readFileSync(join(dir, 'nats/bootstrap.creds'), 'utf8');
  const bootstrapJwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(bootstrapCreds)?.[1] as string;
  t.ok(bootstrapJwt, 'the bootstrap credential exists on the host');
  // Logs
  for (const f of readdirSync(join(dir, 'logs'))) {
    const text = readFileSync(join(dir, 'logs', f), 'utf8');
    t.notOk(text.includes(SECRET), `${f}: no secret value`);
  }
  // The unit's files: the secret only in .env, the bootstrap credential nowhere.
  const root = unitRoot(TENANT);
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() && !e.isSymbolicLink() ? walk(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : []));
  const files = walk(join(root, 'home'));
  t.ok(files.length >= 5, `scanned ${files.length} files of the unit home`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (!f.endsWith('/.env')) t.notOk(text.includes(SECRET), `${f}: no secret value`);
    t.notOk(text.includes(bootstrapJwt), `${f}: no bootstrap credential`);
  }
  // Process arguments and environments of every process on the host.
  let procs = 0;
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    for (const what of ['cmdline', 'environ']) {
      let text: string;
      try {
        text = readFileSync(`/proc/${p}/${what}`, 'latin1');
      } catch {
        continue;
      }
      procs += 1;
      if (text.includes(SECRET)) t.fail(`/proc/${p}/${what} holds the secret`);
    }
  }
  t.ok(procs > 10, `scanned ${procs} process argument/environment files`);
  // The ledger: every entry, every byte.
  const replay = await openLedgerReplay(conn, { via: 'get' });
  let entries = 0;
  for await (const r of replay.records) {
    entries += 1;
    const text = new TextDecoder().decode(r.data);
    LedgerEntryV1.decode(r.data);
    if (text.includes(SECRET) || text.includes(bootstrapJwt)) t.fail(`ledger entry ${entries} holds a secret`);
  }
  t.ok(entries > 5, `scanned ${entries} ledger entries`);
  const audit = holonctl(['audit', '--server', up.report.nats_url, '--creds', up.report.creds, '--json']);
  t.equal(audit.status, 0, `the ledger audits clean: ${audit.stdout.slice(0, 200)}`);
});

void t.test('holonctl teardown destroys the unit, leaves nothing, and is idempotent', async (t) => {
  const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  t.ok(before.includes(TENANT));
  const r = holonctl(['teardown', holon, ...up.bus, '--json']);
  t.equal(r.status, 0, r.stderr);
  const s = ProvisionStatusV1.parse(JSON.parse(r.stdout));
  t.equal(s.holon.state, 'DESTROYED');
  t.equal(s.destruction?.evidence_replicated, false, 'basic teardown says the evidence was not replicated');
  t.notOk(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(`holon-${TENANT}`), 'no netns');
  t.notOk(existsSync(join(dir, 'agent/isolation/units', TENANT)), 'no unit directory');
  for (const h of ['memory', 'pids', 'cpu', 'freezer']) t.notOk(existsSync(`/sys/fs/cgroup/${h}/holonet/${TENANT}`), `no ${h} cgroup`);
  t.notOk(readFileSync('/proc/self/mountinfo', 'utf8').includes(`/units/${TENANT}/`), 'no mount');
  const again = holonctl(['teardown', holon, ...up.bus, '--json']);
  t.equal(again.status, 0, 'a second teardown is a no-op');
  t.same(ProvisionStatusV1.parse(JSON.parse(again.stdout)).destruction, s.destruction, 'with the same destruction receipt');
  const show = holonctl(['show', holon, ...up.bus]);
  t.match(show.stdout, /DESTROYED/);
});


void t.test('tearing down every remaining unit leaves no unit on the host', async (t) => {
  const rows = (JSON.parse(holonctl(['holons', ...up.bus, '--json']).stdout) as { holons: { holon_id: string | null; state: string; unit_name: string | null }[] }).holons;
  for (const r of rows) {
    if (r.holon_id === null || r.state !== 'RUNNING') continue;
    const d = holonctl(['teardown', r.holon_id, ...up.bus, '--json']);
    t.equal(d.status, 0, `teardown ${r.holon_id}: ${d.stderr}`);
  }
  t.same(readdirSync(join(dir, 'agent/isolation/units')), [], 'no unit directory left');
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const r of rows) if (r.unit_name !== null) t.notOk(netns.includes(`holon-${r.unit_name}`), `no netns of ${r.unit_name} left`);
});
