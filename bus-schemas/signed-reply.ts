/**
 * The requesting half of signed request/reply, in one place: reply bytes
 * become either the expected object (its seal checked) or a verified
 * RefusalV1 of THIS request. Used by adapters/nats/request-reply.ts
 * (requestSigned) and by the agent (decodeCellReply), each turning the
 * outcomes below into its own error classes and messages.
 *
 * The rules, written once:
 * - at most max(replyType.maxBytes, RefusalV1.maxBytes) bytes of strict JSON;
 * - an object with a `refuser_seal` is a refusal, never the reply: at most
 *   RefusalV1.maxBytes, strictly parsed, its seal verified (by `refusalSealedBy`
 *   when the caller names it);
 * - a refusal that names a request digest other than the one the caller sent
 *   (`requestDigest`, SHA-256 of the raw request bytes) is not an answer to
 *   this request: a refusal replayed from another request cannot stop this one;
 * - anything else must parse as `replyType` and, when sealed, carry a seal
 *   that verifies (by `replySealedBy`).
 */
import type { CasDigest } from './digest.js';
import { MalformedError } from './errors.js';
import type { PublicKeyIdV1 } from './ids.js';
import { RefusalV1 } from './v1/refusal.js';
import { decodeJson, type SealedWireType, type WireType } from './wire.js';

export interface SignedReplyOptions<T> {
  replyType: WireType<T>;
  /** Names the bytes in a size or JSON error (default: the reply type's name). */
  label?: string;
  /** SHA-256 of the raw request bytes, when the caller has them (as RefusalV1.request_digest). */
  requestDigest?: CasDigest;
  /** When given, a refusal must be sealed by this key; otherwise any valid seal will do (see RefusalV1's `refuser_seal.key`). */
  refusalSealedBy?: PublicKeyIdV1;
  /**
   * The seal of a sealed reply must verify:
   * - a key: and be by that key;
   * - `'any'`: by whichever key it names (who that is, is the caller's business);
   * - `'deferred'`: not checked here; the caller checks it with more context
   *   (the agent's bootstrap challenge, against the cell key its certificate names).
   */
  replySealedBy: PublicKeyIdV1 | 'any' | 'deferred';
}

/** What reply bytes turned out to be. Only `reply` and `refusal` are answers; the rest are why not. */
export type SignedReply<T> =
  | { kind: 'reply'; value: T }
  /** a verified refusal of this request (or one that names no request) */
  | { kind: 'refusal'; refusal: RefusalV1 }
  /** oversize, not UTF-8 or not strict JSON */
  | { kind: 'not-json'; error: unknown }
  /** a refusal that is too large, malformed, or whose seal does not verify (by `refusalSealedBy`) */
  | { kind: 'bad-refusal'; error: unknown }
  /** a verified refusal of another request */
  | { kind: 'other-request'; refusal: RefusalV1; requestDigest: CasDigest }
  /** not a valid `replyType` */
  | { kind: 'bad-reply'; error: unknown }
  /** a valid `replyType` whose seal does not verify (by `replySealedBy`) */
  | { kind: 'bad-seal'; error: unknown };

function isSealed<T>(t: WireType<T>): t is SealedWireType<T, keyof T & string> {
  return 'sealField' in t && 'verify' in t;
}

function isRefusalShaped(json: unknown): boolean {
  return typeof json === 'object' && json !== null && Object.prototype.hasOwnProperty.call(json, RefusalV1.sealField);
}

/** Decode reply bytes into the reply, a refusal of this request, or the reason they are neither. Pure. */
export function decodeSignedReply<T>(bytes: Uint8Array, opts: SignedReplyOptions<T>): SignedReply<T> {
  const { replyType } = opts;
  let json: unknown;
  try {
    json = decodeJson(bytes, opts.label ?? replyType.name, Math.max(replyType.maxBytes, RefusalV1.maxBytes));
  } catch (error) {
    return { kind: 'not-json', error };
  }
  if (isRefusalShaped(json)) {
    let refusal: RefusalV1;
    try {
      if (bytes.byteLength > RefusalV1.maxBytes) throw new MalformedError('$', `refusal larger than ${RefusalV1.maxBytes} bytes`);
      refusal = RefusalV1.parse(json);
      RefusalV1.verify(refusal, opts.refusalSealedBy);
    } catch (error) {
      return { kind: 'bad-refusal', error };
    }
    const named = refusal.request_digest;
    if (opts.requestDigest !== undefined && named !== undefined && named !== opts.requestDigest) {
      return { kind: 'other-request', refusal, requestDigest: named };
    }
    return { kind: 'refusal', refusal };
  }
  let value: T;
  try {
    value = replyType.parse(json);
  } catch (error) {
    return { kind: 'bad-reply', error };
  }
  if (isSealed(replyType) && opts.replySealedBy !== 'deferred') {
    try {
      replyType.verify(value, opts.replySealedBy === 'any' ? undefined : opts.replySealedBy);
    } catch (error) {
      return { kind: 'bad-seal', error };
    }
  }
  return { kind: 'reply', value };
}
