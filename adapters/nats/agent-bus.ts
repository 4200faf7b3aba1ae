/**
 * bus(nats) for holon-agent: the AgentBusConnector of
 * bus-schemas/units/bus-port.ts over @nats-io/transport-node. A .creds file,
 * the user's own inbox prefix (an enrolled machine may subscribe only
 * `_INBOX.<machine key>.>`, a bootstrap session `_INBOX.bootstrap.<machine
 * key>`), answers only under the reply prefixes a subscription names,
 * reconnect forever, status changes logged. No JetStream API: neither agent
 * user may touch `$JS.API`, so the CMD push consumer is read as a core
 * subscription of its deliver subject and acknowledged here.
 *
 * Why not nats.js's JsMsg: @nats-io/jetstream 3.4 does not export `toJsMsg`
 * or `parseInfo` (its package exports are "." and "./internal" only), and its
 * one public way to JsMsg without `$JS.API`, `getBoundPushConsumer`, answers
 * flow-control and heartbeat messages itself, outside the allowed reply
 * prefixes. So the delivery info is read here into nats.js's own
 * `DeliveryInfo` type, with the same two layouts of the ack subject that
 * nats.js's parseInfo reads, and the acks are the payloads JsMsg sends.
 */
import { readFile } from 'node:fs/promises';
import type { DeliveryInfo } from '@nats-io/jetstream';
import { connect, credsAuthenticator, type Msg, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { replySubjectAllowed } from '../../bus-schemas/subjects.js';
import { BusUnavailableError, type AgentBus, type AgentBusConnector, type BusMessage } from '../../bus-schemas/units/bus-port.js';
import { bindOnce, unboundFields } from './connect.js';

const enc = new TextEncoder();
const ACK = enc.encode('+ACK');
const TERM = enc.encode('+TERM');
const nak = (delayMs: number): Uint8Array => enc.encode(`-NAK ${JSON.stringify({ delay: Math.max(0, Math.round(delayMs)) * 1_000_000 })}`);
const DECIMAL = /^\d{1,20}$/;

/**
 * The delivery info in a JetStream ack subject, or undefined when `reply` is
 * not one. Two layouts, as nats.js reads them:
 *   $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<delivery seq>.<ns>.<pending>
 *   $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>.<delivery seq>.<ns>.<pending>[.<token>…]
 */
export function deliveryInfo(reply: string | undefined): DeliveryInfo | undefined {
  if (reply === undefined) return undefined;
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  if (t.length === 9) t.splice(2, 0, '_', '');
  if (t.length < 11) return undefined;
  const [, , domain, accountHash, stream, consumer, ...nums] = t as [string, string, string, string, string, string, ...string[]];
  if (!nums.slice(0, 5).every((n) => DECIMAL.test(n))) return undefined;
  const [deliveryCount, streamSequence, deliverySequence, timestampNanos, pending] = nums.slice(0, 5).map(Number) as [number, number, number, number, number];
  if (deliveryCount < 1) return undefined;
  return { domain: domain === '_' ? '' : domain, account_hash: accountHash, stream, consumer, deliveryCount, redelivered: deliveryCount > 1, streamSequence, deliverySequence, timestampNanos, pending };
}

/** A received message as the agent sees it: every answer confined to `replyPrefixes`. */
export function toBusMessage(m: Pick<Msg, 'subject' | 'data' | 'reply' | 'respond'>, replyPrefixes: readonly string[]): BusMessage {
  const replyAllowed = replySubjectAllowed(m.reply, replyPrefixes);
  const info = deliveryInfo(m.reply);
  let acked = false;
  // An ack is final: once +ACK, -NAK or +TERM went out, nothing more is sent for this delivery (as JsMsg does).
  const answerDelivery = (payload: Uint8Array): boolean => {
    if (!replyAllowed || info === undefined || acked) return false;
    acked = true;
    return m.respond(payload);
  };
  return {
    subject: m.subject,
    data: m.data,
    replyAllowed,
    redelivered: info?.redelivered ?? false,
    respond: (data) => replyAllowed && m.respond(data),
    ack: () => answerDelivery(ACK),
    nak: (delayMs) => answerDelivery(nak(delayMs)),
    term: () => answerDelivery(TERM),
  };
}

export function natsAgentBus(cfg: { servers: string[]; connectTimeoutMs: number }, log: Logger): AgentBusConnector {
  return {
    async connect(opts): Promise<AgentBus> {
      const copts: NodeConnectionOptions = {
        servers: cfg.servers,
        name: opts.name,
        inboxPrefix: opts.inboxPrefix,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        timeout: cfg.connectTimeoutMs,
      };
      if (opts.credsFile !== undefined) copts.authenticator = credsAuthenticator(new Uint8Array(await readFile(opts.credsFile)));
      let nc: NatsConnection;
      try {
        nc = await connect(copts);
      } catch (e) {
        throw new BusUnavailableError(cfg.servers.join(','), `cannot connect: ${(e as Error).message}`, { cause: e });
      }
      // Each key once per line: pino would repeat a key the parent logger already binds (connect.ts, bindOnce).
      const blog = bindOnce(log, { component: 'bus', connection: opts.name });
      blog.info(unboundFields(blog, { servers: cfg.servers, server_version: nc.info?.version, authenticated: opts.credsFile !== undefined }), 'connected');
      void (async () => {
        for await (const s of nc.status()) {
          if (['disconnect', 'reconnect', 'error', 'ldm'].includes(s.type)) {
            blog.warn({ event: s.type }, `connection ${s.type}`);
          }
        }
      })().catch(() => undefined);
      return {
        async request(subject, data, timeoutMs) {
          try {
            return (await nc.request(subject, data, { timeout: timeoutMs })).data;
          } catch (e) {
            throw new BusUnavailableError(subject, (e as Error).message, { cause: e });
          }
        },
        publish: (subject, data) => nc.publish(subject, data),
        subscribe(subject, onMessage, { replyPrefixes }) {
          const sub = nc.subscribe(subject, {
            callback: (err, m) => {
              if (err !== null) {
                blog.warn({ subject, err: err.message }, 'subscription error');
                return;
              }
              onMessage(toBusMessage(m, replyPrefixes));
            },
          });
          return { unsubscribe: () => sub.unsubscribe() };
        },
        flush: () => nc.flush(),
        async close() {
          if (nc.isClosed()) return;
          await nc.drain().catch(() => nc.close());
        },
      };
    },
  };
}
