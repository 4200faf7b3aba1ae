/**
 * The kill -9 matrix of provisioning: a process of the local cell dies at a
 * chosen step, the cell is started again on the same data dir, and the
 * request must end with exactly one unit and one receipt.
 */
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import type { BusConnection } from '../../adapters/nats/connect.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl } from '../cli/init-helpers.js';
import { busOf, principalOf, startUp, stopUp, type RunningUp } from './up-fixture.js';

const HOUR = 3_600_000;

export function requestFor(principal: Signer, role: ProvisioningRequestV1['requested_role'] = 'GENERAL_COMPUTE'): ProvisioningRequestV1 {
  const now = Date.now();
  return ProvisioningRequestV1.seal(
    {
      requesting_holon: encodeId('holon', principal.publicKey),
      requested_role: role,
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
      constraints: {},
      request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'),
      created_at: timeAt(now),
      expires_at: now + HOUR,
      delegation_chain: [],
    },
    principal,
  );
}

export async function send(conn: BusConnection, up: RunningUp, req: ProvisioningRequestV1, timeoutMs = 10_000): Promise<ProvisionStatusV1> {
  return requestSigned(conn, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: convertId(up.report.cell_id, 'key'), timeoutMs });
}

async function ledgerKinds(conn: BusConnection, digest: string): Promise<string[]> {
  // A read-only replay by gets: what holonctl's own credential may do.
  const replay = await openLedgerReplay(conn, { via: 'get' });
  const kinds: string[] = [];
  for await (const r of replay.records) {
    const e = LedgerEntryV1.decode(r.data);
    if (JSON.stringify(e.body).includes(digest)) kinds.push(e.kind);
  }
  return kinds;
}

export type Fault = { kind: 'agent-step'; step: string } | { kind: 'orchestrator-after'; entry: string } | { kind: 'nats-server-after-placed' };

/**
 * One row of the matrix on `dir`: start the cell with the fault armed, send a
 * request, wait for the fault to take the cell down, start it again clean,
 * and check the request ends RUNNING once, with one receipt; then tear the
 * unit down so the next row starts from nothing.
 */
/** Unit names the rows created, for the leftover check. */
export const ROW_UNITS: string[] = [];

export async function crashRow(t: Test, dir: string, fault: Fault): Promise<void> {
  const env: Record<string, string> =
    fault.kind === 'agent-step' ? { HOLONET_TEST_UNIT_CRASH_AFTER: fault.step } : fault.kind === 'orchestrator-after' ? { HOLONET_TEST_CRASH_AFTER: fault.entry } : {};
  const first = await startUp(dir, { env });
  const req = requestFor(principalOf(dir));
  const digest = ProvisioningRequestV1.digest(req);
  try {
    const conn = await busOf(first);
    let s: unknown;
    try {
      s = await send(conn, first, req, 5_000).catch((e: unknown) => e);
    } finally {
      await conn.close().catch(() => undefined);
    }
    if (fault.kind === 'nats-server-after-placed') {
      t.equal((s as ProvisionStatusV1).holon?.state, 'PLACED', 'placed before nats-server is killed');
      process.kill(first.report.pids['nats-server'] as number, 'SIGKILL');
    }
    const e = await Promise.race([first.exited, new Promise<'alive'>((r) => setTimeout(() => r('alive'), 30_000))]);
    t.not(e, 'alive', `the fault (${JSON.stringify(fault)}) took the cell down`);
  } finally {
    await stopUp(first);
  }

  const second = await startUp(dir);
  try {
    const conn = await busOf(second);
    try {
      let s = await send(conn, second, req);
      for (let i = 0; i < 150 && s.receipt === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        s = await send(conn, second, req);
      }
      t.equal(s.holon.state, 'RUNNING', `after the restart the request runs (${JSON.stringify(fault)})`);
      t.ok(s.receipt, 'with a receipt');
      const again = await send(conn, second, req);
      t.same(again.receipt, s.receipt, 're-sending gives the same receipt');
      const kinds = await ledgerKinds(conn, digest);
      t.equal(kinds.filter((k) => k === 'PROVISION_AUTHORIZED').length, 1, `one PROVISION_AUTHORIZED (${kinds.join(', ')})`);
      t.equal(kinds.filter((k) => k === 'HOLON_PROVISIONED').length, 1, 'one HOLON_PROVISIONED: one receipt');
      const unit = s.holon.unit_name as string;
      ROW_UNITS.push(unit);
      t.ok(existsSync(join(dir, 'agent/isolation/units', unit)), `unit ${unit} exists`);
      const rows = (JSON.parse(holonctl(['holons', ...second.bus, '--json']).stdout) as { holons: { request_digest: string }[] }).holons;
      t.equal(rows.filter((r) => r.request_digest === digest).length, 1, 'one unit for the request');
      const audit = holonctl(['audit', '--server', second.report.nats_url, '--creds', second.report.creds, '--json']);
      t.equal(audit.status, 0, 'the ledger audits clean');
      const down = holonctl(['teardown', s.holon.holon_id as string, ...second.bus, '--json']);
      t.equal(down.status, 0, `torn down: ${down.stderr}`);
      t.notOk(existsSync(join(dir, 'agent/isolation/units', unit)), 'and gone');
    } finally {
      await conn.close().catch(() => undefined);
    }
  } finally {
    await stopUp(second);
  }
}

/**
 * A command the killed agent never acked is redelivered by JetStream after
 * the consumer's ack wait (30 s), possibly long after its unit was torn
 * down: run the cell that long and check that no unit of the rows came back.
 */
export async function noUnitComesBack(t: Test, dir: string): Promise<void> {
  const up = await startUp(dir);
  try {
    await new Promise((r) => setTimeout(r, 35_000));
  } finally {
    await stopUp(up);
  }
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  t.ok(ROW_UNITS.length > 0, `checked ${ROW_UNITS.length} units`);
  for (const u of ROW_UNITS) {
    t.notOk(netns.includes(`holon-${u} `) || netns.includes(`holon-${u}\n`), `no netns of ${u}`);
    t.notOk(existsSync(join(dir, 'agent/isolation/units', u)), `no unit dir of ${u}`);
    t.notOk(existsSync(`/sys/fs/cgroup/pids/holonet/${u}`) || existsSync(`/sys/fs/cgroup/holonet/${u}`), `no cgroup of ${u}`);
  }
}
