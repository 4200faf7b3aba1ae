/**
 * The bus as the agent needs it, declared beside its users (STYLE: ports
 * beside their users); main.ts implements it over @nats-io/transport-node.
 * Plus the one place that turns a cell's reply bytes into a verified object
 * or a typed refusal.
 */
import { HolonError } from '../bus-schemas/errors.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { RefusalV1 } from '../bus-schemas/v1/refusal.js';
import { decodeJson, type SealedWireType } from '../bus-schemas/wire.js';
import { CellReplyError, CellRefusedError } from './agent-error.js';

export interface AgentBus {
  /** Request/reply; rejects with BusUnavailableError on timeout, no responders or a closed connection. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  publish(subject: string, data: Uint8Array): void;
  /**
   * Core subscription. `respond` publishes to the message's reply subject only if that subject lies under one
   * of `replyPrefixes` (bus-schemas/subjects replySubjectAllowed); otherwise it sends nothing and returns false.
   */
  subscribe(subject: string, onMessage: (m: BusMessage) => void, opts: { replyPrefixes: readonly string[] }): { unsubscribe(): void };
  flush(): Promise<void>;
  /** Drain and close. */
  close(): Promise<void>;
}

export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /** JetStream delivery metadata, when the message came from a push consumer */
  redelivered: boolean;
  /** the reply subject is where this subscription may answer (see `subscribe`) */
  replyAllowed: boolean;
  respond(data: Uint8Array): boolean;
}

export interface BusConnectOptions {
  /** .creds file (user JWT + nkey seed); absent = no credentials (development server). */
  credsFile?: string;
  /** Where replies come back: the user may subscribe only its own inbox prefix. */
  inboxPrefix: string;
  name: string;
}

export interface BusConnector {
  connect(opts: BusConnectOptions): Promise<AgentBus>;
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

/**
 * Decode a reply of `type` sealed by `cellKey`, or a RefusalV1. A refusal
 * sealed by the certified cell key is authenticated; before the cell has
 * proven itself (the hello) any refusal is only informational and marked so.
 */
export function decodeCellReply<T>(subject: string, bytes: Uint8Array, type: SealedWireType<T, keyof T & string>, cellKey: PublicKeyIdV1 | undefined): T {
  let json: unknown;
  try {
    json = decodeJson(bytes, type.name, Math.max(type.maxBytes, RefusalV1.maxBytes));
  } catch (e) {
    throw new CellReplyError(subject, `not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof json === 'object' && json !== null && Object.prototype.hasOwnProperty.call(json, RefusalV1.sealField)) {
    let refusal: RefusalV1;
    try {
      refusal = RefusalV1.parse(json);
      RefusalV1.verify(refusal);
    } catch (e) {
      throw new CellReplyError(subject, `a refusal that does not verify: ${(e as Error).message}`, { cause: e });
    }
    const authenticated = cellKey !== undefined && refusal.refuser_seal.key === cellKey;
    throw new CellRefusedError(subject, refusal.code, refusal.reason ?? refusal.message, authenticated);
  }
  let value: T;
  try {
    value = type.parse(json);
  } catch (e) {
    throw new CellReplyError(subject, `not a valid ${type.name}: ${(e as Error).message}`, { cause: e });
  }
  if (cellKey !== undefined) {
    try {
      type.verify(value, cellKey);
    } catch (e) {
      throw new CellReplyError(subject, `${type.name} is not sealed by the certified cell key ${cellKey}`, { cause: e });
    }
  }
  return value;
}
