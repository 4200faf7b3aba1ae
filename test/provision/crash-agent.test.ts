/**
 * kill -9 of holon-agent at every step of its unit state machine (RECEIVED, CREATED,
 * KEYED, SECRETS, REPORTED: each right after it was persisted), then a
 * restart: the redelivered command finishes the same unit, and the request
 * has exactly one unit and one receipt.
 */
import t from 'tap';
import { join } from 'node:path';
import { makeTemp } from '../cli/init-helpers.js';
import { crashRow } from './crash-fixture.js';

const { dir: tmp, remove } = makeTemp('holonet-crash-agent-');
t.teardown(remove);
const dir = join(tmp, 'cell');

for (const step of ['RECEIVED', 'CREATED', 'KEYED', 'SECRETS', 'REPORTED']) {
  void t.test(`agent killed -9 after ${step}`, (t) => crashRow(t, dir, { kind: 'agent-step', step }));
}
