/**
 * The replay's fast path for one ledger entry: accept the text only if it is
 * laid out exactly as the RFC 8785 encoding of a LedgerEntryV1 —
 *
 *   {"at":{"source":S,"unix_ms":N},"body":B,"kind":K,"owner":O,"prev":P,
 *    "seq":N,"writer_seal":{"alg":"ed25519","key":H,"sig":G}}
 *
 * (keys sorted, no whitespace; every scalar restricted to characters that
 * JSON writes without escapes and numbers without sign, exponent or leading
 * zeros) — then parse only the free-form body with JSON.parse, and apply the
 * same field checks LedgerEntryV1Schema applies. It answers "accepted" or
 * "don't know"; anything it does not accept goes through the general path
 * (check-entry.ts: UTF-8, JSON.parse, the strict schema, the canonical check),
 * which also names the problem. So it changes no verdict and no break text.
 *
 * Soundness (accepted ⇒ the general path accepts the same value):
 * - the fixed parts are the canonical serialization by construction, and the
 *   body's text is checked canonical (isCanonicalText), so the whole text is
 *   canonicalString of the value below, and JSON.parse(text) is that value;
 * - the value passes LedgerEntryV1Schema: no unknown or missing fields (the
 *   layout), owner equals the subject's owner (already decoded as a holon or
 *   cell id, the same test as LedgerOwnerSchema), safe integer seq ≥ 1 and
 *   the genesis rule, CasDigestSchema's pattern for prev, and the V1 schemas
 *   themselves for kind, body, at, the signature's (canonical) base64url and
 *   the seal key (a key id's bech32 check is memoized: it is a pure function
 *   of the string).
 * test/bus/ledger-fast.test.ts runs both paths over valid entries and
 * thousands of mutations and checks they never disagree on an accepted one.
 */
import type { CasDigest } from '../digest.js';
import { PublicKeyIdSchema, type PublicKeyIdV1 } from '../ids.js';
import type { LedgerOwner } from '../subjects.js';
import { LedgerBodySchema, LedgerKindSchema, type LedgerEntryV1 } from '../v1/ledger-entry.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { TimeEnvelopeRefSchema } from '../v1/time-envelope.js';
import { isCanonicalText } from './canonical-text.js';

const ID = '[02-9ac-hj-np-z]{58}';
const INT = '(0|[1-9][0-9]{0,15})';
/** Everything before the body. Groups: 1 source, 2 unix_ms. */
const HEAD = new RegExp(`^\\{"at":\\{"source":"([A-Z]{1,16})","unix_ms":${INT}\\},"body":`);
/** Everything after the body, matched where it must start (sticky). Groups: 1 kind, 2 owner, 3 prev, 4 seq, 5 key, 6 sig. */
const TAIL = new RegExp(
  `,"kind":"([A-Z0-9_]{1,64})","owner":"((?:holon|cell)1${ID})","prev":(null|"sha256:[0-9a-f]{64}"),"seq":${INT},` +
    `"writer_seal":\\{"alg":"ed25519","key":"(hkey1${ID})","sig":"([A-Za-z0-9_-]{86})"\\}\\}$`,
  'y',
);
const TAIL_START = ',"kind":"';

/** Key ids already known to pass PublicKeyIdSchema (bounded; writers are few). */
const validKeys = new Set<string>();
const VALID_KEYS_LIMIT = 1024;

function isValidKeyId(key: string): boolean {
  if (validKeys.has(key)) return true;
  try {
    PublicKeyIdSchema.parseAt(key, '$.writer_seal.key');
  } catch {
    return false;
  }
  if (validKeys.size >= VALID_KEYS_LIMIT) validKeys.clear();
  validKeys.add(key);
  return true;
}

/**
 * The entry `text` encodes canonically, if the fast path can prove it is a
 * valid, canonical LedgerEntryV1 owned by `owner`; null means "use the
 * general path" (not necessarily that anything is wrong).
 */
export function acceptCanonicalEntry(text: string, owner: LedgerOwner): LedgerEntryV1 | null {
  const head = HEAD.exec(text);
  if (head === null) return null;
  // The body ends where the tail begins: `,"kind":"` cannot occur inside a JSON string (its quotes would be
  // escaped), and whatever split this picks, the body must then parse, validate and be canonical on its own.
  const bodyStart = (head[0]).length;
  const bodyEnd = text.lastIndexOf(TAIL_START);
  if (bodyEnd < bodyStart) return null;
  TAIL.lastIndex = bodyEnd;
  const tail = TAIL.exec(text);
  if (tail === null) return null;
  const bodyText = text.slice(bodyStart, bodyEnd);
  const [, source, unixText] = head as unknown as string[];
  const [, kind, entryOwner, prevText, seqText, key, sig] = tail as unknown as string[];
  if (entryOwner !== owner) return null;
  const seq = Number(seqText);
  const unixMs = Number(unixText);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(unixMs)) return null;
  const prev = prevText === 'null' ? null : ((prevText as string).slice(1, -1) as CasDigest);
  if ((seq === 1) !== (prev === null)) return null;
  // A surrogate escape may be a lone one, which the strict decoder refuses: leave such entries to it.
  if (/\\u[dD][89a-fA-F]/.test(bodyText)) return null;
  let raw: unknown;
  let body: LedgerEntryV1['body'];
  let at: LedgerEntryV1['at'];
  try {
    raw = JSON.parse(bodyText) as unknown;
    body = LedgerBodySchema.parseAt(raw, '$.body');
    LedgerKindSchema.parseAt(kind, '$.kind');
    at = TimeEnvelopeRefSchema.parseAt({ unix_ms: unixMs, source }, '$.at');
    AuthoritySealV1Schema.shape.sig.parseAt(sig, '$.writer_seal.sig'); // canonical base64url, not just its alphabet
  } catch {
    return null;
  }
  if (!isValidKeyId(key as string)) return null;
  // The body passed its schema (plain JSON, no unsafe numbers), so the canonical check applies as stated there.
  if (!isCanonicalText(raw, bodyText)) return null;
  return {
    owner,
    seq,
    prev,
    kind: kind as string,
    body,
    at,
    writer_seal: { alg: 'ed25519', key: key as PublicKeyIdV1, sig: sig as string },
  };
}
