import { AdmissionRequirementV1Schema } from '../admission/requirement.js';
import { HolonError } from '../errors.js';
import type { PublicKeyIdV1 } from '../ids.js';
import type { Signer } from '../keys.js';
import { object, optional, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CasDigestSchema } from './cas-digest.js';
import { TimeEnvelopeRefSchema, type TimeEnvelopeRef } from './time-envelope.js';
import type { CasDigest } from '../digest.js';

export const REFUSAL_CODE_PATTERN = /^HOLON_E_[A-Z0-9_]+$/;
const MESSAGE_MAX = 1024;
const PATH_MAX = 256;
const REASON_MAX = 512;

/**
 * RefusalV1: a typed, signed "no" on the bus. A server answers every bad
 * request with one instead of dropping it: the stable error code, a human
 * message, the JSON path and reason when the input was malformed, and the
 * digest of the exact request bytes it refuses (SHA-256 of the raw bytes, so
 * it can name even a request it could not parse).
 */
export const RefusalV1Schema = object(
  {
    code: string({ min: 9, max: 64, pattern: REFUSAL_CODE_PATTERN, format: 'a HOLON_E_… code' }),
    message: string({ max: MESSAGE_MAX }),
    path: optional(string({ min: 1, max: PATH_MAX })),
    reason: optional(string({ min: 1, max: REASON_MAX })),
    request_digest: optional(CasDigestSchema),
    /**
     * For a hello refused for its admission proof (HOLON_E_BOOT_ADMISSION):
     * the proof the cell asks for now — kind, epoch, difficulty or squarings.
     */
    admission_required: optional(AdmissionRequirementV1Schema),
    refused_at: TimeEnvelopeRefSchema,
    refuser_seal: AuthoritySealV1Schema,
  },
  'RefusalV1: a signed, typed refusal of a request',
);
export type RefusalV1 = Infer<typeof RefusalV1Schema>;
export const RefusalV1 = defineSealedObject('RefusalV1', RefusalV1Schema, 'refuser_seal', { maxBytes: 4096 });

export const INTERNAL_ERROR_CODE = 'HOLON_E_INTERNAL';

type RefusalFields = Pick<RefusalV1, 'code' | 'message' | 'path' | 'reason' | 'admission_required'>;

/** The unsigned fields of a refusal for an error; anything not a HolonError becomes a generic internal refusal. */
export function refusalFieldsFor(error: unknown): RefusalFields {
  if (!(error instanceof HolonError) || !REFUSAL_CODE_PATTERN.test(error.code) || error.code.length > 64) {
    // Never leak an unexpected exception's text to the requester; the server logs it.
    return { code: INTERNAL_ERROR_CODE, message: 'internal error; the request was not processed' };
  }
  const out: RefusalFields = {
    code: error.code,
    message: clip(error.message, MESSAGE_MAX),
  };
  const fields = error as HolonError & { path?: unknown; reason?: unknown; admissionRequired?: unknown };
  if (typeof fields.path === 'string' && fields.path !== '') out.path = clip(fields.path, PATH_MAX);
  if (typeof fields.reason === 'string' && fields.reason !== '') out.reason = clip(fields.reason, REASON_MAX);
  if (fields.admissionRequired !== undefined) {
    try {
      out.admission_required = AdmissionRequirementV1Schema.parseAt(fields.admissionRequired, '$.admission_required');
    } catch {
      // Not a valid requirement: leave it out rather than fail the refusal.
    }
  }
  return out;
}

/** At most `max` UTF-16 units, never cutting a surrogate pair in half (the encoder refuses lone surrogates). */
function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${s.slice(0, end)}…`;
}

/** Build and seal the refusal of `error` (for the request whose raw-bytes digest is `requestDigest`). */
export function sealRefusal(
  error: unknown,
  opts: { signer: Signer; at: TimeEnvelopeRef; requestDigest?: CasDigest },
): RefusalV1 {
  const body: Omit<RefusalV1, 'refuser_seal'> = { ...refusalFieldsFor(error), refused_at: opts.at };
  if (opts.requestDigest !== undefined) body.request_digest = opts.requestDigest;
  return RefusalV1.seal(body, opts.signer);
}

/**
 * A verified refusal received from a peer, raised on the requesting side.
 * `code` is the refusal's own code (e.g. HOLON_E_MALFORMED), so callers can
 * handle a remote refusal exactly like the local error it stands for.
 */
export class RefusedError extends HolonError {
  readonly refusal: RefusalV1;
  readonly refuser: PublicKeyIdV1;
  readonly path: string | undefined;
  readonly reason: string | undefined;
  constructor(refusal: RefusalV1, where: string) {
    super(refusal.code, `${where}: refused (${refusal.code}): ${refusal.message}`);
    this.refusal = refusal;
    this.refuser = refusal.refuser_seal.key;
    this.path = refusal.path;
    this.reason = refusal.reason;
  }
  override toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.refusal.message, refuser: this.refuser };
    if (this.path !== undefined) out.path = this.path;
    if (this.reason !== undefined) out.reason = this.reason;
    return out;
  }
}
