/**
 * The writing half of the chain, next to the verifying half: given the
 * owner's current head, build and seal the next entry, and return the exact
 * bytes to publish and the digest that is both its Nats-Msg-Id and the next
 * entry's `prev`.
 */
import type { CasDigest } from '../digest.js';
import type { JsonValue } from '../json-value.js';
import type { Signer } from '../keys.js';
import type { LedgerOwner } from '../subjects.js';
import { OversizeError } from '../errors.js';
import { LedgerBodySchema, LedgerEntryV1, LedgerKindSchema, LedgerOwnerSchema } from '../v1/ledger-entry.js';
import { TimeEnvelopeRefSchema, type TimeEnvelopeRef } from '../v1/time-envelope.js';
import { digestOfCanonicalEntry } from './check-entry.js';

/** The last link of an owner's chain: what the next entry chains onto. */
export interface LedgerHead {
  seq: number;
  digest: CasDigest;
}

export interface SealedLedgerEntry {
  entry: LedgerEntryV1;
  /** Canonical bytes: what goes on the wire. */
  bytes: Uint8Array;
  /** LedgerEntryV1.digest(entry). */
  digest: CasDigest;
}

export interface NextEntryFields {
  owner: LedgerOwner;
  kind: string;
  body: JsonValue;
  at: TimeEnvelopeRef;
}

/**
 * Seal the entry that follows `head` (null: the genesis entry, seq 1). The
 * caller's fields are parsed strictly BEFORE anything is signed, with the
 * same paths and reasons LedgerEntryV1.parse gives, so a bad kind or an
 * unbounded body is a MalformedError here, never an entry the verifier would
 * later reject; seq and prev follow from the head by construction.
 */
export function sealNextEntry(head: LedgerHead | null, fields: NextEntryFields, signer: Signer): SealedLedgerEntry {
  const body = {
    owner: LedgerOwnerSchema.parseAt(fields.owner, '$.owner'),
    seq: head === null ? 1 : head.seq + 1,
    prev: head === null ? null : head.digest,
    kind: LedgerKindSchema.parseAt(fields.kind, '$.kind'),
    body: LedgerBodySchema.parseAt(fields.body, '$.body'),
    at: TimeEnvelopeRefSchema.parseAt(fields.at, '$.at'),
  };
  const entry = LedgerEntryV1.seal(body, signer);
  const bytes = LedgerEntryV1.encode(entry);
  if (bytes.byteLength > LedgerEntryV1.maxBytes) {
    throw new OversizeError(LedgerEntryV1.name, bytes.byteLength, LedgerEntryV1.maxBytes);
  }
  return { entry, bytes, digest: digestOfCanonicalEntry(bytes) };
}

/** The head after `entry` (for a writer that keeps its head in memory). */
export function headOf(sealed: SealedLedgerEntry): LedgerHead {
  return { seq: sealed.entry.seq, digest: sealed.digest };
}
