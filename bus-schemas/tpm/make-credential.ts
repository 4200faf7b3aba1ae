import { constants, createCipheriv, createDecipheriv, createECDH, createHmac, publicEncrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { kdfa, kdfe } from './kdf.js';
import { TPMA_OBJECT, TPM_ALG, TPM_ECC_CURVES, hashInfo, hex16, isHashAlg } from './tpm-algorithms.js';
import { eccPointBytes, publicKeyOf, type TpmEccPublic, type TpmPublic } from './tpm-public.js';
import { TpmReader, concatBytes, marshalTpm2b, u32be } from './tpm-reader.js';
import { TpmVerifyError, malformed } from './tpm-verify-error.js';

/**
 * TPM2_MakeCredential in TypeScript (Part 1 §24, Part 3 §12.6): wrap a
 * secret so that only the TPM holding `ek` can recover it, and only by
 * naming the object `akName` that is loaded in that same TPM
 * (TPM2_ActivateCredential). The orchestrator uses it to prove the AK lives
 * next to the EK it certified.
 *
 *   seed       random (RSA EK: OAEP-encrypted, label "IDENTITY\0") or
 *              KDFe(ECDH(ephemeral, EK), "IDENTITY", ephemeral.x, EK.x) (ECC EK)
 *   symKey     KDFa(nameAlg, seed, "STORAGE", akName, ∅, EK symmetric keyBits)
 *   encIdentity AES-CFB(symKey, IV = 0, TPM2B(secret))
 *   hmacKey    KDFa(nameAlg, seed, "INTEGRITY", ∅, ∅, digest bits)
 *   outerHMAC  HMAC(hmacKey, encIdentity ‖ akName)
 *   TPM2B_ID_OBJECT = size ‖ TPM2B(outerHMAC) ‖ encIdentity
 */

export interface MadeCredential {
  /** TPM2B_ID_OBJECT, marshalled (size-prefixed). */
  idObject: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET, marshalled (size-prefixed). */
  encryptedSecret: Uint8Array;
}

/** tpm2-tools' credential file header: magic and version (tpm2_makecredential -o / tpm2_activatecredential -i). */
export const TPM2_TOOLS_CREDENTIAL_MAGIC = 0xbadcc0de;
export const TPM2_TOOLS_CREDENTIAL_VERSION = 1;

function symmetricOf(ek: TpmPublic): { cipher: string; bits: number } {
  const sym = ek.symmetric;
  if (sym === null || sym.alg !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB || ![128, 192, 256].includes(sym.keyBits)) {
    const got = sym === null ? 'TPM_ALG_NULL' : `${hex16(sym.alg)}/${sym.keyBits}/${hex16(sym.mode)}`;
    throw new TpmVerifyError('unsupported', 'EK TPMT_PUBLIC.parameters.symmetric', `need AES-CFB, got ${got}`);
  }
  return { cipher: `aes-${sym.keyBits}-cfb`, bits: sym.keyBits };
}

function checkEk(ek: TpmPublic): void {
  const storage = TPMA_OBJECT.restricted | TPMA_OBJECT.decrypt;
  if ((ek.attributes & storage) !== storage || (ek.attributes & TPMA_OBJECT.sign) !== 0) {
    throw new TpmVerifyError('unsupported', 'EK TPMT_PUBLIC.objectAttributes', 'the EK must be a restricted decryption key');
  }
}

/** Refuse a Name that is not nameAlg ‖ digest of that algorithm's size. */
export function checkName(name: Uint8Array, field = 'akName'): void {
  const alg = name.length >= 2 ? ((name[0] as number) << 8) | (name[1] as number) : -1;
  if (!isHashAlg(alg) || name.length !== 2 + hashInfo(alg, field).size) {
    throw malformed(field, 'not a TPM2B_NAME digest (nameAlg ‖ H(public area))');
  }
}

/** The protection seed and its encryption to the EK. `ephemeral` fixes the ECDH key (tests only). */
function shareSeed(ek: TpmPublic, seedOverride?: Uint8Array, ephemeralPrivate?: Uint8Array): { seed: Uint8Array; encrypted: Uint8Array } {
  const { name, size } = hashInfo(ek.nameAlg, 'EK nameAlg');
  if (ek.type === 'rsa') {
    const seed = seedOverride ?? randomBytes(size);
    const oaep = { key: publicKeyOf(ek), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: name, oaepLabel: Buffer.from('IDENTITY\0', 'latin1') };
    return { seed, encrypted: publicEncrypt(oaep, seed) };
  }
  return shareSeedEcc(ek, size, ephemeralPrivate);
}

function shareSeedEcc(ek: TpmEccPublic, size: number, ephemeralPrivate?: Uint8Array): { seed: Uint8Array; encrypted: Uint8Array } {
  const curve = TPM_ECC_CURVES.get(ek.curveId);
  if (curve === undefined) throw new TpmVerifyError('unsupported', 'EK curveID', `curve ${hex16(ek.curveId)} is not supported`);
  const ecdh = createECDH(curve.name);
  if (ephemeralPrivate === undefined) ecdh.generateKeys();
  else ecdh.setPrivateKey(ephemeralPrivate);
  let z: Buffer;
  try {
    z = ecdh.computeSecret(eccPointBytes(ek));
  } catch (e) {
    throw new TpmVerifyError('malformed', 'EK TPMT_PUBLIC.unique.ecc', 'the EK point is not on its curve', { cause: e });
  }
  const point = ecdh.getPublicKey();
  const ex = point.subarray(1, 1 + curve.size);
  const ey = point.subarray(1 + curve.size);
  const seed = kdfe(ek.nameAlg, z, 'IDENTITY', ex, ek.x, size * 8);
  return { seed, encrypted: concatBytes(marshalTpm2b(ex), marshalTpm2b(ey)) };
}

/**
 * MakeCredential for `ek` (RSA or ECC), the AK's Name and a secret of 1 to
 * digest-size bytes. Options fix the randomness, for test vectors only.
 */
export function makeCredential(
  ek: TpmPublic,
  akName: Uint8Array,
  secret: Uint8Array,
  testOnly?: { seed?: Uint8Array; ephemeralPrivate?: Uint8Array },
): MadeCredential {
  checkEk(ek);
  checkName(akName);
  const { name: hashName, size } = hashInfo(ek.nameAlg, 'EK nameAlg');
  if (secret.length < 1 || secret.length > size) {
    throw malformed('secret', `a credential is 1 to ${size} bytes for this EK, got ${secret.length}`);
  }
  const { cipher, bits } = symmetricOf(ek);
  const { seed, encrypted } = shareSeed(ek, testOnly?.seed, testOnly?.ephemeralPrivate);
  const symKey = kdfa(ek.nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), bits);
  const aes = createCipheriv(cipher, symKey, Buffer.alloc(16));
  const encIdentity = Buffer.concat([aes.update(marshalTpm2b(secret)), aes.final()]);
  const hmacKey = kdfa(ek.nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), size * 8);
  const outerHmac = createHmac(hashName, hmacKey).update(encIdentity).update(akName).digest();
  return {
    idObject: marshalTpm2b(concatBytes(marshalTpm2b(outerHmac), encIdentity)),
    encryptedSecret: marshalTpm2b(encrypted),
  };
}

