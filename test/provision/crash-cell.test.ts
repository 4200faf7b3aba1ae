/**
 * kill -9 of holon-orchestrator right after it persisted PLACED (before the
 * command and ledger entry left its outbox) and right after it persisted
 * RUNNING (before HOLON_PROVISIONED reached the ledger and before it
 * answered the agent), and of nats-server while the agent works on a placed
 * request; then a restart: exactly one unit and one receipt.
 */
import t from 'tap';
import { join } from 'node:path';
import { makeTemp } from '../cli/init-helpers.js';
import { crashRow } from './crash-fixture.js';

const { dir: tmp, remove } = makeTemp('holonet-crash-cell-');
t.teardown(remove);
const dir = join(tmp, 'cell');

void t.test('orchestrator killed -9 after persisting PLACED', (t) => crashRow(t, dir, { kind: 'orchestrator-after', entry: 'PROVISION_AUTHORIZED' }));
void t.test('orchestrator killed -9 after persisting RUNNING', (t) => crashRow(t, dir, { kind: 'orchestrator-after', entry: 'HOLON_PROVISIONED' }));
void t.test('nats-server killed -9 once the request is placed', (t) => crashRow(t, dir, { kind: 'nats-server-after-placed' }));
