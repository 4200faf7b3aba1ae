/**
 * bus(nats): the ledger as a write-ahead outbox (the orchestrator's
 * StepLedger port, orchestrator/step-writer.ts). `prepare` seals an owner's
 * next entry (LedgerWriter.prepare) and hands it back as text the caller
 * persists with its step; `commit` publishes that text — right away, or
 * after a crash from the outbox. An entry whose place in the chain was taken
 * meanwhile is sealed again on the current head (LedgerWriter.commitOrReseal):
 * never lost, never doubled.
 *
 * The text is a prepared entry (PreparedAppend) as one JSON object; its
 * layout is unchanged since the first release, so an outbox written by an
 * older orchestrator still publishes:
 *   {"owner","kind","subject","bytes": canonical entry as base64url,"digest","expect","expectLast"?}
 * `decodePreparedAppend` is the only reader: strict JSON, a closed schema,
 * the entry decoded strictly from its bytes, and every copied field checked
 * against the entry (owner, kind, subject, digest).
 */
import type { CasDigest } from '../../bus-schemas/digest.js';
import { MalformedError } from '../../bus-schemas/errors.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import { digestOfCanonicalEntry } from '../../bus-schemas/ledger/check-entry.js';
import { base64url, integer, object, optional, string } from '../../bus-schemas/schema.js';
import { LEDGER_MAX_MSG_SIZE } from '../../bus-schemas/streams.js';
import { parseStrictJson } from '../../bus-schemas/strict-json.js';
import { ledgerSubject, type LedgerOwner } from '../../bus-schemas/subjects.js';
import { CasDigestSchema } from '../../bus-schemas/v1/cas-digest.js';
import { LedgerEntryV1, LedgerKindSchema, LedgerOwnerSchema } from '../../bus-schemas/v1/ledger-entry.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import type { LedgerWriter, PreparedAppend } from './ledger-writer.js';

const PreparedAppendTextSchema = object(
  {
    owner: LedgerOwnerSchema,
    kind: LedgerKindSchema,
    subject: string({ min: 1, max: 256 }),
    bytes: base64url({ minBytes: 1, maxBytes: LEDGER_MAX_MSG_SIZE }),
    digest: CasDigestSchema,
    expect: integer({ min: 0, description: "stream sequence of the owner's previous entry (0: none)" }),
    expectLast: optional(integer({ min: 0, description: "'stream' mode: the stream's last sequence" })),
  },
  'a prepared ledger append, as kept in an outbox',
);

/** The outbox text of a prepared append (the inverse of decodePreparedAppend). */
export function encodePreparedAppend(p: PreparedAppend): string {
  return JSON.stringify({
    owner: p.owner,
    kind: p.sealed.entry.kind,
    subject: p.subject,
    bytes: Buffer.from(p.sealed.bytes).toString('base64url'),
    digest: p.sealed.digest,
    expect: p.expectLastSubjectSeq,
    ...(p.expectLastSeq !== undefined ? { expectLast: p.expectLastSeq } : {}),
  });
}

/** A prepared append from its outbox text; throws MalformedError (path into the text) if it is not one, exactly. */
export function decodePreparedAppend(text: string): PreparedAppend {
  const j = PreparedAppendTextSchema.parseAt(parseStrictJson(text), '$');
  const bytes = new Uint8Array(Buffer.from(j.bytes, 'base64url'));
  let entry: LedgerEntryV1;
  try {
    entry = LedgerEntryV1.decode(bytes);
  } catch (e) {
    throw new MalformedError('$.bytes', `not a LedgerEntryV1 (${(e as Error).message})`);
  }
  const digest: CasDigest = digestOfCanonicalEntry(bytes);
  if (digest !== j.digest) throw new MalformedError('$.digest', `the entry bytes digest to ${digest}`);
  if (entry.owner !== j.owner) throw new MalformedError('$.owner', `the entry is owned by ${entry.owner}`);
  if (entry.kind !== j.kind) throw new MalformedError('$.kind', `the entry is a ${entry.kind}`);
  if (j.subject !== ledgerSubject(j.owner)) throw new MalformedError('$.subject', `expected ${ledgerSubject(j.owner)}`);
  return {
    owner: j.owner,
    subject: j.subject,
    sealed: { entry, bytes, digest },
    expectLastSubjectSeq: j.expect,
    ...(j.expectLast !== undefined ? { expectLastSeq: j.expectLast } : {}),
  };
}

/** The ledger outbox over one LedgerWriter: `id` is the entry digest (its msg id), `text` the encoded prepared append. */
export function ledgerOutbox(writer: LedgerWriter): {
  prepare(owner: LedgerOwner, kind: string, body: JsonValue, at: number): Promise<{ id: CasDigest; text: string }>;
  commit(text: string): Promise<void>;
} {
  return {
    async prepare(owner, kind, body, at) {
      const p = await writer.prepare(owner, kind, body, { at: timeAt(at) });
      return { id: p.sealed.digest, text: encodePreparedAppend(p) };
    },
    async commit(text) {
      // A prepared entry whose place was taken meanwhile is sealed again on the current head (never lost, never doubled).
      await writer.commitOrReseal(decodePreparedAppend(text));
    },
  };
}
