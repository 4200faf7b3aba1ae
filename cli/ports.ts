/**
 * What holonctl commands need from the world, declared beside their users.
 * cli/main.ts implements these with adapters/nats; tests may pass fakes.
 */
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { LedgerRecord } from '../bus-schemas/ledger/verify-ledger.js';
import type { WireType } from '../bus-schemas/wire.js';

export type LedgerReplayStart = { seq: number } | { time: Date };

export interface LedgerReplaySession {
  /** Messages the replay will deliver. */
  pending: number;
  /** Stream's last sequence when the replay began. */
  lastSeq: number;
  records: AsyncIterable<LedgerRecord>;
}

export interface LedgerSource {
  replay(opts: { since?: LedgerReplayStart }): Promise<LedgerReplaySession>;
  close(): Promise<void>;
}

export interface BusTarget {
  servers: string[];
  credsFile?: string;
  /** the requester's own inbox prefix (`_INBOX.<principal key>`): the cell answers only there */
  inboxPrefix?: string;
}

/** Signed request/reply with a cell (holonctl machines, approve). */
export interface CellClient {
  /** Send a sealed request; the verified reply, or a thrown RefusedError carrying the cell's signed refusal. */
  request<Q, R>(opts: { subject: string; requestType: WireType<Q>; request: Q; replyType: WireType<R>; responder?: PublicKeyIdV1; timeoutMs?: number }): Promise<R>;
  /** Core subscription (job output); `ready` once the server has it, `drain` delivers what is in flight, then stops. */
  subscribe?(subject: string, onMessage: (data: Uint8Array) => void): { ready: Promise<void>; drain(): Promise<void>; close(): void };
  close(): Promise<void>;
}

export interface CliPorts {
  openLedgerSource(target: BusTarget): Promise<LedgerSource>;
  /** Optional so fakes for other commands need not provide it; cli/main.ts does. */
  openCellClient?(target: BusTarget): Promise<CellClient>;
}
