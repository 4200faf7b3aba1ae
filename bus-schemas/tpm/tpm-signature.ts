import { constants, verify, type KeyObject } from 'node:crypto';
import { TPM_ALG, TPM_ECC_CURVES, hashInfo, hex16 } from './tpm-algorithms.js';
import { publicKeyOf, type TpmPublic } from './tpm-public.js';
import { TpmReader, concatBytes } from './tpm-reader.js';
import { TpmVerifyError } from './tpm-verify-error.js';

/**
 * TPMT_SIGNATURE (Part 2 §11.3.4) for the schemes an AK signs quotes with —
 * ECDSA and RSASSA (RSAPSS too) — and its verification with node:crypto.
 * ECDSA r and s are verified in IEEE P1363 form (r ‖ s, each padded to the
 * curve size), which node:crypto accepts directly; `ecdsaDer` gives the DER
 * form for tools that want it.
 */

export type TpmSignature =
  | { sigAlg: typeof TPM_ALG.ECDSA; hashAlg: number; r: Uint8Array; s: Uint8Array }
  | { sigAlg: typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS; hashAlg: number; sig: Uint8Array };

export function parseTpmtSignature(bytes: Uint8Array): TpmSignature {
  const r = new TpmReader(bytes, 'TPMT_SIGNATURE');
  const sigAlg = r.u16('sigAlg');
  if (sigAlg === TPM_ALG.ECDSA) {
    const hashAlg = r.u16('signature.ecdsa.hash');
    const sr = r.tpm2b('signature.ecdsa.signatureR', 128);
    const ss = r.tpm2b('signature.ecdsa.signatureS', 128);
    r.end();
    return { sigAlg, hashAlg, r: sr, s: ss };
  }
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) {
    const hashAlg = r.u16('signature.rsa.hash');
    const sig = r.tpm2b('signature.rsa.sig', 512);
    r.end();
    return { sigAlg, hashAlg, sig };
  }
  throw new TpmVerifyError('unsupported', 'TPMT_SIGNATURE.sigAlg', `signature scheme ${hex16(sigAlg)} is not ECDSA, RSASSA or RSAPSS`);
}

function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function derInteger(b: Uint8Array): Uint8Array {
  let v = stripLeadingZeros(b);
  if (v.length === 0) v = Uint8Array.of(0);
  if ((v[0] as number) & 0x80) v = concatBytes(Uint8Array.of(0), v);
  return concatBytes(Uint8Array.of(0x02, v.length), v);
}

/** ECDSA (r, s) as a DER SEQUENCE of two INTEGERs (what OpenSSL and tpm2_checkquote use). */
export function ecdsaDer(r: Uint8Array, s: Uint8Array): Uint8Array {
  const body = concatBytes(derInteger(r), derInteger(s));
  const len = body.length < 0x80 ? Uint8Array.of(body.length) : Uint8Array.of(0x81, body.length);
  return concatBytes(Uint8Array.of(0x30), len, body);
}

function pad(b: Uint8Array, size: number): Uint8Array | undefined {
  const v = stripLeadingZeros(b);
  if (v.length > size) return undefined;
  const out = new Uint8Array(size);
  out.set(v, size - v.length);
  return out;
}

const bad = (detail: string): TpmVerifyError => new TpmVerifyError('badSignature', 'TPMT_SIGNATURE', detail);

/**
 * Verify `signature` over `message` with the key `pub`. The signature's scheme
 * must fit the key type and, when the key fixes a scheme (every restricted
 * signing key does), be exactly that scheme and hash. Throws
 * TpmVerifyError('badSignature') on any mismatch or a wrong signature.
 * `key` may be passed in when the caller caches publicKeyOf(pub).
 */
export function verifyTpmSignature(pub: TpmPublic, signature: TpmSignature, message: Uint8Array, key?: KeyObject): void {
  if (pub.scheme !== null && (pub.scheme.alg !== signature.sigAlg || pub.scheme.hashAlg !== signature.hashAlg)) {
    throw bad(
      `scheme ${hex16(signature.sigAlg)}/${hex16(signature.hashAlg)} is not the key's ${hex16(pub.scheme.alg)}/${hex16(pub.scheme.hashAlg)}`,
    );
  }
  const hash = hashInfo(signature.hashAlg, 'TPMT_SIGNATURE.hash').name;
  const keyObject = key ?? publicKeyOf(pub);
  if (!checkSignature(pub, signature, message, hash, keyObject)) throw bad('signature does not verify with the AK public key');
}

function checkSignature(pub: TpmPublic, signature: TpmSignature, message: Uint8Array, hash: string, key: KeyObject): boolean {
  if (signature.sigAlg === TPM_ALG.ECDSA) {
    if (pub.type !== 'ecc') throw bad('ECDSA signature for an RSA key');
    const size = TPM_ECC_CURVES.get(pub.curveId)?.size ?? 0;
    const r = pad(signature.r, size);
    const s = pad(signature.s, size);
    if (r === undefined || s === undefined) throw bad(`r or s longer than the curve's ${size} bytes`);
    return safely(() => verify(hash, message, { key, dsaEncoding: 'ieee-p1363' }, concatBytes(r, s)));
  }
  if (pub.type !== 'rsa') throw bad('RSA signature for an ECC key');
  if (signature.sig.length !== pub.modulus.length) throw bad(`RSA signature of ${signature.sig.length} bytes for a ${pub.keyBits}-bit key`);
  if (signature.sigAlg === TPM_ALG.RSASSA) {
    return safely(() => verify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature.sig));
  }
  const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
  return safely(() => verify(hash, message, pss, signature.sig));
}

/** OpenSSL may throw on signatures it cannot even decode; that is just a bad signature. */
function safely(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}
