/**
 * LedgerWriter: appends sealed, hash-chained entries to `ledger.<owner>`.
 *
 * An append chains onto the owner's head — kept in memory after this
 * writer's own appends, otherwise read from the stream (last message by
 * subject, checked exactly as the verifier would) — seals, and publishes with
 *   Nats-Msg-Id = entry digest                  (a re-send collapses)
 *   expected-last-subject-sequence = head's     (a concurrent writer cannot fork)
 * On "wrong last sequence" it drops its head, re-reads and retries (bounded,
 * with jitter), so any number of writers on one owner produce ONE chain. A
 * lost PubAck is retried with the same bytes; the server's duplicate window
 * collapses it, and past the window a tail equal to our entry counts as done.
 *
 * A writer vouches only for what it verified: a head it did not write itself
 * (or no longer holds in memory) is read from the stream and checked in full
 * — strict decode, canonical bytes, owner = subject, seq/prev consistent,
 * trusted writer, Ed25519 seal — before anything is chained onto it; otherwise the append fails with LedgerHeadError and nothing is
 * published. That rule is what lets the audit's `chain` mode verify seals
 * only at heads and run ends (bus-schemas/ledger/SEALS.md).
 *
 * Appends to one owner are serialized inside a writer (each needs the stream
 * sequence of the previous one); appends to different owners run
 * concurrently — that is the pipeline.
 *
 * nats-server 2.9 CLUSTERS do not serialize expected-last-subject-sequence
 * checks (nats-server#4320, reproduced in test/bus/cluster.test.ts): two
 * writers racing on one owner through different nodes can both be accepted
 * and fork the chain. The audit finds every such fork. Where several
 * processes may write the same owner on a 2.9 cluster, use
 * `serialize: 'stream'`: each append then also expects the stream's last
 * sequence (a check 2.9 clusters do serialize), at the price of serializing
 * every append of the writer and conflicting with every other ledger writer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { Clock } from '../../bus-schemas/clock.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { checkLedgerEntry } from '../../bus-schemas/ledger/check-entry.js';
import type { LedgerBreakReason } from '../../bus-schemas/ledger/ledger-report.js';
import { sealNextEntry, type LedgerHead, type SealedLedgerEntry } from '../../bus-schemas/ledger/next-entry.js';
import { ledgerSubject, type LedgerOwner } from '../../bus-schemas/subjects.js';
import type { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { timeAt, type TimeEnvelopeRef } from '../../bus-schemas/v1/time-envelope.js';
import type { BusConnection } from './connect.js';
import { BusRequestError, LedgerAppendError, errorText } from './errors.js';

const WRONG_LAST_SEQUENCE = 10071;
/** nats-server ≥ 2.10 clusters refuse a racing writer with this code instead (no sequence in the text; nats-server#4320). */
const WRONG_LAST_SEQUENCE_CLUSTERED = 10164;

export interface LedgerWriterOptions {
  signer: Signer;
  clock: Clock;
  clockSource?: TimeEnvelopeRef['source'];
  /** Stream name (default LEDGER). */
  stream?: string;
  /** Attempts per append before giving up on conflicts (default 32). */
  maxAttempts?: number;
  /** Re-sends of the same bytes after a PubAck timeout (default 3). */
  maxResends?: number;
  /** If given, a tail not sealed by one of these keys is refused, never chained onto. */
  trustedWriters?: readonly PublicKeyIdV1[];
  /** PubAck timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Heads kept in memory (least recently used dropped first; a dropped head is re-read). Default 100 000. */
  maxCachedHeads?: number;
  /**
   * 'subject' (default): each append expects its owner's last sequence;
   * appends to different owners pipeline. 'stream': each append also expects
   * the whole stream's last sequence; safe for racing writers on a 2.9 cluster.
   */
  serialize?: 'subject' | 'stream';
}

/** A sealed entry and the stream position it must land after; safe to persist and commit again after a crash. */
export interface PreparedAppend {
  owner: LedgerOwner;
  subject: string;
  sealed: SealedLedgerEntry;
  /** Stream sequence of the owner's previous entry (0: none). */
  expectLastSubjectSeq: number;
  /** In 'stream' mode: the stream's last sequence this entry must follow. */
  expectLastSeq?: number;
}

export interface AppendResult {
  entry: LedgerEntryV1;
  digest: CasDigest;
  stream_seq: number;
  /** True when the stream already had this exact entry (a re-send collapsed). */
  duplicate: boolean;
  attempts: number;
}

/** A head and the stream sequence of the message that holds it. */
export interface CachedHead extends LedgerHead {
  streamSeq: number;
}

/**
 * The owner's head in the stream is not something this writer will chain
 * onto: it fails a check the audit would flag (`reason`, as in a ledger
 * break). Nothing was appended.
 */
