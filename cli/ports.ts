/**
 * What holonctl commands need from the world, declared beside their users.
 * cli/main.ts implements these with adapters/nats; tests may pass fakes.
 */
import { HolonError } from '../bus-schemas/errors.js';
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

export interface CellRequest<Q, R> {
  subject: string;
  requestType: WireType<Q>;
  request: Q;
  replyType: WireType<R>;
  /** the key the reply (when sealed) and any refusal must be sealed by */
  responder?: PublicKeyIdV1;
  timeoutMs?: number;
}

/** Signed request/reply with a cell (holonctl machines, approve). */
export interface CellClient {
  /** Send a sealed request; the verified reply, or a thrown RefusedError carrying the cell's signed refusal. */
  request<Q, R>(opts: CellRequest<Q, R>): Promise<R>;
  /** Core subscription (job output); `ready` once the server has it, `drain` delivers what is in flight, then stops. */
  subscribe?(subject: string, onMessage: (data: Uint8Array) => void): { ready: Promise<void>; drain(): Promise<void>; close(): void };
  close(): Promise<void>;
}

/**
 * An answer (a reply or a refusal) sealed by another key than the responder
 * the request named: what answers on this bus is not the expected cell.
 * cli/main.ts raises it for the bus adapter's bad reply with a seal by the
 * wrong key; openCell turns it into a sentence naming both cells.
 */
export class ResponderMismatchError extends HolonError {
  static readonly CODE = 'HOLON_E_BUS_BAD_REPLY';
  readonly subject: string;
  readonly sealedBy: PublicKeyIdV1;
  readonly expected: PublicKeyIdV1;
  constructor(subject: string, sealedBy: PublicKeyIdV1, expected: PublicKeyIdV1, message: string, options?: { cause?: unknown }) {
    super(ResponderMismatchError.CODE, message, options);
    this.subject = subject;
    this.sealedBy = sealedBy;
    this.expected = expected;
  }
}

/** The files a bus command reads to find its cell (cli/bus-target.ts): the data dir's context file and credential. */
export interface CellDirFiles {
  /** The text of `path`; undefined if there is no such file. */
  readText(path: string): string | undefined;
  exists(path: string): boolean;
}

export interface CliPorts {
  openLedgerSource(target: BusTarget): Promise<LedgerSource>;
  /** Optional so fakes for other commands need not provide it; cli/main.ts does. */
  openCellClient?(target: BusTarget): Promise<CellClient>;
  /** Without it, a bus command knows only its flags and the environment. */
  files?: CellDirFiles;
  /** The release, for `holonctl --version` (cli/main.ts reads package.json). */
  version?: string;
}
