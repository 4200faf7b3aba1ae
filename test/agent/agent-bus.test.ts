/**
 * The agent's bus adapter (adapters/nats/agent-bus.ts) without a server:
 * JetStream delivery info read from ack subjects exactly as nats.js reads it,
 * the acks it sends (the payloads nats.js's JsMsg sends), that an ack is
 * final, and that nothing is ever sent outside the subscription's reply
 * prefixes. The same adapter runs against a real nats-server in
 * test/agent/bootstrap.test.ts and test/provision/.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DeliveryInfo } from '@nats-io/jetstream';
import { deliveryInfo, toBusMessage } from '../../adapters/nats/agent-bus.js';

// nats.js's own parser, for comparison: @nats-io/jetstream does not export it (package "exports"), so it is loaded by path here, in a test only.
const require = createRequire(import.meta.url);
const jsmsg = require(join(dirname(require.resolve('@nats-io/jetstream')), 'jsmsg.js')) as { parseInfo(s: string): DeliveryInfo };

const PREFIX = '$JS.ACK.CMD.agent-m1';
const OLD = `${PREFIX}.3.10.9.1700000000123456789.4`;
const NEW = '$JS.ACK.hub.ACCHASH.CMD.agent-m1.1.11.12.1700000000123456789.0.r4nd0m';
const dec = new TextDecoder();

void t.test('delivery info: both layouts of the ack subject, as nats.js reads them', async (t) => {
  for (const reply of [OLD, NEW, '$JS.ACK._.ACCHASH.CMD.agent-m1.2.1.1.1.0.x', '$JS.ACK.CMD.c.1.1.1.1.0']) {
    t.same(deliveryInfo(reply), jsmsg.parseInfo(reply), reply);
  }
  t.match(deliveryInfo(OLD), { stream: 'CMD', consumer: 'agent-m1', deliveryCount: 3, redelivered: true, streamSequence: 10, deliverySequence: 9, pending: 4, domain: '' });
  t.match(deliveryInfo(NEW), { domain: 'hub', account_hash: 'ACCHASH', stream: 'CMD', deliveryCount: 1, redelivered: false });
  for (const reply of [undefined, '', '_INBOX.x.y', '$JS.ACK.CMD.c.1.1.1', '$JS.ACK.CMD.c.x.1.1.1.0', '$JS.ACK.CMD.c.0.1.1.1.0', '$JS.ACK.CMD.c.-1.1.1.1.0', '$JS.API.CONSUMER.INFO.CMD.c.1.1.1.1']) {
    t.equal(deliveryInfo(reply), undefined, `not a delivery: ${String(reply)}`);
  }
});

function message(reply: string | undefined, prefixes: readonly string[]) {
  const sent: { subject: string | undefined; data: string }[] = [];
  const m = toBusMessage({ subject: 'cmd.m1', data: new Uint8Array([1]), reply, respond: (d?: Uint8Array) => (sent.push({ subject: reply, data: dec.decode(d) }), true) }, prefixes);
  return { m, sent };
}

void t.test('acks: the JetStream payloads, once, and only under an allowed prefix', async (t) => {
  let { m, sent } = message(OLD, [PREFIX]);
  t.match(m, { replyAllowed: true, redelivered: true, subject: 'cmd.m1' });
  t.ok(m.ack());
  t.notOk(m.nak(5000), 'an ack is final');
  t.notOk(m.term());
  t.same(sent, [{ subject: OLD, data: '+ACK' }]);

  ({ m, sent } = message(OLD, [PREFIX]));
  t.ok(m.nak(5000));
  t.same(sent, [{ subject: OLD, data: '-NAK {"delay":5000000000}' }], 'nak with the delay in nanoseconds');
  ({ m, sent } = message(OLD, [PREFIX]));
  t.ok(m.term());
  t.same(sent, [{ subject: OLD, data: '+TERM' }]);

  // Another consumer's ack subject, an inbox, a reply aimed at the JetStream API: nothing is sent.
  for (const reply of ['$JS.ACK.CMD.agent-m2.1.1.1.1.0', '_INBOX.m1.x', '$JS.API.STREAM.PURGE.CMD', undefined]) {
    ({ m, sent } = message(reply, [PREFIX]));
    t.equal(m.replyAllowed, false, `${String(reply)}: not allowed`);
    t.same([m.ack(), m.nak(1), m.term(), m.respond(new Uint8Array([1]))], [false, false, false, false], `${String(reply)}: every answer refused`);
    t.same(sent, [], `${String(reply)}: nothing sent`);
  }
});

void t.test('core requests: respond under an allowed prefix; acks are not for them', async (t) => {
  const { m, sent } = message('_INBOX.cell.job1', ['_INBOX.cell']);
  t.match(m, { replyAllowed: true, redelivered: false });
  t.notOk(m.ack(), 'not a JetStream delivery: no ack');
  t.ok(m.respond(new TextEncoder().encode('result')));
  t.same(sent, [{ subject: '_INBOX.cell.job1', data: 'result' }]);
});
