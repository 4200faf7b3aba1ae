/**
 * A plain subscription to events that need no answer (metering batches on
 * `evt.*.metering`): each message goes to `handle` synchronously, in order,
 * and a reply subject on it is ignored (nothing is ever published back).
 * A flood costs bounded memory: with a callback, nats.js hands each message
 * over as it is parsed, so nothing queues in the client; a subscriber that
 * falls behind is cut off by the server as a slow consumer (its pending
 * limits), and metering loses nothing by a dropped batch (every batch carries
 * totals, the next one makes up for it).
 *
 * And the other direction: an event published best effort (a NOTIFY budget
 * notice), where the ledger entry written before it is the record and a lost
 * message costs nothing but the moment.
 */
import type { Subscription } from '@nats-io/transport-node';
import type { BusConnection } from './connect.js';

export interface EventSubscription {
  /** messages handed to `handle`, and handler failures (which never end the subscription) */
  readonly stats: { received: number; failed: number };
  close(): void;
}

export function subscribeEvents(conn: BusConnection, subject: string, handle: (subject: string, data: Uint8Array) => void): EventSubscription {
  const stats = { received: 0, failed: 0 };
  let sub: Subscription | undefined = conn.nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) {
        conn.logger.warn({ subject, err: err.message }, 'event subscription error');
        return;
      }
      stats.received += 1;
      try {
        handle(msg.subject, msg.data);
      } catch (e) {
        stats.failed += 1;
        if (stats.failed <= 5 || stats.failed % 1000 === 0) conn.logger.error({ subject, failed: stats.failed, err: (e as Error).message }, 'event handler failed');
      }
    },
  });
  return {
    stats,
    close() {
      sub?.unsubscribe();
      sub = undefined;
    },
  };
}

/** Publish an event that nobody answers; a failure (a closed connection) is logged, never thrown. */
export function publishEvent(conn: BusConnection, subject: string, data: Uint8Array): void {
  try {
    conn.nc.publish(subject, data);
  } catch (e) {
    conn.logger.warn({ subject, err: (e as Error).message }, 'event not published');
  }
}
