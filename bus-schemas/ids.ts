/**
 * Self-certifying identities. An id *is* its Ed25519 public key, written as
 * bech32m with a type prefix:
 *
 *   hkey1…   PublicKeyIdV1  (any signing key: principal, machine, provider)
 *   holon1…  HolonIdV1      (a provisioned unit, or a machine enrolled as HOST)
 *   cell1…   CellIdV1       (an orchestrator cell)
 *
 * The prefix stops an id of one kind being accepted as another; the bech32m
 * checksum detects any typo of up to four characters. Ids are lowercase
 * [a-z0-9], so they are valid NATS subject tokens as they are.
 */
import { bech32m } from '@scure/base';
import { MalformedError } from './errors.js';
import { string, refine, type Schema } from './schema.js';

export const ID_PREFIXES = { key: 'hkey', holon: 'holon', cell: 'cell' } as const;
export type IdKind = keyof typeof ID_PREFIXES;

export type PublicKeyIdV1 = `hkey1${string}`;
export type HolonIdV1 = `holon1${string}`;
export type CellIdV1 = `cell1${string}`;
type IdOf<K extends IdKind> = K extends 'key' ? PublicKeyIdV1 : K extends 'holon' ? HolonIdV1 : CellIdV1;

const ID_PATTERN = /^(hkey|holon|cell)1[02-9ac-hj-np-z]{58}$/;
const ID_MAX = 64;

export function encodeId<K extends IdKind>(kind: K, publicKey: Uint8Array): IdOf<K> {
  if (publicKey.length !== 32) throw new MalformedError('$', `public key must be 32 bytes, got ${publicKey.length}`);
  return bech32m.encode(ID_PREFIXES[kind], bech32m.toWords(publicKey)) as IdOf<K>;
}

export interface DecodedId {
  kind: IdKind;
  publicKey: Uint8Array;
}

/** Decode any id; throws MalformedError (at `path`) with the reason. */
export function decodeId(text: string, path = '$'): DecodedId {
  if (text.length > ID_MAX) throw new MalformedError(path, `id longer than ${ID_MAX}`);
  if (text !== text.toLowerCase()) throw new MalformedError(path, 'id must be lowercase');
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(text as `${string}1${string}`, ID_MAX);
  } catch {
    throw new MalformedError(path, 'id checksum or characters invalid (typo?)');
  }
  const kind = (Object.keys(ID_PREFIXES) as IdKind[]).find((k) => ID_PREFIXES[k] === decoded.prefix);
  if (kind === undefined) throw new MalformedError(path, `unknown id prefix "${decoded.prefix}"`);
  let publicKey: Uint8Array;
  try {
    publicKey = bech32m.fromWords(decoded.words);
  } catch {
    throw new MalformedError(path, 'id payload is not whole bytes');
  }
  if (publicKey.length !== 32) throw new MalformedError(path, `id payload must be 32 bytes, got ${publicKey.length}`);
  return { kind, publicKey };
}

/** The public key inside an id of the expected kind. */
export function idPublicKey(text: string, kind: IdKind, path = '$'): Uint8Array {
  const d = decodeId(text, path);
  if (d.kind !== kind) throw new MalformedError(path, `expected a ${ID_PREFIXES[kind]}1… id, got ${ID_PREFIXES[d.kind]}1…`);
  return d.publicKey;
}

/** Re-type an id as another kind over the same key (a machine key seen as its HOST holon id). */
export function convertId<K extends IdKind>(text: string, kind: K): IdOf<K> {
  return encodeId(kind, decodeId(text).publicKey);
}

function idSchema<K extends IdKind>(kind: K, description: string): Schema<IdOf<K>> {
  const base = string({ min: 1, max: ID_MAX, pattern: ID_PATTERN, format: 'a bech32m id', description });
  return refine(base, (s) => {
    try {
      idPublicKey(s, kind);
      return undefined;
    } catch (e) {
      return (e as MalformedError).reason;
    }
  }) as Schema<IdOf<K>>;
}

export const PublicKeyIdSchema = idSchema('key', 'PublicKeyIdV1: bech32m "hkey" + Ed25519 public key');
export const HolonIdSchema = idSchema('holon', 'HolonIdV1: bech32m "holon" + Ed25519 public key');
export const CellIdSchema = idSchema('cell', 'CellIdV1: bech32m "cell" + Ed25519 public key');
