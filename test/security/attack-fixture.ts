/**
 * A real local fleet (`holonctl up --isolation noop`) seen from outside: every
 * credential kind's .creds text, the stream positions an attack must not move,
 * and the checks that the cell is unharmed afterwards (audit clean, daemons
 * alive and still serving a valid request).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { BusConnection } from '../../adapters/nats/connect.js';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import { convertId, encodeId, type HolonIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { MachineListRequestV1, MachineListV1 } from '../../bus-schemas/v1/machine-list.js';
import { holonctl, loadKey } from '../cli/init-helpers.js';
import { adminBusOf, alive, busOf, principalOf, startUp, stopUp, type RunningUp } from '../provision/up-fixture.js';

export interface Fleet {
  up: RunningUp;
  dir: string;
  url: string;
  admin: BusConnection;
  operatorConn: BusConnection;
  principal: Signer;
  cellKey: PublicKeyIdV1;
  machine: { id: PublicKeyIdV1; holon: HolonIdV1; signer: Signer };
  creds: { bootstrap: string; machine: string; operator: string; serve: string; writer: string; admin: string };
}

export async function startFleet(t: Test, dir: string): Promise<Fleet> {
  const up = await startUp(dir, { isolation: 'noop' });
  t.teardown(() => stopUp(up));
  const admin = await adminBusOf(up);
  t.teardown(() => admin.close());
  const operatorConn = await busOf(up);
  t.teardown(() => operatorConn.close());
  const read = (rel: string): string => readFileSync(join(dir, rel), 'utf8');
  const m = loadKey(join(dir, 'agent/machine.key'));
  return {
    up,
    dir,
    url: up.report.nats_url,
    admin,
    operatorConn,
    principal: principalOf(dir),
    cellKey: convertId(up.report.cell_id, 'key'),
    machine: { id: m.keyId, holon: convertId(m.keyId, 'holon'), signer: m.signer },
    creds: {
      bootstrap: read('nats/bootstrap.creds'),
      machine: read('agent/holon.creds'),
      operator: readFileSync(up.report.creds, 'utf8'),
      serve: read('nats/orchestrator-serve.creds'),
      writer: read('nats/orchestrator-writer.creds'),
      admin: read('nats/orchestrator-admin.creds'),
    },
  };
}

export interface StreamMarks {
  [stream: string]: { first: number; last: number; messages: number };
}

const STREAMS = ['CMD', 'EVT', 'LEDGER', 'KV_holon-state', 'KV_revocations'];

export async function streamMarks(f: Fleet): Promise<StreamMarks> {
  const out: StreamMarks = {};
  for (const s of STREAMS) {
    const st = (await f.admin.jsm.streams.info(s)).state;
    out[s] = { first: st.first_seq, last: st.last_seq, messages: st.messages };
  }
  return out;
}

/**
 * Nothing was written or removed: LEDGER and the KV streams exactly as they
 * were; CMD got no new message; EVT lost none (heartbeats may add some).
 */
export function assertUntouched(t: Test, before: StreamMarks, after: StreamMarks, what: string): void {
  t.same(after.LEDGER, before.LEDGER, `${what}: LEDGER unchanged`);
  t.same(after['KV_holon-state'], before['KV_holon-state'], `${what}: KV holon-state unchanged`);
  t.same(after.KV_revocations, before.KV_revocations, `${what}: KV revocations unchanged`);
  t.equal(after.CMD?.last, before.CMD?.last, `${what}: no message put on CMD`);
  t.equal(after.EVT?.first, before.EVT?.first, `${what}: EVT not purged`);
  t.ok((after.EVT?.messages ?? 0) >= (before.EVT?.messages ?? 0), `${what}: no EVT message removed`);
}

/** The cell is unharmed: the ledger audits clean, every daemon runs and answers a valid, sealed request. */
export async function assertCellHealthy(t: Test, f: Fleet): Promise<void> {
  const audit = holonctl(['audit', '--server', f.url, '--creds', f.up.report.creds, '--json']);
  t.equal(audit.status, 0, `holonctl audit is clean: ${audit.stderr.slice(0, 400)}`);
  for (const [name, pid] of Object.entries(f.up.report.pids)) t.ok(alive(pid), `${name} still running`);
  const list = await requestSigned(f.operatorConn, {
    subject: API_SUBJECTS.machines,
    requestType: MachineListRequestV1,
    request: MachineListRequestV1.seal({ cell_id: f.up.report.cell_id, limit: 10, request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url'), sent_at: timeAt(Date.now()) }, f.principal),
    replyType: MachineListV1,
    responder: f.cellKey,
    timeoutMs: 10_000,
  });
  t.ok(list.machines.some((m) => m.machine_id === f.machine.id && m.state === 'ENROLLED'), 'the cell still serves a valid request');
}

export const randomId = (kind: 'holon' | 'key'): string => encodeId(kind, crypto.getRandomValues(new Uint8Array(32)));
