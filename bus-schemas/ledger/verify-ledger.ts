/**
 * Pure verification of a replayed LEDGER stream: feed it (stream sequence,
 * subject, raw bytes) in stream order and it checks every entry strictly —
 * size, strict decode, canonical bytes, owner = subject, trusted writer — and
 * each owner's chain (seq + 1, prev = digest of the previous entry). It never
 * stops at the first problem: every break is counted, the first ones are kept
 * in stream order, and the chain state only ever moves forward, so one
 * injected or lost entry is one break rather than a cascade.
 *
 * Seals, by mode (SEALS.md next to this file gives the argument in full):
 * - `full`: every entry's Ed25519 seal is verified.
 * - `chain` (default): a seal is verified only where a party vouches — each
 *   owner's head (its last entry in the replay) and every entry that ends a
 *   run of one writer key (its successor is sealed by another key). Every
 *   entry carries the digest of the one before, so a valid seal on entry k
 *   commits to the exact bytes of 1..k; writers verify any head they did not
 *   write themselves before chaining onto it (LedgerWriter.readHead). A seal
 *   that fails is reported at its own entry when it is checked (at the next
 *   key change, or at report()); breaks are kept sorted by stream sequence.
 *
 * Memory is bounded by the number of owners (one record each, holding the
 * text of its newest entry until that entry's seal is settled), not by the
 * number of entries. Same records in → same report out.
 */
import type { CasDigest } from '../digest.js';
import type { PublicKeyIdV1 } from '../ids.js';
import { parseLedgerSubject, type LedgerOwner } from '../subjects.js';
import type { LedgerEntryV1 } from '../v1/ledger-entry.js';
import { checkEntryBytes, checkEntrySeal, emptyFacts } from './check-entry.js';
import {
  breakReport,
  type LedgerBreak,
  type LedgerBreakReason,
  type LedgerReport,
  type LedgerVerifyMode,
  type OwnerSummary,
} from './ledger-report.js';

export interface LedgerRecord {
  /** JetStream stream sequence of the message. */
  stream_seq: number;
  subject: string;
  data: Uint8Array;
}

export interface LedgerVerifyOptions {
  /** Which seals to verify (default 'chain'; see the file comment). */
  mode?: LedgerVerifyMode;
  /** If non-empty, every entry must be sealed by one of these keys. */
  trustedWriters?: readonly PublicKeyIdV1[];
  /**
   * True (default) when the replay starts at the beginning of the stream:
   * every owner's chain must then begin with seq 1. False for a replay from
   * a time or a sequence: an owner's first entry seen anchors its chain.
   */
  fromStart?: boolean;
  /** If set, the first record must carry this stream sequence (a replay from the start expects 1). */
  expectFirstStreamSeq?: number;
  /**
   * Check that stream sequences are contiguous (default true). Turn off for a
   * replay filtered to some subjects, where other subjects' sequences are skipped.
   */
  checkStreamGaps?: boolean;
  /** How many breaks to keep in full (the rest are only counted); default 32. */
  keepBreaks?: number;
}

interface OwnerState extends OwnerSummary {
  owner: LedgerOwner;
  subject: string;
  head: CasDigest | null;
  /** chain mode: the newest entry that moved the head, until its seal is settled (text null = settled). */
  pendingText: string | null;
  pendingKey: string;
  pendingSeq: number;
  pendingStreamSeq: number;
  /** Whether the pending entry was counted valid (a failed seal then takes it back). */
  pendingValid: boolean;
  /** Where the pending entry's run of one key began. */
  runFirstSeq: number;
  runFirstStreamSeq: number;
}

export class LedgerVerifier {
  readonly #mode: LedgerVerifyMode;
  readonly #trusted: ReadonlySet<string>;
  readonly #fromStart: boolean;
  readonly #expectFirst: number | undefined;
  readonly #keep: number;
  readonly #checkGaps: boolean;
  /** Keyed by subject: a subject seen before needs no id decoding. */
  readonly #owners = new Map<string, OwnerState>();
  readonly #byReason = new Map<LedgerBreakReason, number>();
  readonly #kept: LedgerBreak[] = [];
  /** Reused for every entry (no per-entry result object). */
  readonly #facts = emptyFacts();
  #entries = 0;
  #valid = 0;
  #breaks = 0;
  #seals = 0;
  #firstStreamSeq: number | null = null;
  #lastStreamSeq: number | null = null;

