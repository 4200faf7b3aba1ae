import { decodeId, type CellIdV1, type HolonIdV1 } from '../ids.js';
import { jsonValue } from '../json-value.js';
import { integer, nullable, object, refine, string, type Infer, type Schema } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { LEDGER_MAX_MSG_SIZE } from '../streams.js';
import { defineSealedObject } from '../wire.js';
import { CasDigestSchema } from './cas-digest.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/** The owner of a ledger chain: a holon or a cell (`ledger.<owner>` is its subject). */
export const LedgerOwnerSchema = refine(
  string({ min: 1, max: 64, pattern: /^(holon|cell)1[02-9ac-hj-np-z]{58}$/, format: 'a holon1… or cell1… id' }),
  (s) => {
    try {
      decodeId(s);
      return undefined;
    } catch (e) {
      return (e as { reason?: string }).reason ?? 'invalid id';
    }
  },
) as Schema<HolonIdV1 | CellIdV1>;

/** An event name in UPPER_SNAKE_CASE, e.g. PROVISION_AUTHORIZED. */
export const LEDGER_KIND_PATTERN = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
export const LedgerKindSchema = string({ min: 1, max: 64, pattern: LEDGER_KIND_PATTERN, format: 'an UPPER_SNAKE event name' });

/** Limits of a ledger body; the whole entry is further bounded by LedgerEntryV1.maxBytes. */
export const LEDGER_BODY_LIMITS = {
  maxDepth: 8,
  maxKeys: 128,
  maxItems: 1024,
  maxStringLength: 8192,
  maxNodes: 4096,
} as const;

export const LedgerBodySchema = jsonValue({ ...LEDGER_BODY_LIMITS, description: 'event body: bounded JSON' });

/**
 * LedgerEntryV1: one link of an owner's evidence chain (DESIGN §9). `seq`
 * counts from 1 per owner; `prev` is the digest (LedgerEntryV1.digest, seal
 * included) of the owner's previous entry, null exactly when seq = 1. The
 * entry's own digest is its Nats-Msg-Id, so a re-sent append collapses.
 * Entries travel in canonical (RFC 8785) form; the verifier refuses others.
 */
export const LedgerEntryV1Schema = refine(
  object(
    {
      owner: LedgerOwnerSchema,
      seq: integer({ min: 1, description: 'position in the owner chain, from 1' }),
      prev: nullable(CasDigestSchema),
      kind: LedgerKindSchema,
      body: LedgerBodySchema,
      at: TimeEnvelopeRefSchema,
      writer_seal: AuthoritySealV1Schema,
    },
    'LedgerEntryV1: a sealed, hash-chained evidence entry',
  ),
  (e) => {
    if (e.seq === 1 && e.prev !== null) return { path: '.prev', reason: 'must be null for seq 1' };
    if (e.seq > 1 && e.prev === null) return { path: '.prev', reason: 'required for seq > 1' };
    return undefined;
  },
);
export type LedgerEntryV1 = Infer<typeof LedgerEntryV1Schema>;
export const LedgerEntryV1 = defineSealedObject('LedgerEntryV1', LedgerEntryV1Schema, 'writer_seal', {
  maxBytes: LEDGER_MAX_MSG_SIZE,
});
