/**
 * The agent killed -9 in the middle of a unit never acked its command, so
 * JetStream redelivers it after the consumer's ack wait (30 s) — by then the
 * unit may be finished (resumed at restart) and even torn down. The agent
 * keeps a tombstone per unit: the stale command is acknowledged, not re-run,
 * and no unit comes back. (Without the tombstone this test fails: every
 * torn-down unit is re-created by its redelivered command.)
 */
import t from 'tap';
import { join } from 'node:path';
import { makeTemp } from '../cli/init-helpers.js';
import { crashRow, noUnitComesBack } from './crash-fixture.js';

const { dir: tmp, remove } = makeTemp('holonet-crash-redelivery-');
t.teardown(remove);
const dir = join(tmp, 'cell');

void t.test('agent killed -9 after KEYED', (t) => crashRow(t, dir, { kind: 'agent-step', step: 'KEYED' }));
void t.test('agent killed -9 after REPORTED', (t) => crashRow(t, dir, { kind: 'agent-step', step: 'REPORTED' }));
void t.test('the redelivered commands do not bring the torn-down units back', (t) => noUnitComesBack(t, dir));
