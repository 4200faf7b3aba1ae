/**
 * The orchestrator's machine projection port, declared once for its user
 * (orchestrator/machine-store.ts instantiates it with MachineRecord) and its
 * implementation (adapters/sqlite/machine-store.ts), generic over the record
 * so neither mirrors the other's shape. Every write of one step goes through
 * `commit`, one transaction, so a crash leaves the step either fully done or
 * not at all. Synchronous on purpose: the step is decided, persisted, and
 * only then answered.
 */
import type { PublicKeyIdV1 } from '../ids.js';

/** An open challenge: single-use, deleted when consumed or expired. */
export interface StoredSession {
  machineId: PublicKeyIdV1;
  /** digest of the hello it answers: the same hello gets the same challenge while this is open */
  helloDigest: string;
  /** the hello, canonical JSON (the TPM facts are re-derived from it at attest time) */
  hello: string;
  /** the sealed BootstrapChallengeV1, canonical JSON */
  challenge: string;
  /** BootstrapSession as JSON (holds the activation secret: never leaves the cell) */
  session: string;
  expiresAt: number;
}

/** A ledger entry persisted before it is published (write-ahead); `text` is opaque to the store. */
export interface OutboxEntry {
  id: string;
  text: string;
}

export interface TpmClockRecord {
  clock: string;
  reset_count: number;
  restart_count: number;
  safe: boolean;
}

/** Everything one bootstrap step changes, written in one transaction. */
export interface StepWrite<M> {
  machine?: M;
  putSession?: StoredSession;
  deleteSession?: PublicKeyIdV1;
  seenQuote?: { digest: string; at: number };
  akClock?: { akName: string; clock: TpmClockRecord };
  usedNonce?: { nonce: string; expiresAt: number };
  /** NATS user JWT for the machine's current nats key (not part of the ledger) */
  credentials?: { machineId: PublicKeyIdV1; natsUserKey: string; jwt: string };
  outbox?: OutboxEntry;
}

export interface MachineStorePort<M> {
  getMachine(id: PublicKeyIdV1): M | undefined;
  /** Ordered by machine id; `after` is exclusive. */
  listMachines(opts: { after?: string; limit: number }): M[];
  countMachines(): number;
  getSession(id: PublicKeyIdV1): StoredSession | undefined;
  hasSeenQuote(digest: string): boolean;
  akClock(akName: string): TpmClockRecord | undefined;
  isNonceUsed(nonce: string): boolean;
  credentials(id: PublicKeyIdV1): { natsUserKey: string; jwt: string } | undefined;
  /** Next certificate serial of this cell (its own transaction; a crash may leave a gap, never a repeat). */
  allocateSerial(): number;
  /** Reserve `count` consecutive serials in one transaction; returns the first. */
  allocateSerials(count: number): number;
  /** After a rebuild: serials continue above `atLeast`. */
  raiseSerial(atLeast: number): void;
  commit(step: StepWrite<M>): void;
  pendingOutbox(): OutboxEntry[];
  removeOutbox(id: string): void;
  /** Delete sessions that expired before `before`; returns how many. */
  purgeExpiredSessions(before: number): number;
  /** Empty every table (before a rebuild from the ledger). */
  clear(): void;
  close(): void;
}