  constructor(opts: LedgerVerifyOptions = {}) {
    this.#mode = opts.mode ?? 'chain';
    this.#trusted = new Set(opts.trustedWriters ?? []);
    this.#fromStart = opts.fromStart ?? true;
    this.#expectFirst = opts.expectFirstStreamSeq;
    this.#keep = Math.max(1, opts.keepBreaks ?? 32);
    this.#checkGaps = opts.checkStreamGaps ?? true;
  }

  get mode(): LedgerVerifyMode {
    return this.#mode;
  }

  /** Running totals, for progress lines during a long replay (chain mode: seal breaks show up when settled). */
  get totals(): { entries: number; valid: number; breaks: number; owners: number; seals_checked: number } {
    return { entries: this.#entries, valid: this.#valid, breaks: this.#breaks, owners: this.#owners.size, seals_checked: this.#seals };
  }

  /**
   * Check one record (in stream order); true if it is a valid link and nothing
   * was missing before it. In chain mode an unchecked seal may still turn out
   * bad later; report() is the verdict.
   */
  add(record: LedgerRecord): boolean {
    this.#entries += 1;
    const before = this.#breaks;
    const gap = this.#checkStreamOrder(record);
    if (gap !== null) this.#record(record.stream_seq, record.subject, null, null, 'STREAM_GAP', gap);
    this.#checkEntry(record);
    return this.#breaks === before;
  }

  #checkEntry(record: LedgerRecord): void {
    let st = this.#owners.get(record.subject);
    if (st === undefined) {
      let owner: LedgerOwner;
      try {
        owner = parseLedgerSubject(record.subject);
      } catch (e) {
        this.#record(record.stream_seq, record.subject, null, null, 'BAD_SUBJECT', (e as Error).message);
        return;
      }
      st = newOwner(owner, record.subject);
      this.#owners.set(record.subject, st);
    }
    st.entries += 1;
    const facts = this.#facts;
    const bad = checkEntryBytes(st.owner, record.subject, record.data, this.#trusted, facts);
    if (bad !== null) {
      this.#break(record.stream_seq, st, bad.entry_seq, bad.reason, bad.detail);
      return;
    }
    const entry = facts.entry;
    if (this.#mode === 'full') {
      this.#seals += 1;
      const sealProblem = checkEntrySeal(entry);
      if (sealProblem !== null) this.#break(record.stream_seq, st, entry.seq, 'BAD_SEAL', sealProblem);
      else if (this.#chain(record.stream_seq, st, entry.seq, entry.prev, facts.digest)) this.#countValid(st);
      return;
    }
    const moves = st.last_seq === null || entry.seq > st.last_seq;
    const key = entry.writer_seal.key;
    // A run is a stretch of LINKED entries under one key. When another key takes over, or the new
    // entry does not link to the head (a gap, a wrong prev), the head ends a run: its seal is the
    // only one that vouches for that run, so it is checked now.
    const runEnds = st.pendingKey !== key || entry.seq !== (st.last_seq as number) + 1 || entry.prev !== st.head;
    if (moves && runEnds) this.#settle(st);
    const valid = this.#chain(record.stream_seq, st, entry.seq, entry.prev, facts.digest);
    if (valid) this.#countValid(st);
    if (!moves) return;
    if (runEnds) {
      st.runFirstSeq = entry.seq;
      st.runFirstStreamSeq = record.stream_seq;
    }
    st.pendingText = facts.text;
    st.pendingKey = key;
    st.pendingSeq = entry.seq;
    st.pendingStreamSeq = record.stream_seq;
    st.pendingValid = valid;
  }

  #countValid(st: OwnerState): void {
    st.valid += 1;
    this.#valid += 1;
  }

  /** chain mode: verify the seal of the owner's pending entry once. */
  #settle(st: OwnerState): void {
    const text = st.pendingText;
    if (text === null) return;
    st.pendingText = null;
    this.#seals += 1;
    // The text passed the strict decode when it arrived; JSON.parse gives the same value back.
    const problem = checkEntrySeal(JSON.parse(text) as LedgerEntryV1);
    if (problem === null) return;
    if (st.pendingValid) {
      st.valid -= 1;
      this.#valid -= 1;
    }
    const run =
      st.runFirstSeq < st.pendingSeq
        ? `; it was the seal checked for entries ${st.runFirstSeq}..${st.pendingSeq} (stream seq ${st.runFirstStreamSeq}..${st.pendingStreamSeq}) of this key, which are unvouched now (audit --full checks each)`
        : '';
    this.#break(st.pendingStreamSeq, st, st.pendingSeq, 'BAD_SEAL', `${problem}${run}`);
  }

