/**
 * defineObject: turns one strict schema into a complete wire type — parser,
 * byte decoder with a size limit, RFC 8785 encoder, domain-tagged digest,
 * seal/verify (for sealed objects) and the published JSON Schema.
 */
import { canonicalBytes } from './canonical.js';
import { digestOf, type CasDigest } from './digest.js';
import { MalformedError, OversizeError, SealError } from './errors.js';
import type { PublicKeyIdV1 } from './ids.js';
import type { Signer } from './keys.js';
import type { JsonSchema, Schema } from './schema.js';
import { makeSeal, verifySealOver, type AuthoritySealV1 } from './seal.js';
import { parseStrictJson } from './strict-json.js';

export const DEFAULT_MAX_BYTES = 64 * 1024;
// ignoreBOM keeps a leading BOM in the text, so JSON.parse refuses it rather than it being dropped silently.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface WireType<T> {
  /** e.g. `ProvisioningRequestV1` */
  readonly name: string;
  /** Domain tag for digests and seals, e.g. `holonet.v1.ProvisioningRequest`. */
  readonly tag: string;
  readonly maxBytes: number;
  readonly schema: Schema<T>;
  parse(input: unknown): T;
  /** Size check, strict UTF-8, JSON.parse, then parse. Throws only HolonErrors. */
  decode(bytes: Uint8Array | string): T;
  encode(value: T): Uint8Array;
  digest(value: T): CasDigest;
  jsonSchema(): JsonSchema;
}

export interface SealedWireType<T, F extends keyof T & string> extends WireType<T> {
  readonly sealField: F;
  seal(body: Omit<T, F>, signer: Signer): T;
  /** Digest of the body the seal covers (the object without its seal field). */
  bodyDigest(value: T): CasDigest;
  /** Throws SealError unless the seal verifies (and is by `expected`, if given). */
  verify(value: T, expected?: PublicKeyIdV1): void;
}

export function tagFor(name: string): string {
  return `holonet.v1.${name.replace(/V1$/, '')}`;
}

export function decodeJson(bytes: Uint8Array | string, name: string, maxBytes: number): unknown {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > maxBytes) throw new OversizeError(name, size, maxBytes);
  if (typeof bytes === 'string') return parseStrictJson(bytes);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new MalformedError('$', 'not valid UTF-8');
  }
  // A fatal UTF-8 decoder never yields a lone surrogate.
  return parseStrictJson(text, { wellFormed: true });
}

export function defineObject<T>(name: string, schema: Schema<T>, opts: { maxBytes?: number } = {}): WireType<T> {
  const tag = tagFor(name);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const parse = (input: unknown): T => schema.parseAt(input, '$');
  return {
    name,
    tag,
    maxBytes,
    schema,
    parse,
    decode: (bytes) => parse(decodeJson(bytes, name, maxBytes)),
    encode: (value) => canonicalBytes(value),
    digest: (value) => digestOf(tag, value),
    jsonSchema: () => ({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `urn:holonet:schema:v1:${name}`,
      title: name,
      ...schema.jsonSchema(),
    }),
  };
}

function withoutField<T, F extends keyof T & string>(value: T, field: F): Omit<T, F> {
  const { [field]: _dropped, ...rest } = value;
  return rest;
}

export function defineSealedObject<T, F extends keyof T & string>(
  name: string,
  schema: Schema<T>,
  sealField: F,
  opts: { maxBytes?: number } = {},
): SealedWireType<T, F> {
  const base = defineObject(name, schema, opts);
  return {
    ...base,
    sealField,
    seal(body, signer) {
      const seal: AuthoritySealV1 = makeSeal(base.tag, body, signer);
      return { ...body, [sealField]: seal } as T;
    },
    bodyDigest: (value) => digestOf(base.tag, withoutField(value, sealField)),
    verify(value, expected) {
      const seal = value[sealField] as unknown as AuthoritySealV1 | undefined;
      if (seal === undefined || seal === null) throw new SealError(`${name}.${sealField} is missing`);
      verifySealOver(base.tag, withoutField(value, sealField), seal, expected);
    },
  };
}
