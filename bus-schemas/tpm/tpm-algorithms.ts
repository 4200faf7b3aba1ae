import { hash } from 'node:crypto';
import { TpmVerifyError } from './tpm-verify-error.js';

/**
 * The TPM 2.0 algorithm identifiers, attribute bits and constants we parse
 * and verify (TPM 2.0 Part 2, "Structures", and the TCG Algorithm Registry).
 */

export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  ECSCHNORR: 0x001c,
  SYMCIPHER: 0x0025,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
/** The endorsement hierarchy handle: the root of an EK's qualified name. */
export const TPM_RH_ENDORSEMENT = 0x4000000b;

/** TPMA_OBJECT bits (Part 2 §8.3). */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

export type TpmHashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASHES: ReadonlyMap<number, { name: TpmHashName; size: number }> = new Map([
  [TPM_ALG.SHA1, { name: 'sha1', size: 20 }],
  [TPM_ALG.SHA256, { name: 'sha256', size: 32 }],
  [TPM_ALG.SHA384, { name: 'sha384', size: 48 }],
  [TPM_ALG.SHA512, { name: 'sha512', size: 64 }],
]);

export function isHashAlg(alg: number): boolean {
  return HASHES.has(alg);
}

/** node:crypto name and digest size of a TPM hash algorithm, or a typed refusal. */
export function hashInfo(alg: number, field: string): { name: TpmHashName; size: number } {
  const h = HASHES.get(alg);
  if (h === undefined) throw new TpmVerifyError('unsupported', field, `hash algorithm ${hex16(alg)} is not supported`);
  return h;
}

export function hashAlgOf(name: TpmHashName): number {
  for (const [alg, h] of HASHES) if (h.name === name) return alg;
  /* c8 ignore next */
  throw new TpmVerifyError('unsupported', 'hash', `hash ${String(name)} is not supported`);
}

/** One-shot digest of the concatenated parts (crypto.hash: no Hash object per call, which dominates for small inputs). */
export function digest(alg: number, ...parts: Uint8Array[]): Uint8Array {
  const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
  return hash(hashInfo(alg, 'hash').name, data, 'buffer');
}

/** TPM_ECC_CURVE ids we know, with node's curve name and coordinate size. */
export const TPM_ECC_CURVES: ReadonlyMap<number, { name: string; jwk: string; size: number }> = new Map([
  [0x0003, { name: 'prime256v1', jwk: 'P-256', size: 32 }],
  [0x0004, { name: 'secp384r1', jwk: 'P-384', size: 48 }],
  [0x0005, { name: 'secp521r1', jwk: 'P-521', size: 66 }],
]);

export function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

export function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
