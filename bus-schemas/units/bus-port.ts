/**
 * The bus as holon-agent needs it: request/reply to the cell, publish,
 * core subscriptions whose answers are confined to named reply prefixes,
 * and JetStream acknowledgements as typed methods of a delivered message.
 * Declared here, beside the isolation port (port.ts), so that
 * adapters/nats/agent-bus.ts implements it without importing agent/, and the
 * agent (agent/bus-port.ts re-exports it) and its tests' fakes use the same
 * declaration (ARCHITECTURE.md, "Adding an adapter").
 *
 * The wire details (`+ACK`, `-NAK {"delay":…}`, `+TERM`, the `$JS.ACK.…`
 * tokens that carry the delivery count) belong to the adapter alone.
 */
import { HolonError } from '../errors.js';

export interface BusSubscription {
  unsubscribe(): void;
}

/**
 * One message from a subscription. Every answer (`respond`, `ack`, `nak`,
 * `term`) goes only to the message's reply subject and only when that
 * subject lies under one of the subscription's `replyPrefixes`
 * (bus-schemas/subjects.ts replySubjectAllowed); otherwise nothing is sent
 * and the method returns false.
 */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** the reply subject is where this subscription may answer */
  readonly replyAllowed: boolean;
  /** a JetStream delivery that is not the first delivery of its message (false for core messages) */
  readonly redelivered: boolean;
  /** Publish `data` to the reply subject (a core request's answer). */
  respond(data: Uint8Array): boolean;
  /** JetStream: done with it, never deliver it again. False unless this is a JetStream delivery with an allowed reply. */
  ack(): boolean;
  /** JetStream: deliver it again after `delayMs`. False unless this is a JetStream delivery with an allowed reply. */
  nak(delayMs: number): boolean;
  /** JetStream: never deliver it again, it cannot be carried out. False unless this is a JetStream delivery with an allowed reply. */
  term(): boolean;
}

export interface AgentBus {
  /** Request/reply; rejects with BusUnavailableError on timeout, no responders or a closed connection. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  publish(subject: string, data: Uint8Array): void;
  /** Core subscription (a JetStream push consumer's deliver subject included); answers confined to `replyPrefixes`. */
  subscribe(subject: string, onMessage: (m: BusMessage) => void, opts: { replyPrefixes: readonly string[] }): BusSubscription;
  flush(): Promise<void>;
  /** Drain and close. */
  close(): Promise<void>;
}

export interface AgentBusConnectOptions {
  /** .creds file (user JWT + nkey seed); absent = no credentials (development server). */
  credsFile?: string;
  /** Where replies come back: the user may subscribe only its own inbox prefix. */
  inboxPrefix: string;
  name: string;
}

export interface AgentBusConnector {
  connect(opts: AgentBusConnectOptions): Promise<AgentBus>;
}

/** A transient bus failure (no cell answering, timeout, disconnected): retry later. */
export class BusUnavailableError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_BUS';
  readonly subject: string;
  constructor(subject: string, reason: string, options?: { cause?: unknown }) {
    super(BusUnavailableError.CODE, `agent: ${subject}: ${reason}`, options);
    this.subject = subject;
  }
}
