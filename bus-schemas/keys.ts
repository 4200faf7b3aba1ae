/**
 * Ed25519 on node:crypto (the hot path). Private keys live inside KeyObjects
 * behind the Signer port so they never appear in logs or JSON by accident.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { HolonError } from './errors.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class KeyError extends HolonError {
  static readonly CODE = 'HOLON_E_KEY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(KeyError.CODE, `key: ${message}`, options);
  }
}

/** Something that signs with one Ed25519 key (a file key, later perhaps a TPM). */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  /** The 32-byte seed. Treat as secret: write only to 0600 files. */
  seed: Uint8Array;
}

export function generateEd25519(): Ed25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    publicKey: new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length)),
    seed: new Uint8Array(pkcs8.subarray(PKCS8_ED25519_PREFIX.length)),
  };
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new KeyError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyFromSeed(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
}

class SeedSigner implements Signer {
  readonly publicKey: Uint8Array;
  readonly #key: KeyObject;
  constructor(seed: Uint8Array) {
    this.#key = privateKeyFromSeed(seed);
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
  }
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.#key));
  }
  toJSON(): Record<string, unknown> {
    return { publicKey: Buffer.from(this.publicKey).toString('base64url'), seed: '[redacted]' };
  }
}

export function signerFromSeed(seed: Uint8Array): Signer {
  return new SeedSigner(seed);
}

// Verification keys are cached by their bytes: building a KeyObject costs more
// than the verification itself. Bounded; cleared wholesale when full.
const PUBLIC_KEY_CACHE_LIMIT = 8192;
const publicKeyCache = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(publicKey).toString('latin1');
  let key = publicKeyCache.get(cacheKey);
  if (key === undefined) {
    if (publicKey.length !== 32) throw new KeyError(`ed25519 public key must be 32 bytes, got ${publicKey.length}`);
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeyCache.clear();
    publicKeyCache.set(cacheKey, key);
  }
  return key;
}

/** True iff `signature` is a valid Ed25519 signature of `message` by `publicKey`. Never throws on bad bytes. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
