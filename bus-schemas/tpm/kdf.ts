import { createHash, createHmac } from 'node:crypto';
import { hashInfo } from './tpm-algorithms.js';
import { u32be } from './tpm-reader.js';

/**
 * The TPM's key derivation functions (Part 1 §11.4.10): KDFa, an SP800-108
 * counter-mode HMAC KDF, and KDFe, the SP800-56A concatenation KDF used after
 * ECDH. Labels are ASCII and include their terminating NUL octet, as the
 * spec and tpm2-tools do ("STORAGE\0", "INTEGRITY\0", "IDENTITY\0").
 */

function labelBytes(label: string): Uint8Array {
  const bytes = Buffer.from(label, 'latin1');
  return Buffer.concat([bytes, Uint8Array.of(0)]);
}

/** KDFa(hashAlg, key, label, contextU, contextV, bits) → bits/8 bytes. */
export function kdfa(hashAlg: number, key: Uint8Array, label: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Uint8Array {
  const { name, size } = hashInfo(hashAlg, 'KDFa.hashAlg');
  const bytes = Math.ceil(bits / 8);
  const lab = labelBytes(label);
  const out = Buffer.alloc(Math.ceil(bytes / size) * size);
  for (let i = 1, off = 0; off < bytes; i++, off += size) {
    createHmac(name, key).update(u32be(i)).update(lab).update(contextU).update(contextV).update(u32be(bits)).digest().copy(out, off);
  }
  return Uint8Array.from(out.subarray(0, bytes));
}

/** KDFe(hashAlg, Z, label, partyUInfo, partyVInfo, bits) → bits/8 bytes. */
export function kdfe(hashAlg: number, z: Uint8Array, label: string, partyU: Uint8Array, partyV: Uint8Array, bits: number): Uint8Array {
  const { name, size } = hashInfo(hashAlg, 'KDFe.hashAlg');
  const bytes = Math.ceil(bits / 8);
  const lab = labelBytes(label);
  const out = Buffer.alloc(Math.ceil(bytes / size) * size);
  for (let i = 1, off = 0; off < bytes; i++, off += size) {
    createHash(name).update(u32be(i)).update(z).update(lab).update(partyU).update(partyV).digest().copy(out, off);
  }
  return Uint8Array.from(out.subarray(0, bytes));
}
