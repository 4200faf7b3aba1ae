import { createPublicKey, type KeyObject } from 'node:crypto';
import { TPM_ALG, TPM_ECC_CURVES, TPM_RH_ENDORSEMENT, digest, hashInfo, hex16, isHashAlg } from './tpm-algorithms.js';
import { TpmReader, concatBytes, u16be, u32be } from './tpm-reader.js';
import { TpmVerifyError, malformed } from './tpm-verify-error.js';

/**
 * TPM2B_PUBLIC / TPMT_PUBLIC (Part 2 §12.2) for RSA and ECC keys, and the
 * object Name (nameAlg ‖ H_nameAlg(TPMT_PUBLIC)) that MakeCredential and the
 * quote's qualifiedSigner are computed over. The exact marshalled bytes are
 * kept: a Name is a hash of them, never of a re-encoding.
 */

export interface TpmSymmetric {
  alg: number;
  keyBits: number;
  mode: number;
}

export interface TpmScheme {
  alg: number;
  /** The scheme's hash, or TPM_ALG_NULL for schemes without one (RSAES). */
  hashAlg: number;
}

/** Parsed structures are treated as immutable (Names are cached per object); build a new one to change a field. */
interface TpmPublicCommon {
  readonly nameAlg: number;
  readonly attributes: number;
  readonly authPolicy: Uint8Array;
  /** TPM_ALG_NULL symmetric (signing keys) is `null`. */
  readonly symmetric: TpmSymmetric | null;
  /** TPM_ALG_NULL scheme is `null`. */
  readonly scheme: TpmScheme | null;
  /** The TPMT_PUBLIC bytes exactly as marshalled by the TPM. */
  readonly tpmt: Uint8Array;
}

export interface TpmRsaPublic extends TpmPublicCommon {
  readonly type: 'rsa';
  readonly keyBits: number;
  /** The public exponent (a marshalled 0 means 65537). */
  readonly exponent: number;
  readonly modulus: Uint8Array;
}