/**
 * The inverse once the seed is known (the TPM's half of ActivateCredential
 * after it decrypted the seed with the EK): check the outer HMAC, decrypt,
 * return the secret. Used to prove byte compatibility with tpm2_makecredential.
 */
export function unwrapCredential(ek: TpmPublic, akName: Uint8Array, seed: Uint8Array, idObject: Uint8Array): Uint8Array {
  const { name: hashName, size } = hashInfo(ek.nameAlg, 'EK nameAlg');
  const { cipher, bits } = symmetricOf(ek);
  const outer = new TpmReader(idObject, 'TPM2B_ID_OBJECT');
  const body = outer.tpm2b('credential', 0xffff);
  outer.end();
  const r = new TpmReader(body, 'TPM2B_ID_OBJECT.credential');
  const integrity = r.tpm2b('integrityHMAC', 64);
  const encIdentity = r.bytes(r.remaining, 'encIdentity');
  const hmacKey = kdfa(ek.nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), size * 8);
  const want = createHmac(hashName, hmacKey).update(encIdentity).update(akName).digest();
  if (integrity.length !== want.length || !timingSafeEqual(integrity, want)) {
    throw new TpmVerifyError('activation', 'TPM2B_ID_OBJECT.integrityHMAC', 'integrity check failed (wrong seed, name or blob)');
  }
  const symKey = kdfa(ek.nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), bits);
  const aes = createDecipheriv(cipher, symKey, Buffer.alloc(16));
  const plain = Buffer.concat([aes.update(encIdentity), aes.final()]);
  const inner = new TpmReader(plain, 'TPM2B_DIGEST credential');
  const secret = inner.tpm2b('buffer', 64);
  inner.end();
  return secret;
}

/** The file tpm2_activatecredential -i reads: magic ‖ version ‖ TPM2B_ID_OBJECT ‖ TPM2B_ENCRYPTED_SECRET. */
export function encodeCredentialFile(cred: MadeCredential): Uint8Array {
  return concatBytes(u32be(TPM2_TOOLS_CREDENTIAL_MAGIC), u32be(TPM2_TOOLS_CREDENTIAL_VERSION), cred.idObject, cred.encryptedSecret);
}

/** Parse a tpm2_makecredential output file back into its two marshalled structures. */
export function decodeCredentialFile(bytes: Uint8Array): MadeCredential {
  const r = new TpmReader(bytes, 'credential file');
  const magic = r.u32('magic');
  const version = r.u32('version');
  if (magic !== TPM2_TOOLS_CREDENTIAL_MAGIC || version !== TPM2_TOOLS_CREDENTIAL_VERSION) {
    throw malformed('credential file', `header ${magic.toString(16)}/${version} is not tpm2-tools' badcc0de/1`);
  }
  const id = r.tpm2b('idObject', 0xffff);
  const enc = r.tpm2b('encryptedSecret', 0xffff);
  r.end();
  return { idObject: marshalTpm2b(id), encryptedSecret: marshalTpm2b(enc) };
}

/** Constant-time check that the secret the agent activated is the one we wrapped (DESIGN §3 step 4). */
export function verifyActivatedSecret(expected: Uint8Array, presented: Uint8Array): void {
  // lengths are public (the credential size is fixed by the protocol); contents are compared in constant time
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new TpmVerifyError('activation', 'activated secret', 'does not match the credential the orchestrator issued');
  }
}