  /**
   * Chain rules. The state only moves forward: an entry at or behind the head
   * (a fork, a replayed copy) is a break and changes nothing; an entry ahead
   * of the head (a gap, a wrong prev) is a break and becomes the new head, so
   * the entries after it are judged against what really follows. True if the
   * entry is a valid link.
   */
  #chain(streamSeq: number, st: OwnerState, seq: number, prev: CasDigest | null, digest: CasDigest): boolean {
    const last = st.last_seq;
    const head = st.head;
    if (last !== null && seq <= last) {
      return this.#break(streamSeq, st, seq, 'SEQ_REWIND', `seq ${seq} after seq ${last} (fork or replayed entry)`);
    }
    st.last_seq = seq;
    st.head = digest;
    if (st.first_seq === null) st.first_seq = seq;
    if (last === null) {
      st.anchored = seq === 1;
      if (seq !== 1 && this.#fromStart) {
        return this.#break(streamSeq, st, seq, 'MISSING_GENESIS', `chain starts at seq ${seq}, entries 1..${seq - 1} missing`);
      }
      return true;
    }
    if (seq > last + 1) return this.#break(streamSeq, st, seq, 'SEQ_GAP', `seq ${seq} after seq ${last}, ${seq - last - 1} missing`);
    if (prev !== head) {
      return this.#break(streamSeq, st, seq, 'PREV_MISMATCH', `prev ${String(prev)} but entry ${last} has digest ${String(head)}`);
    }
    return true;
  }

  /** Detail of a stream gap or reorder before this record, or null. */
  #checkStreamOrder(record: LedgerRecord): string | null {
    const prev = this.#lastStreamSeq;
    this.#lastStreamSeq = record.stream_seq;
    if (prev === null) {
      this.#firstStreamSeq = record.stream_seq;
      if (this.#expectFirst !== undefined && record.stream_seq !== this.#expectFirst) {
        return `replay starts at stream seq ${record.stream_seq}, expected ${this.#expectFirst}`;
      }
      return null;
    }
    if (record.stream_seq <= prev) return `stream seq ${record.stream_seq} after ${prev} (out of order)`;
    if (this.#checkGaps && record.stream_seq > prev + 1) return `stream seqs ${prev + 1}..${record.stream_seq - 1} missing (deleted?)`;
    return null;
  }

  #break(streamSeq: number, st: OwnerState, entrySeq: number | null, reason: LedgerBreakReason, detail: string): false {
    st.breaks += 1;
    this.#record(streamSeq, st.subject, st.owner, entrySeq, reason, detail);
    return false;
  }

  /** Count a break; keep it if it is among the first `keep` in stream order (seal breaks may arrive late). */
  #record(stream_seq: number, subject: string, owner: string | null, entry_seq: number | null, reason: LedgerBreakReason, detail: string): void {
    this.#breaks += 1;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    const kept = this.#kept;
    if (kept.length >= this.#keep && (kept[kept.length - 1] as LedgerBreak).stream_seq <= stream_seq) return;
    let at = kept.length;
    while (at > 0 && (kept[at - 1] as LedgerBreak).stream_seq > stream_seq) at -= 1;
    kept.splice(at, 0, { stream_seq, subject, owner, entry_seq, reason, detail });
    if (kept.length > this.#keep) kept.pop();
  }

  /** The verdict; in chain mode first settles every owner's head seal (once). */
  report(): LedgerReport {
    if (this.#mode === 'chain') for (const st of this.#owners.values()) this.#settle(st);
    return breakReport({
      mode: this.#mode,
      sealsChecked: this.#seals,
      entries: this.#entries,
      valid: this.#valid,
      breaks: this.#breaks,
      kept: this.#kept,
      byReason: this.#byReason,
      owners: new Map([...this.#owners.values()].map((st) => [st.owner, st])),
      firstStreamSeq: this.#firstStreamSeq,
      lastStreamSeq: this.#lastStreamSeq,
    });
  }
}

function newOwner(owner: LedgerOwner, subject: string): OwnerState {
  return {
    entries: 0,
    valid: 0,
    breaks: 0,
    first_seq: null,
    last_seq: null,
    anchored: false,
    owner,
    subject,
    head: null,
    pendingText: null,
    pendingKey: '',
    pendingSeq: 0,
    pendingStreamSeq: 0,
    pendingValid: false,
    runFirstSeq: 0,
    runFirstStreamSeq: 0,
  };
}

/** Verify a whole replay at once (tests, small ledgers). */
export function verifyLedger(records: Iterable<LedgerRecord>, opts: LedgerVerifyOptions = {}): LedgerReport {
  const v = new LedgerVerifier(opts);
  for (const r of records) v.add(r);
  return v.report();
}
