/**
 * Everything that can be checked about ONE ledger message on its own, before
 * the chain is considered: subject, size, strict decode, canonical bytes,
 * owner = subject, trusted writer, and — separately — the seal. The verifier
 * runs the structural part on every replayed message and the seal on the
 * entries its mode selects (verify-ledger.ts); the writer runs all of it on a
 * head it reads before chaining onto it, so both sides accept the same entries.
 *
 * The structural part is the replay's hot path, so it works on the received
 * bytes: one UTF-8 decode; the canonical layout proved field by field with
 * only the body parsed (fast-entry.ts), or else JSON.parse, the strict schema
 * and a canonical-form check that does not re-encode (canonical-text.ts);
 * and the digest hashed straight from the received bytes (they ARE the
 * canonical form once checked).
 */
import { hash } from 'node:crypto';
import type { CasDigest } from '../digest.js';
import { MalformedError, OversizeError, SealError } from '../errors.js';
import { parseLedgerSubject, type LedgerOwner } from '../subjects.js';
import { LedgerEntryV1 } from '../v1/ledger-entry.js';
import { decodeJson } from '../wire.js';
import { isCanonicalText } from './canonical-text.js';
import { acceptCanonicalEntry } from './fast-entry.js';
import type { LedgerBreakReason } from './ledger-report.js';

/** What one message proved to be; `text` is its (canonical) JSON text. */
export interface EntryFacts {
  entry: LedgerEntryV1;
  digest: CasDigest;
  text: string;
}

export interface EntryProblem {
  entry_seq: number | null;
  reason: LedgerBreakReason;
  detail: string;
}

export type EntryCheck =
  | { ok: true; owner: LedgerOwner; entry: LedgerEntryV1; digest: CasDigest }
  | { ok: false; owner: LedgerOwner | null; entry_seq: number | null; reason: LedgerBreakReason; detail: string };

const TAG = new TextEncoder().encode(LedgerEntryV1.tag);
const PREFIX_LENGTH = TAG.byteLength + 1;
/** tag ‖ 0x00 ‖ entry bytes, hashed in one call; reused (hashing is synchronous), so no per-entry buffer. */
const scratch = Buffer.alloc(PREFIX_LENGTH + LedgerEntryV1.maxBytes);
scratch.set(TAG, 0);
// ignoreBOM keeps a leading BOM in the text so JSON.parse refuses it, as LedgerEntryV1.decode does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * LedgerEntryV1.digest(entry), from bytes already known to be the entry's
 * canonical form: SHA-256(tag ‖ 0x00 ‖ bytes), without parsing or re-encoding.
 */
export function digestOfCanonicalEntry(canonical: Uint8Array): CasDigest {
  if (canonical.byteLength > LedgerEntryV1.maxBytes) {
    throw new OversizeError(LedgerEntryV1.name, canonical.byteLength, LedgerEntryV1.maxBytes);
  }
  scratch.set(canonical, PREFIX_LENGTH);
  return `sha256:${hash('sha256', scratch.subarray(0, PREFIX_LENGTH + canonical.byteLength), 'hex')}`;
}

/**
 * Everything but the signature math, for a message on `subject` whose owner
 * is already known to be `owner`: size, strict UTF-8 + JSON + schema decode,
 * canonical bytes, owner = subject, and (if `trusted` is non-empty) that the
 * seal names a trusted key. Fills `out` and returns null, or returns the
 * problem. Never throws on bad input.
 */
export function checkEntryBytes(
  owner: LedgerOwner,
  subject: string,
  data: Uint8Array,
  trusted: ReadonlySet<string>,
  out: EntryFacts,
): EntryProblem | null {
  if (data.byteLength > LedgerEntryV1.maxBytes) {
    return problem(null, 'OVERSIZE', new OversizeError(LedgerEntryV1.name, data.byteLength, LedgerEntryV1.maxBytes).message);
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return problem(null, 'MALFORMED', new MalformedError('$', 'not valid UTF-8').message);
  }
  // The usual case: a canonical entry of this owner, proved valid without parsing its fixed fields twice.
  let entry = acceptCanonicalEntry(text, owner);
  if (entry === null) {
    let raw: unknown;
    try {
      raw = decodeJson(text, LedgerEntryV1.name, LedgerEntryV1.maxBytes);
      entry = LedgerEntryV1.parse(raw);
    } catch (e) {
      if (e instanceof OversizeError) return problem(null, 'OVERSIZE', e.message);
      if (e instanceof MalformedError) return problem(null, 'MALFORMED', e.message);
      throw e;
    }
    if (!isCanonicalText(raw, text)) return problem(entry.seq, 'NON_CANONICAL', 'entry bytes are not its RFC 8785 canonical form');
  }
  if (entry.owner !== owner) return problem(entry.seq, 'OWNER_MISMATCH', `entry owner ${entry.owner} on subject ${subject}`);
  if (trusted.size > 0 && !trusted.has(entry.writer_seal.key)) {
    return problem(entry.seq, 'UNTRUSTED_WRITER', `sealed by ${entry.writer_seal.key}, not a trusted writer`);
  }
  out.entry = entry;
  out.text = text;
  out.digest = digestOfCanonicalEntry(data);
  return null;
}

function problem(entry_seq: number | null, reason: LedgerBreakReason, detail: string): EntryProblem {
  return { entry_seq, reason, detail };
}

/** The Ed25519 half: null if the entry's writer seal verifies, else why not. */
export function checkEntrySeal(entry: LedgerEntryV1): string | null {
  try {
    LedgerEntryV1.verify(entry);
    return null;
  } catch (e) {
    if (e instanceof SealError) return e.message;
    throw e;
  }
}

/**
 * Check one message completely, seal included (the writer's check of a head
 * it reads; the verifier's `full` mode). `trusted` empty = any valid seal.
 * Never throws on bad input: every problem comes back as a reason code.
 */
export function checkLedgerEntry(subject: string, data: Uint8Array, trusted: ReadonlySet<string>): EntryCheck {
  let owner: LedgerOwner;
  try {
    owner = parseLedgerSubject(subject);
  } catch (e) {
    return { ok: false, owner: null, entry_seq: null, reason: 'BAD_SUBJECT', detail: (e as Error).message };
  }
  const facts = emptyFacts();
  const bad = checkEntryBytes(owner, subject, data, trusted, facts);
  if (bad !== null) return { ok: false, owner, ...bad };
  const sealProblem = checkEntrySeal(facts.entry);
  if (sealProblem !== null) return { ok: false, owner, entry_seq: facts.entry.seq, reason: 'BAD_SEAL', detail: sealProblem };
  return { ok: true, owner, entry: facts.entry, digest: facts.digest };
}

/** A reusable EntryFacts to pass to checkEntryBytes (one per verifier, not one per entry). */
export function emptyFacts(): EntryFacts {
  return { entry: undefined as unknown as LedgerEntryV1, digest: 'sha256:', text: '' };
}
