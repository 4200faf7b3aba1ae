/**
 * The agent's BusConnector over @nats-io/transport-node: a .creds file, the
 * user's own inbox prefix (an enrolled machine may subscribe only
 * `_INBOX.<machine key>.>`, a bootstrap session uses `_INBOX.bootstrap.<machine
 * key>`), answers only under the reply prefixes a subscription names, reconnect forever, status
 * changes logged. No JetStream: neither user may touch `$JS.API`.
 *
 * adapters/nats connectBus would be the home for this once it takes an
 * `inboxPrefix` and can skip its JetStream check; until then it lives here.
 */
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { BusUnavailableError, type AgentBus, type BusConnector } from './bus-port.js';
import { replySubjectAllowed } from '../bus-schemas/subjects.js';

export function natsConnector(cfg: { servers: string[]; connectTimeoutMs: number }, log: Logger): BusConnector {
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
      const blog = log.child({ component: 'bus', connection: opts.name });
      blog.info({ servers: cfg.servers, server_version: nc.info?.version, authenticated: opts.credsFile !== undefined }, 'connected');
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
              // A JetStream push delivery carries its delivery count in the ack subject ($JS.ACK.<stream>.<consumer>.<delivered>…).
              const delivered = m.reply?.startsWith('$JS.ACK.') === true ? Number(m.reply.split('.')[4] ?? '1') : 1;
              // Answer only where this subscription may (never a reply subject a sender chose to aim elsewhere).
              const replyAllowed = replySubjectAllowed(m.reply, replyPrefixes);
              onMessage({ subject: m.subject, data: m.data, redelivered: delivered > 1, replyAllowed, respond: (d) => replyAllowed && m.respond(d) });
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