export interface TpmEccPublic extends TpmPublicCommon {
  readonly type: 'ecc';
  readonly curveId: number;
  readonly kdf: TpmScheme | null;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

export type TpmPublic = TpmRsaPublic | TpmEccPublic;

const MAX_RSA_BYTES = 512;
const MAX_ECC_BYTES = 128;
const MAX_DIGEST_BYTES = 64;
/** Schemes whose TPMU_ASYM_SCHEME details are just a hash (ECDAA adds a count). */
const HASHED_SCHEMES = new Set<number>([TPM_ALG.RSASSA, TPM_ALG.RSAPSS, TPM_ALG.OAEP, TPM_ALG.ECDSA, TPM_ALG.ECDH, TPM_ALG.ECSCHNORR, 0x001b, 0x001d]);

function readSymmetric(r: TpmReader): TpmSymmetric | null {
  const alg = r.u16('parameters.symmetric.algorithm');
  if (alg === TPM_ALG.NULL) return null;
  return { alg, keyBits: r.u16('parameters.symmetric.keyBits'), mode: r.u16('parameters.symmetric.mode') };
}

function readScheme(r: TpmReader, field: string, kdf = false): TpmScheme | null {
  const alg = r.u16(`${field}.scheme`);
  if (alg === TPM_ALG.NULL) return null;
  // every TPMT_KDF_SCHEME detail (MGF1, KDF1/2, SP800-108) is a single hash
  if (kdf) return { alg, hashAlg: r.u16(`${field}.details.hashAlg`) };
  if (alg === TPM_ALG.RSAES) return { alg, hashAlg: TPM_ALG.NULL };
  if (alg === TPM_ALG.ECDAA) {
    const hashAlg = r.u16(`${field}.details.hashAlg`);
    r.u16(`${field}.details.count`);
    return { alg, hashAlg };
  }
  if (!HASHED_SCHEMES.has(alg)) throw new TpmVerifyError('unsupported', `TPMT_PUBLIC.${field}`, `scheme ${hex16(alg)} is not supported`);
  return { alg, hashAlg: r.u16(`${field}.details.hashAlg`) };
}

/** Parse a TPMT_PUBLIC that spans exactly `bytes`. */
export function parseTpmtPublic(bytes: Uint8Array): TpmPublic {
  const r = new TpmReader(bytes, 'TPMT_PUBLIC');
  const type = r.u16('type');
  const nameAlg = r.u16('nameAlg');
  if (!isHashAlg(nameAlg)) throw malformed('TPMT_PUBLIC.nameAlg', `${hex16(nameAlg)} is not a supported hash`);
  const attributes = r.u32('objectAttributes');
  const authPolicy = r.tpm2b('authPolicy', MAX_DIGEST_BYTES);
  const tpmt = Uint8Array.from(bytes);
  if (type === TPM_ALG.RSA) {
    const symmetric = readSymmetric(r);
    const scheme = readScheme(r, 'parameters.scheme');
    const keyBits = r.u16('parameters.keyBits');
    const rawExponent = r.u32('parameters.exponent');
    const modulus = r.tpm2b('unique.rsa', MAX_RSA_BYTES);
    r.end();
    if (keyBits < 1024 || keyBits % 8 !== 0 || modulus.length !== keyBits / 8) {
      throw malformed('TPMT_PUBLIC.unique.rsa', `modulus of ${modulus.length} bytes does not match keyBits ${keyBits}`);
    }
    const exponent = rawExponent === 0 ? 65537 : rawExponent;
    return { type: 'rsa', nameAlg, attributes, authPolicy, symmetric, scheme, keyBits, exponent, modulus, tpmt };
  }
  if (type === TPM_ALG.ECC) {
    const symmetric = readSymmetric(r);
    const scheme = readScheme(r, 'parameters.scheme');
    const curveId = r.u16('parameters.curveID');
    const kdf = readScheme(r, 'parameters.kdf', true);
    const x = r.tpm2b('unique.ecc.x', MAX_ECC_BYTES);
    const y = r.tpm2b('unique.ecc.y', MAX_ECC_BYTES);
    r.end();
    return { type: 'ecc', nameAlg, attributes, authPolicy, symmetric, scheme, curveId, kdf, x, y, tpmt };
  }
  throw new TpmVerifyError('unsupported', 'TPMT_PUBLIC.type', `key type ${hex16(type)} is not RSA or ECC`);
}

/** Parse a TPM2B_PUBLIC (size ‖ TPMT_PUBLIC), as `tpm2_createek -u` / `tpm2_createak -u` write it. */
export function parseTpm2bPublic(bytes: Uint8Array): TpmPublic {
  const r = new TpmReader(bytes, 'TPM2B_PUBLIC');
  const inner = r.tpm2b('publicArea', 0xffff);
  r.end();
  if (inner.length === 0) throw malformed('TPM2B_PUBLIC', 'empty public area');
  return parseTpmtPublic(inner);
}

// Names are pure functions of the (never mutated) parsed structure; verifying many quotes from one AK under one EK
// should not rehash them every time.
const names = new WeakMap<TpmPublic, Uint8Array>();
const ekQualifiedNames = new WeakMap<TpmPublic, Uint8Array>();

/** The object's Name: nameAlg ‖ H_nameAlg(TPMT_PUBLIC). */
export function objectName(pub: TpmPublic): Uint8Array {
  let name = names.get(pub);
  if (name === undefined) {
    name = concatBytes(u16be(pub.nameAlg), digest(pub.nameAlg, pub.tpmt));
    names.set(pub, name);
  }
  return Uint8Array.from(name);
}

/**
 * Qualified name of `child` under a parent whose qualified name is
 * `parentQualifiedName`: nameAlg ‖ H_nameAlg(parentQN ‖ Name) (Part 1 §16).
 */
export function qualifiedName(parentQualifiedName: Uint8Array, child: TpmPublic): Uint8Array {
  return concatBytes(u16be(child.nameAlg), digest(child.nameAlg, parentQualifiedName, objectName(child)));
}

/** The qualified name of a key created by `tpm2_createak` under an EK (a primary of the endorsement hierarchy). */
export function akQualifiedName(ek: TpmPublic, ak: TpmPublic): Uint8Array {
  let ekQn = ekQualifiedNames.get(ek);
  if (ekQn === undefined) {
    ekQn = qualifiedName(u32be(TPM_RH_ENDORSEMENT), ek);
    ekQualifiedNames.set(ek, ekQn);
  }
  return qualifiedName(ekQn, ak);
}

function leftPad(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length >= size) return bytes;
  const out = new Uint8Array(size);
  out.set(bytes, size - bytes.length);
  return out;
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function exponentBytes(e: number): Uint8Array {
  const out: number[] = [];
  for (let v = e; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from(out);
}

/** The key as a node:crypto KeyObject; an invalid key (ECC point off its curve …) is refused as malformed. */
export function publicKeyOf(pub: TpmPublic): KeyObject {
  try {
    if (pub.type === 'rsa') {
      return createPublicKey({ key: { kty: 'RSA', n: b64u(pub.modulus), e: b64u(exponentBytes(pub.exponent)) }, format: 'jwk' });
    }
    const curve = TPM_ECC_CURVES.get(pub.curveId);
    if (curve === undefined) throw new TpmVerifyError('unsupported', 'TPMT_PUBLIC.parameters.curveID', `curve ${hex16(pub.curveId)} is not supported`);
    if (pub.x.length > curve.size || pub.y.length > curve.size) {
      throw malformed('TPMT_PUBLIC.unique.ecc', `coordinates longer than ${curve.size} bytes for ${curve.jwk}`);
    }
    const key = { kty: 'EC', crv: curve.jwk, x: b64u(leftPad(pub.x, curve.size)), y: b64u(leftPad(pub.y, curve.size)) };
    return createPublicKey({ key, format: 'jwk' });
  } catch (e) {
    if (e instanceof TpmVerifyError) throw e;
    throw new TpmVerifyError('malformed', 'TPMT_PUBLIC.unique', `not a valid ${pub.type.toUpperCase()} public key`, { cause: e });
  }
}

/** The ECC point as X9.62 uncompressed bytes (04 ‖ x ‖ y), coordinates padded to the curve size. */
export function eccPointBytes(pub: TpmEccPublic): Uint8Array {
  const curve = TPM_ECC_CURVES.get(pub.curveId);
  if (curve === undefined) throw new TpmVerifyError('unsupported', 'TPMT_PUBLIC.parameters.curveID', `curve ${hex16(pub.curveId)} is not supported`);
  return concatBytes(Uint8Array.of(4), leftPad(pub.x, curve.size), leftPad(pub.y, curve.size));
}

/** The SubjectPublicKeyInfo DER of the key, comparable with an X.509 certificate's key. */
export function spkiOf(pub: TpmPublic): Uint8Array {
  return publicKeyOf(pub).export({ type: 'spki', format: 'der' });
}

/** Digest size in bytes of the key's nameAlg. */
export function nameAlgSize(pub: TpmPublic): number {
  return hashInfo(pub.nameAlg, 'TPMT_PUBLIC.nameAlg').size;
}