export class LedgerHeadError extends LedgerAppendError {
  readonly reason: LedgerBreakReason;
  readonly stream_seq: number;
  readonly entry_seq: number | null;
  constructor(server: string, owner: string, streamSeq: number, entrySeq: number | null, reason: LedgerBreakReason, detail: string) {
    super(server, owner, `head at stream seq ${streamSeq} is not a valid entry: ${reason}: ${detail}`);
    this.reason = reason;
    this.stream_seq = streamSeq;
    this.entry_seq = entrySeq;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), owner: this.owner, reason: this.reason, stream_seq: this.stream_seq, entry_seq: this.entry_seq };
  }
}

/** Internal: another entry holds the position we expected (never escapes this file). */
class ConflictSignal extends Error {
  constructor(override readonly cause: unknown) {
    super('wrong last sequence');
  }
}

export class LedgerWriter {
  readonly #conn: BusConnection;
  readonly #opts: LedgerWriterOptions;
  readonly #stream: string;
  readonly #trusted: ReadonlySet<string>;
  readonly #heads = new Map<string, CachedHead>();
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #streamMode: boolean;
  /** 'stream' mode: the stream's last sequence as far as we know (null: read it). */
  #streamLast: number | null = null;

  constructor(conn: BusConnection, opts: LedgerWriterOptions) {
    this.#conn = conn;
    this.#opts = opts;
    this.#stream = opts.stream ?? 'LEDGER';
    this.#trusted = new Set(opts.trustedWriters ?? []);
    this.#streamMode = opts.serialize === 'stream';
  }

