/**
 * The Ed25519 key file, both halves in one place: the agent's machine key
 * (agent/machine-key.ts) and `holonctl init`'s principal and cell keys
 * (cli/commands/init.ts) are written and read by these two functions.
 *
 *   {"type":"holonet.ed25519-seed","key_id":"key1…","seed":"<base64url>"}\n
 *
 * - `seed`: the 32-byte Ed25519 seed, unpadded base64url (43 characters);
 * - `key_id`: the PublicKeyIdV1 of its public key, so a file whose seed and
 *   id disagree (a half-edited or mixed-up file) is refused, never used;
 * - nothing else: strict JSON (no duplicate keys), no other member.
 *
 * Pure: text in, seed and key id out (or the reason not). Reading the file,
 * its mode and the error class are the caller's.
 */
import { encodeId, type PublicKeyIdV1 } from './ids.js';
import { publicKeyFromSeed } from './keys.js';
import { parseStrictJson } from './strict-json.js';

export const ED25519_KEY_FILE_TYPE = 'holonet.ed25519-seed';
/** A key file is one short line; anything longer is not one. */
export const KEY_FILE_MAX_BYTES = 512;

const SEED_TEXT = /^[A-Za-z0-9_-]{43}$/;
const MEMBERS = new Set(['type', 'key_id', 'seed']);

export interface Ed25519KeyFile {
  type: typeof ED25519_KEY_FILE_TYPE;
  key_id: PublicKeyIdV1;
  seed: string;
}

export type KeyFileCheck = { ok: true; seed: Uint8Array; keyId: PublicKeyIdV1 } | { ok: false; reason: string };

/** The key file text for a 32-byte seed (one JSON line and a newline). */
export function encodeKeyFile(seed: Uint8Array): string {
  const file: Ed25519KeyFile = { type: ED25519_KEY_FILE_TYPE, key_id: encodeId('key', publicKeyFromSeed(seed)), seed: Buffer.from(seed).toString('base64url') };
  return `${JSON.stringify(file)}\n`;
}

/** The seed and key id of a key file's text, or why it is not a valid one. */
export function decodeKeyFile(text: string): KeyFileCheck {
  const refuse = (reason: string): KeyFileCheck => ({ ok: false, reason });
  if (new TextEncoder().encode(text).byteLength > KEY_FILE_MAX_BYTES) return refuse(`not a holonet key file (larger than ${KEY_FILE_MAX_BYTES} bytes)`);
  let parsed: unknown;
  try {
    parsed = parseStrictJson(text);
  } catch {
    return refuse('not a holonet key file (invalid JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return refuse(`not a ${ED25519_KEY_FILE_TYPE} key file`);
  const f = parsed as Record<string, unknown>;
  if (f.type !== ED25519_KEY_FILE_TYPE) return refuse(`not a ${ED25519_KEY_FILE_TYPE} key file`);
  const extra = Object.keys(f).find((k) => !MEMBERS.has(k));
  if (extra !== undefined) return refuse(`unexpected member ${JSON.stringify(extra.slice(0, 64))}`);
  if (typeof f.seed !== 'string' || !SEED_TEXT.test(f.seed)) return refuse('the seed is not a 32-byte Ed25519 seed (43 characters of base64url)');
  const seed = new Uint8Array(Buffer.from(f.seed, 'base64url'));
  // 43 characters carry 258 bits: the last one must leave the 2 spare bits zero, or two texts name one seed.
  if (seed.length !== 32 || Buffer.from(seed).toString('base64url') !== f.seed) return refuse('the seed is not a 32-byte Ed25519 seed (43 characters of base64url)');
  const keyId = encodeId('key', publicKeyFromSeed(seed));
  if (f.key_id !== keyId) return refuse('key_id does not match the seed');
  return { ok: true, seed, keyId };
}
