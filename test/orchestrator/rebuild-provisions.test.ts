/**
 * The ledger is the source of truth (DESIGN §9): delete the orchestrator's
 * SQLite files while units run, start again, and the cell says exactly what it
 * said before — `holonctl machines --json`, `holonctl holons --all --json` —
 * and a re-sent request is answered with the same receipt.
 */
import t from 'tap';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import Database from 'better-sqlite3';
import { busOf, principalOf, startUp, stopUp, type RunningUp } from '../provision/up-fixture.js';

const HOUR = 3_600_000;
const { dir: tmp, remove } = makeTemp('holonet-rebuild-');
t.teardown(remove);
const dir = join(tmp, 'cell');

function sealedRequest(): ProvisioningRequestV1 {
  const p = principalOf(dir);
  const now = Date.now();
  return ProvisioningRequestV1.seal(
    {
      requesting_holon: encodeId('holon', p.publicKey),
      requested_role: 'GENERAL_COMPUTE',
      requested_capabilities: { grants: [{ action: '/', resource: '>', caps: { max_children: 1, max_depth: 1, rate_per_epoch: 10, cpu_seconds: 60, gpu_seconds: 0, storage_bytes: 2 ** 20, egress_bytes: 2 ** 20, cost_usd_cents: 1 }, not_before: now - 60_000, not_after: now + HOUR }] },
      resource_budget: { compute_cpu_seconds: 60, compute_gpu_seconds: 0, storage_bytes: 2 ** 20, network_egress_bytes: 2 ** 20, cost_usd_cents: 1, valid_until: timeAt(now + HOUR), on_exhaustion: 'TEARDOWN' },
      constraints: { os: ['linux'] },
      request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'),
      created_at: timeAt(now),
      expires_at: now + HOUR,
      delegation_chain: [],
    },
    p,
  );
}

async function send(up: RunningUp, req: ProvisioningRequestV1): Promise<ProvisionStatusV1> {
  const conn = await busOf(up);
  try {
    let s = await requestSigned(conn, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: convertId(up.report.cell_id, 'key'), timeoutMs: 15_000 });
    for (let i = 0; i < 100 && s.receipt === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await requestSigned(conn, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: convertId(up.report.cell_id, 'key'), timeoutMs: 15_000 });
    }
    return s;
  } finally {
    await conn.close();
  }
}

const views = (up: RunningUp): { machines: unknown; holons: unknown } => {
  const m = holonctl(['machines', ...up.bus, '--json']);
  const h = holonctl(['holons', '--all', ...up.bus, '--json']);
  if (m.status !== 0 || h.status !== 0) throw new Error(`holonctl failed: ${m.stderr}${h.stderr}`);
  // Liveness (when each machine was last heard from) describes the present, not the ledger: left out.
  const machines = JSON.parse(m.stdout) as { machines: Record<string, unknown>[] };
  for (const row of machines.machines) delete row.liveness;
  return { machines, holons: JSON.parse(h.stdout) };
};

void t.test('delete the SQLite files while units run: the same answers after a restart', async (t) => {
  const first = await startUp(dir, { isolation: 'noop' });
  let before: { machines: unknown; holons: unknown };
  const req = sealedRequest();
  let receipt: ProvisionStatusV1['receipt'];
  try {
    const kept = await send(first, req);
    t.equal(kept.holon.state, 'RUNNING', 'a unit runs');
    receipt = kept.receipt;
    const other = JSON.parse(holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...first.bus, '--json']).stdout) as ProvisionStatusV1;
    const down = holonctl(['teardown', other.holon.holon_id as string, ...first.bus, '--json']);
    t.equal(down.status, 0, `a second one is torn down: ${down.stderr.slice(0, 200)}`);
    before = views(first);
  } finally {
    await stopUp(first);
  }
  const gone = readdirSync(dir).filter((f) => /^(orchestrator|provisions)\.db/.test(f));
  for (const f of gone) rmSync(join(dir, f));
  t.ok(gone.some((f) => f === 'provisions.db') && gone.some((f) => f === 'orchestrator.db'), `deleted ${gone.join(', ')}`);

  const second = await startUp(dir, { isolation: 'noop' });
  try {
    t.same(views(second), before, 'holonctl machines and holons --all: identical to before');
    const again = await send(second, req);
    t.same(again.receipt, receipt, 'the re-sent request: the same receipt');
    const audit = holonctl(['audit', '--server', second.report.nats_url, '--creds', second.report.creds, '--json']);
    t.equal(audit.status, 0, 'the ledger still audits clean');
  } finally {
    await stopUp(second);
  }
});

void t.test('a projection restored from an earlier clean stop is behind the ledger: rebuilt, the same answers', async (t) => {
  const backup = join(tmp, 'backup');
  const files = (): string[] => readdirSync(dir).filter((f) => /^(orchestrator|provisions)\.db/.test(f));
  // A clean stop, and a copy of the projection as it was then.
  const first = await startUp(dir, { isolation: 'noop' });
  // Stopped right after its report: holonctl up takes the signal as "stop cleanly" (this test needs a clean stop).
  await stopUp(first);
  mkdirSync(backup, { recursive: true });
  for (const f of files()) copyFileSync(join(dir, f), join(backup, f));
  // More history after the copy: a new unit, and another torn down.
  const second = await startUp(dir, { isolation: 'noop' });
  let before: { machines: unknown; holons: unknown };
  try {
    const kept = JSON.parse(holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...second.bus, '--json']).stdout) as ProvisionStatusV1;
    t.equal(kept.holon.state, 'RUNNING', 'a unit placed after the copy');
    const other = JSON.parse(holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...second.bus, '--json']).stdout) as ProvisionStatusV1;
    t.equal(holonctl(['teardown', other.holon.holon_id as string, ...second.bus, '--json']).status, 0, 'and one torn down');
    before = views(second);
  } finally {
    await stopUp(second);
  }
  const meta = (path: string): unknown => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT key, value FROM projection_meta').all();
    } finally {
      db.close();
    }
  };
  t.match(meta(join(backup, 'provisions.db')), [{ key: 'clean_stop', value: '1' }, { key: 'ledger_seq' }], 'the copy says it stopped cleanly, and where');
  // Put the old projection back: it says it stopped cleanly, at an earlier ledger position.
  for (const f of files()) rmSync(join(dir, f));
  for (const f of readdirSync(backup)) copyFileSync(join(backup, f), join(dir, f));
  const third = await startUp(dir, { isolation: 'noop' });
  try {
    t.same(views(third), before, 'rebuilt from the ledger: identical to before');
  } finally {
    await stopUp(third);
  }
  t.match(readFileSync(join(dir, 'logs/orchestrator.log'), 'utf8'), /"why":"the projection reflects the ledger up to seq \d+; LEDGER is at \d+".*"msg":"projection rebuilt from the ledger"/, 'and the log says why');
});