  /** Append one entry to `owner`'s chain; resolves once the stream has it. */
  append(owner: LedgerOwner, kind: string, body: JsonValue, opts: { at?: TimeEnvelopeRef } = {}): Promise<AppendResult> {
    const subject = ledgerSubject(owner);
    // One queue per owner; in 'stream' mode one queue for everything.
    const key = this.#streamMode ? '*' : owner;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(
      () => this.#appendNow(owner, subject, kind, body, opts.at),
      () => this.#appendNow(owner, subject, kind, body, opts.at),
    );
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  async #appendNow(owner: LedgerOwner, subject: string, kind: string, body: JsonValue, at: TimeEnvelopeRef | undefined): Promise<AppendResult> {
    const max = this.#opts.maxAttempts ?? 32;
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= max; attempt++) {
      const prepared = await this.#prepare(owner, subject, kind, body, at);
      try {
        return { ...(await this.#commit(prepared)), attempts: attempt };
      } catch (e) {
        if (!(e instanceof ConflictSignal)) throw e;
        lastConflict = e.cause;
        this.#heads.delete(owner);
        this.#streamLast = null;
        // Another writer won this position; back off a little so we don't keep colliding.
        await sleep(Math.floor(Math.random() * Math.min(20, 2 * attempt)));
      }
    }
    throw new LedgerAppendError(this.#conn.server, owner, `gave up after ${max} conflicting attempts`, { cause: lastConflict });
  }

  /** Read the head (memory, else stream), then seal the next entry. */
  async prepare(owner: LedgerOwner, kind: string, body: JsonValue, opts: { at?: TimeEnvelopeRef } = {}): Promise<PreparedAppend> {
    return this.#prepare(owner, ledgerSubject(owner), kind, body, opts.at);
  }

  async #prepare(owner: LedgerOwner, subject: string, kind: string, body: JsonValue, at: TimeEnvelopeRef | undefined): Promise<PreparedAppend> {
    const head = this.#heads.get(owner) ?? (await this.readHead(owner));
    const sealed = sealNextEntry(
      head,
      { owner, kind, body, at: at ?? timeAt(this.#opts.clock.now(), this.#opts.clockSource ?? 'SYSTEM') },
      this.#opts.signer,
    );
    const prepared: PreparedAppend = { owner, subject, sealed, expectLastSubjectSeq: head?.streamSeq ?? 0 };
    if (this.#streamMode) prepared.expectLastSeq = this.#streamLast ?? (await this.#readStreamLast());
    return prepared;
  }

  async #readStreamLast(): Promise<number> {
    try {
      return (await this.#conn.jsm.streams.info(this.#stream)).state.last_seq;
    } catch (e) {
      throw new BusRequestError(this.#conn.server, `STREAM.INFO.${this.#stream}`, errorText(e), { cause: e });
    }
  }

  /**
   * Publish a prepared entry exactly as prepared (same bytes, same msgID).
   * Committing the same PreparedAppend twice is safe: the second collapses.
   * Throws LedgerAppendError if another entry took its place.
   */
  async commit(prepared: PreparedAppend): Promise<AppendResult> {
    try {
      return { ...(await this.#commit(prepared)), attempts: 1 };
    } catch (e) {
      if (e instanceof ConflictSignal) {
        this.#heads.delete(prepared.owner);
        this.#streamLast = null;
        throw new LedgerAppendError(this.#conn.server, prepared.owner, `seq ${prepared.sealed.entry.seq} was taken by another entry`, {
          cause: e.cause,
        });
      }
      throw e;
    }
  }

  async #commit(p: PreparedAppend): Promise<Omit<AppendResult, 'attempts'>> {
    const resends = this.#opts.maxResends ?? 3;
    for (let i = 0; ; i++) {
      let ack: PubAck;
      try {
        ack = await this.#conn.js.publish(p.subject, p.sealed.bytes, {
          msgID: p.sealed.digest,
          expect:
            p.expectLastSeq === undefined
              ? { lastSubjectSequence: p.expectLastSubjectSeq }
              : { lastSubjectSequence: p.expectLastSubjectSeq, lastSequence: p.expectLastSeq },
          timeout: this.#opts.timeoutMs ?? 5000,
        });
      } catch (e) {
        if (e instanceof JetStreamApiError && (e.code === WRONG_LAST_SEQUENCE || e.code === WRONG_LAST_SEQUENCE_CLUSTERED)) {
          // Past the duplicate window a re-send of an entry that did land looks like a conflict.
          const landed = await this.#landed(p);
          if (landed !== null) return landed;
          throw new ConflictSignal(e);
        }
        if (e instanceof natsErrors.TimeoutError && i < resends) continue;
        throw new BusRequestError(this.#conn.server, p.subject, `ledger publish failed: ${errorText(e)}`, { cause: e });
      }
      const { entry, digest } = p.sealed;
      this.#remember(p.owner, { seq: entry.seq, digest, streamSeq: ack.seq });
      if (this.#streamMode) this.#streamLast = ack.duplicate ? null : ack.seq;
      return { entry, digest, stream_seq: ack.seq, duplicate: ack.duplicate };
    }
  }

  async #landed(p: PreparedAppend): Promise<Omit<AppendResult, 'attempts'> | null> {
    const head = await this.readHead(p.owner);
    if (head === null || head.digest !== p.sealed.digest) return null;
    this.#remember(p.owner, head);
    return { entry: p.sealed.entry, digest: p.sealed.digest, stream_seq: head.streamSeq, duplicate: true };
  }

  #remember(owner: string, head: CachedHead): void {
    this.#heads.delete(owner); // re-insert: Map order is then least recently written first
    this.#heads.set(owner, head);
    if (this.#heads.size > (this.#opts.maxCachedHeads ?? 100_000)) {
      const oldest = this.#heads.keys().next();
      if (oldest.done !== true) this.#heads.delete(oldest.value);
    }
  }

  /**
   * The owner's head as stored in the stream (null: no entries), checked in
   * full like the audit's `full` mode checks an entry: strict decode (seq and
   * prev consistent), canonical bytes, owner = subject, trusted writer,
   * Ed25519 seal. Throws LedgerHeadError otherwise: fail closed, never chain
   * onto what the audit would flag. (A validly sealed head on another branch
   * of a fork — possible on 2.9 clusters in 'subject' mode — is chained onto:
   * its writer vouched for it, and the audit reports the fork.)
   */
  async readHead(owner: LedgerOwner): Promise<CachedHead | null> {
    const subject = ledgerSubject(owner);
    let stored;
    try {
      stored = await this.#conn.jsm.streams.getMessage(this.#stream, { last_by_subj: subject });
    } catch (e) {
      throw new BusRequestError(this.#conn.server, subject, `cannot read the ledger head: ${errorText(e)}`, { cause: e });
    }
    if (stored === null) return null;
    const c = checkLedgerEntry(stored.subject, stored.data, this.#trusted);
    if (!c.ok) throw new LedgerHeadError(this.#conn.server, owner, stored.seq, c.entry_seq, c.reason, c.detail);
    return { seq: c.entry.seq, digest: c.digest, streamSeq: stored.seq };
  }

  /**
   * Commit a prepared entry that may have been prepared long ago (a
   * write-ahead outbox after a crash). If its place in the chain was taken:
   * when the head IS this entry (published before the crash, its msg id
   * outside the duplicate window) there is nothing to do; otherwise the
   * same event is sealed again on the current head and appended. Never two
   * copies of one prepared entry, never a fork.
   */
  async commitOrReseal(prepared: PreparedAppend): Promise<AppendResult> {
    try {
      return await this.commit(prepared);
    } catch (e) {
      if (!(e instanceof LedgerAppendError) || e instanceof LedgerHeadError) throw e;
      const head = await this.readHead(prepared.owner);
      if (head !== null && head.digest === prepared.sealed.digest) {
        this.#heads.set(prepared.owner, head);
        return { entry: prepared.sealed.entry, digest: head.digest, stream_seq: head.streamSeq, duplicate: true, attempts: 1 };
      }
      const e2 = prepared.sealed.entry;
      const again = await this.prepare(prepared.owner, e2.kind, e2.body, { at: e2.at });
      return { ...(await this.commit(again)), attempts: 2 };
    }
  }

  /** Forget cached heads (e.g. after a reconnect to another cluster); the next append re-reads. */
  forgetHeads(): void {
    this.#heads.clear();
    this.#streamLast = null;
  }
}
