/**
 * AuthoritySealV1: an Ed25519 signature by a named key over the
 * domain-separated digest of an object's body (the object minus its seal).
 *
 *   message = "holonet-seal/v1" ‖ 0x00 ‖ SHA-256(tag ‖ 0x00 ‖ JCS(body))
 *
 * `seal` and `verifySeal` live side by side so the two halves cannot drift.
 */
import { digestBytes } from './digest.js';
import { SealError } from './errors.js';
import { encodeId, idPublicKey, PublicKeyIdSchema, type PublicKeyIdV1 } from './ids.js';
import { verifyEd25519, type Signer } from './keys.js';
import { base64url, literal, object, type Infer } from './schema.js';

export const AuthoritySealV1Schema = object(
  {
    alg: literal('ed25519'),
    key: PublicKeyIdSchema,
    sig: base64url({ minBytes: 64, maxBytes: 64, description: 'Ed25519 signature' }),
  },
  'AuthoritySealV1: a signature by a named key over a domain-separated digest',
);
export type AuthoritySealV1 = Infer<typeof AuthoritySealV1Schema>;

const SEAL_PREFIX = new TextEncoder().encode('holonet-seal/v1\u0000');

export function sealMessage(tag: string, body: unknown): Uint8Array {
  const d = digestBytes(tag, body);
  const m = new Uint8Array(SEAL_PREFIX.length + d.length);
  m.set(SEAL_PREFIX, 0);
  m.set(d, SEAL_PREFIX.length);
  return m;
}

export function makeSeal(tag: string, body: unknown, signer: Signer): AuthoritySealV1 {
  const sig = signer.sign(sealMessage(tag, body));
  return { alg: 'ed25519', key: encodeId('key', signer.publicKey), sig: Buffer.from(sig).toString('base64url') };
}

/**
 * Verify `seal` over `body` under domain `tag`. If `expected` is given the
 * seal must be by that key. Throws SealError naming what is wrong.
 */
export function verifySealOver(tag: string, body: unknown, seal: AuthoritySealV1, expected?: PublicKeyIdV1): void {
  if ((seal as { alg: unknown }).alg !== 'ed25519') throw new SealError(`unsupported seal algorithm ${JSON.stringify(seal.alg)}`);
  if (expected !== undefined && seal.key !== expected) {
    throw new SealError(`sealed by ${seal.key}, expected ${expected}`);
  }
  let publicKey: Uint8Array;
  try {
    publicKey = idPublicKey(seal.key, 'key');
  } catch {
    throw new SealError('seal key is not a valid hkey id');
  }
  const sig = Buffer.from(seal.sig, 'base64url');
  if (!verifyEd25519(publicKey, sealMessage(tag, body), sig)) {
    throw new SealError(`signature by ${seal.key} does not verify over this ${tag.replace(/^holonet\.v1\./, '')}`);
  }
}
