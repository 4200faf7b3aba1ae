/**
 * The Ed25519 key file (bus-schemas/key-file.ts): one encoder and decoder
 * for the agent's machine key and `holonctl init`'s principal and cell keys.
 */
import t from 'tap';
import { encodeId } from '../../bus-schemas/ids.js';
import { ED25519_KEY_FILE_TYPE, KEY_FILE_MAX_BYTES, decodeKeyFile, encodeKeyFile } from '../../bus-schemas/key-file.js';
import { publicKeyFromSeed } from '../../bus-schemas/keys.js';
import { testBytes } from './v1/sample-keys.js';

const seed = testBytes('key-file');
const keyId = encodeId('key', publicKeyFromSeed(seed));
const seedText = Buffer.from(seed).toString('base64url');
const line = (o: Record<string, unknown>): string => `${JSON.stringify(o)}\n`;

void t.test('encode: one JSON line; decode gives the seed and key id back', async (t) => {
  const text = encodeKeyFile(seed);
  t.equal(text, `{"type":"${ED25519_KEY_FILE_TYPE}","key_id":"${keyId}","seed":"${seedText}"}\n`, 'the exact bytes holonctl init and the agent have always written');
  const r = decodeKeyFile(text);
  t.same(r, { ok: true, seed, keyId });
  t.same(decodeKeyFile(`  ${text.trim()}  \n\n`), { ok: true, seed, keyId }, 'surrounding whitespace is fine');
  t.same(decodeKeyFile(line({ seed: seedText, key_id: keyId, type: ED25519_KEY_FILE_TYPE })), { ok: true, seed, keyId }, 'member order does not matter');
});

void t.test('decode refuses with exact reasons', async (t) => {
  const good = { type: ED25519_KEY_FILE_TYPE, key_id: keyId, seed: seedText };
  const other = encodeId('key', publicKeyFromSeed(testBytes('another')));
  const badSeed = 'the seed is not a 32-byte Ed25519 seed (43 characters of base64url)';
  // The 43rd character carries 2 spare bits; setting one names the same 32 bytes with other text.
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const alias = `${seedText.slice(0, 42)}${ALPHABET[ALPHABET.indexOf(seedText.slice(-1)) ^ 1] as string}`;
  t.same(Buffer.from(alias, 'base64url'), Buffer.from(seed), 'Node reads the alias as the same seed');
  const cases: [string, string][] = [
    ['garbage', 'not a holonet key file (invalid JSON)'],
    ['', 'not a holonet key file (invalid JSON)'],
    ['{"type":"holonet.ed25519-seed","type":"x"}', 'not a holonet key file (invalid JSON)'],
    ['[]', `not a ${ED25519_KEY_FILE_TYPE} key file`],
    ['null', `not a ${ED25519_KEY_FILE_TYPE} key file`],
    [line({ ...good, type: 'holonet.x25519-seed' }), `not a ${ED25519_KEY_FILE_TYPE} key file`],
    [line({ ...good, comment: 'mine' }), 'unexpected member "comment"'],
    [line({ ...good, seed: 'AAAA' }), badSeed],
    [line({ ...good, seed: `${seedText}=` }), badSeed],
    [line({ ...good, seed: '+'.repeat(43) }), badSeed],
    [line({ ...good, seed: 42 }), badSeed],
    [line({ type: ED25519_KEY_FILE_TYPE, key_id: keyId }), badSeed],
    [line({ ...good, seed: alias }), badSeed],
    [line({ ...good, key_id: other }), 'key_id does not match the seed'],
    [line({ type: ED25519_KEY_FILE_TYPE, seed: seedText }), 'key_id does not match the seed'],
    [' '.repeat(KEY_FILE_MAX_BYTES + 1), `not a holonet key file (larger than ${KEY_FILE_MAX_BYTES} bytes)`],
  ];
  for (const [text, reason] of cases) {
    t.same(decodeKeyFile(text), { ok: false, reason }, `${JSON.stringify(text.slice(0, 60))}: ${reason}`);
  }
});
