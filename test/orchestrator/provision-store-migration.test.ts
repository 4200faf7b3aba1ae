/**
 * adapters/sqlite provision store: a file written by the previous schema
 * (user_version 0: the request, receipt and destruction receipt as JSON
 * strings, no placed_at column, command outbox entries wrapped in JSON) is
 * upgraded in place on open, once; a file from a newer version is refused.
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PROVISION_SCHEMA_VERSION, SqliteProvisionStore } from '../../adapters/sqlite/provision-store.js';
import { ProvisioningReceiptV1 } from '../../bus-schemas/v1/provisioning-receipt.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { AgentCommandV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { ProvisionRecord } from '../../orchestrator/provisioning/provision-store.js';
import { makeTemp } from '../cli/init-helpers.js';
import { refuses } from '../helpers/refuses.js';
import { agentCommand } from '../bus-schemas/v1/flow-samples.js';
import { provisioningReceipt, provisioningRequest } from '../bus-schemas/v1/samples.js';

/** The schema and a row exactly as the previous version wrote them. */
const OLD_SCHEMA = `
CREATE TABLE provisions (request_digest TEXT PRIMARY KEY, state TEXT NOT NULL, requester TEXT NOT NULL, nonce TEXT NOT NULL, machine_id TEXT, holon_id TEXT, unit_name TEXT, memory_bytes INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL);
CREATE UNIQUE INDEX provisions_nonce ON provisions (requester, nonce);
CREATE TABLE provision_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, text TEXT NOT NULL);
`;

void t.test('an old provisions.db is upgraded on open, keeping every record and outbox entry', async (t) => {
  const { dir, remove } = makeTemp('holonet-migrate-');
  t.teardown(remove);
  const path = join(dir, 'provisions.db');
  const req = provisioningRequest();
  const receipt = provisioningReceipt();
  const digest = ProvisioningRequestV1.digest(req);
  const cmd = agentCommand();
  const since = 1_700_000_123_000;
  const old = {
    requestDigest: digest,
    state: 'RUNNING',
    since,
    role: req.requested_role,
    requester: req.requesting_holon,
    nonce: req.request_nonce,
    machineId: cmd.machine_id,
    unitName: cmd.unit_name,
    tenant: null,
    holonId: receipt.assigned_holon_id,
    memoryBytes: 1024,
    request: new TextDecoder().decode(ProvisioningRequestV1.encode(req)),
    receipt: new TextDecoder().decode(ProvisioningReceiptV1.encode(receipt)),
    natsJwt: 'a.b.c',
    teardown: null,
    destruction: null,
    refusal: null,
  };
  const db = new Database(path);
  db.exec(OLD_SCHEMA);
  db.prepare('INSERT INTO provisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(digest, 'RUNNING', old.requester, old.nonce, old.machineId, old.holonId, old.unitName, 1024, JSON.stringify(old));
  const oldCommand = JSON.stringify({ machine: cmd.machine_id, msgId: cmd.request_digest, command: new TextDecoder().decode(AgentCommandV1.encode(cmd)) });
  db.prepare('INSERT INTO provision_outbox (id, kind, text) VALUES (?, ?, ?)').run(`cmd:${cmd.request_digest}`, 'command', oldCommand);
  db.prepare('INSERT INTO provision_outbox (id, kind, text) VALUES (?, ?, ?)').run('sha256:entry', 'ledger', '{"opaque":"prepared entry"}');
  t.equal(db.pragma('user_version', { simple: true }), 0, 'an old file has no version');
  db.close();

  const store = new SqliteProvisionStore<ProvisionRecord>(path);
  const rec = store.get(digest);
  t.same(rec?.budget, req.resource_budget, 'the budget, typed, from the old request string');
  t.same(rec?.manifest, req.requested_capabilities, 'the manifest, typed');
  t.same(rec?.receipt, receipt, 'the receipt, typed');
  t.equal(rec?.placedAt, since, 'placed_at: the record\'s time');
  t.notOk(rec !== undefined && 'request' in rec, 'no JSON string left for callers to re-parse');
  t.equal(store.countPlacedSince(old.requester, since), 1, 'rate_per_epoch counts it');
  t.same(store.pendingOutbox(), [
    { id: `cmd:${cmd.request_digest}`, kind: 'command', command: cmd },
    { id: 'sha256:entry', kind: 'ledger', text: '{"opaque":"prepared entry"}' },
  ], 'the outbox: the command decoded, the ledger entry untouched');
  store.close();
  const again = new Database(path);
  t.equal(again.pragma('user_version', { simple: true }), PROVISION_SCHEMA_VERSION, `now version ${PROVISION_SCHEMA_VERSION}`);
  again.close();
  const reopened = new SqliteProvisionStore<ProvisionRecord>(path);
  t.same(reopened.get(digest), rec, 'opening again changes nothing');
  reopened.close();
});

void t.test('a file from a newer version is refused, not rewritten', async (t) => {
  const { dir, remove } = makeTemp('holonet-migrate-');
  t.teardown(remove);
  const path = join(dir, 'provisions.db');
  const db = new Database(path);
  db.pragma(`user_version = ${PROVISION_SCHEMA_VERSION + 1}`);
  db.close();
  refuses(t, () => new SqliteProvisionStore<ProvisionRecord>(path), { code: 'HOLON_E_SQLITE', message: /newer than this program's/ });
});
