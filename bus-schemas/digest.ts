import { createHash } from 'node:crypto';
import { canonicalBytes } from './canonical.js';

/** A content address: `sha256:` followed by 64 lowercase hex digits. */
export type CasDigest = `sha256:${string}`;

export const CAS_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isCasDigest(s: string): s is CasDigest {
  return CAS_DIGEST_PATTERN.test(s);
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function toCasDigest(hash: Uint8Array): CasDigest {
  return `sha256:${Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex')}`;
}

export function casDigestBytes(d: CasDigest): Uint8Array {
  return Buffer.from(d.slice(7), 'hex');
}

const encoder = new TextEncoder();
const SEPARATOR = new Uint8Array([0]);

/**
 * Domain-separated content digest: SHA-256(tag ‖ 0x00 ‖ JCS(value)).
 * The tag (e.g. `holonet.v1.ProvisioningRequest`) makes a digest of one object
 * kind useless as a digest of another, even over identical JSON.
 */
export function digestBytes(tag: string, value: unknown): Uint8Array {
  return sha256(encoder.encode(tag), SEPARATOR, canonicalBytes(value));
}

export function digestOf(tag: string, value: unknown): CasDigest {
  return toCasDigest(digestBytes(tag, value));
}

/** Digest of raw bytes (files, blobs, job outputs): plain SHA-256, no tag. */
export function digestRaw(bytes: Uint8Array): CasDigest {
  return toCasDigest(sha256(bytes));
}
