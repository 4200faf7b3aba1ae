/**
 * MakeCredential byte compatibility with tpm2-tools, without a TPM: for a
 * software EK whose private key we hold, recover the seed from
 * tpm2_makecredential's output (RSA-OAEP / ECDH+KDFe), then check that our
 * KDFa / AES-CFB / HMAC unwrap its TPM2B_ID_OBJECT, and that our own blobs
 * have exactly its file layout. The TPM itself accepting our blobs is tested
 * in swtpm-flow.test.ts.
 */
import t, { type Test } from 'tap';
import { constants, createECDH, createPrivateKey, createPublicKey, createHmac, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { kdfa, kdfe } from '../../bus-schemas/tpm/kdf.js';
import {
  decodeCredentialFile,
  encodeCredentialFile,
  makeCredential,
  unwrapCredential,
  verifyActivatedSecret,
} from '../../bus-schemas/tpm/make-credential.js';
import { TPM_ALG } from '../../bus-schemas/tpm/tpm-algorithms.js';
import { TpmReader } from '../../bus-schemas/tpm/tpm-reader.js';
import type { TpmPublic } from '../../bus-schemas/tpm/tpm-public.js';
import { refuses } from '../helpers/refuses.js';
import { ekTemplateFor, hex, toolMakeCredential, unb64, vectorDir } from './tpm-fixtures.js';

interface McVector {
  ek_private_pem: string;
  name: string;
  secret: string;
  tool_output: string;
}

const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** The seed inside a TPM2B_ENCRYPTED_SECRET, recovered with the EK private key (the TPM's half). */
function recoverSeed(privatePem: string, ek: TpmPublic, encryptedSecret: Uint8Array): Uint8Array {
  const r = new TpmReader(encryptedSecret, 'TPM2B_ENCRYPTED_SECRET');
  const body = r.tpm2b('secret', 0xffff);
  r.end();
  const priv = createPrivateKey(privatePem);
  if (ek.type === 'rsa') {
    return privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('IDENTITY\0', 'latin1') }, body);
  }
  const p = new TpmReader(body, 'TPMS_ECC_POINT');
  const x = p.tpm2b('x', 66);
  const y = p.tpm2b('y', 66);
  p.end();
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(priv.export({ format: 'jwk' }).d as string, 'base64url'));
  const z = ecdh.computeSecret(Buffer.concat([Buffer.of(4), x, y]));
  return kdfe(TPM_ALG.SHA256, z, 'IDENTITY', x, ek.x, 256);
}

function checkVector(t: Test, file: string): void {
  const v = JSON.parse(readFileSync(join(vectorDir, file), 'utf8')) as McVector;
  const ek = ekTemplateFor(createPublicKey(v.ek_private_pem));
  const cred = decodeCredentialFile(unb64(v.tool_output));
  t.same(encodeCredentialFile(cred), unb64(v.tool_output), 'decode/encode of the tool file is the identity');
  const seed = recoverSeed(v.ek_private_pem, ek, cred.encryptedSecret);
  t.same(unwrapCredential(ek, fromHex(v.name), seed, cred.idObject), fromHex(v.secret), 'our unwrap recovers the tool-wrapped secret');
  const otherName = fromHex(v.name);
  otherName[33] = (otherName[33] as number) ^ 0x01;
  refuses(t, () => unwrapCredential(ek, otherName, seed, cred.idObject), { code: 'HOLON_E_TPM_ACTIVATION' }, 'another name fails the HMAC');
}

void t.test('KDFa matches an independent SP800-108 counter-mode HMAC (@noble/hashes)', async (t) => {
  const key = randomBytes(32);
  const ctxU = randomBytes(34);
  for (const bits of [128, 256, 512, 136]) {
    const want: number[] = [];
    for (let i = 1; want.length * 8 < bits; i++) {
      const msg = Buffer.concat([Buffer.from([0, 0, 0, i]), Buffer.from('STORAGE\0'), ctxU, Buffer.from([(bits >>> 24) & 255, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255])]);
      want.push(...hmac(sha256, key, msg));
    }
    const got = kdfa(TPM_ALG.SHA256, key, 'STORAGE', ctxU, new Uint8Array(0), bits);
    t.equal(hex(got), hex(Uint8Array.from(want.slice(0, bits / 8))), `${bits} bits`);
  }
  const z = randomBytes(32);
  const want = sha256(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, Buffer.from('IDENTITY\0'), Buffer.from('u'), Buffer.from('v')]));
  t.equal(hex(kdfe(TPM_ALG.SHA256, z, 'IDENTITY', Buffer.from('u'), Buffer.from('v'), 256)), hex(want), 'KDFe one block');
});

void t.test('checked-in tpm2_makecredential outputs unwrap with our KDFa/AES-CFB/HMAC', async (t) => {
  checkVector(t, 'makecredential-rsa.json');
  checkVector(t, 'makecredential-ecc.json');
});

void t.test('live tpm2_makecredential --tcti none agrees with us (RSA and ECC EK)', async (t) => {
  for (const alg of ['rsa', 'ecc'] as const) {
    const { privateKey, publicKey } = alg === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const ek = ekTemplateFor(publicKey);
    const name = Buffer.concat([Buffer.from('000b', 'hex'), randomBytes(32)]);
    const secret = randomBytes(32);
    const file = await toolMakeCredential(publicKey.export({ type: 'spki', format: 'pem' }) as string, alg, name, secret);
    const theirs = decodeCredentialFile(file);
    t.same(unwrapCredential(ek, name, recoverSeed(pem, ek, theirs.encryptedSecret), theirs.idObject), secret, `${alg}: tool blob unwraps`);
    const ours = makeCredential(ek, name, secret);
    const ourFile = encodeCredentialFile(ours);
    t.equal(ourFile.length, file.length, `${alg}: same file size as the tool's`);
    t.same(ourFile.subarray(0, 12), file.subarray(0, 12), `${alg}: same header and TPM2B_ID_OBJECT size`);
    t.same(ours.idObject.subarray(0, 4), theirs.idObject.subarray(0, 4), `${alg}: same integrity HMAC size`);
    t.same(unwrapCredential(ek, name, recoverSeed(pem, ek, ours.encryptedSecret), ours.idObject), secret, `${alg}: our blob unwraps`);
  }
});

void t.test('makeCredential is deterministic given the seed, and binds the name', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ek = ekTemplateFor(publicKey);
  const name = Buffer.concat([Buffer.from('000b', 'hex'), randomBytes(32)]);
  const seed = randomBytes(32);
  const secret = randomBytes(16);
  const a = makeCredential(ek, name, secret, { seed });
  const b = makeCredential(ek, name, secret, { seed });
  t.same(a.idObject, b.idObject, 'same seed, same TPM2B_ID_OBJECT');
  t.notSame(a.encryptedSecret, b.encryptedSecret, 'OAEP is randomized');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  t.same(recoverSeed(pem, ek, a.encryptedSecret), seed, 'the seed is what was OAEP-encrypted');
  // hand-computed outer HMAC over encIdentity ‖ name
  const hmacKey = kdfa(TPM_ALG.SHA256, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), 256);
  const encIdentity = a.idObject.subarray(2 + 2 + 32);
  t.same(a.idObject.subarray(4, 36), createHmac('sha256', hmacKey).update(encIdentity).update(name).digest(), 'outer HMAC');
  t.equal(encIdentity.length, 2 + secret.length, 'encIdentity is the encrypted TPM2B credential');
});

void t.test('makeCredential refuses bad inputs with typed errors', async (t) => {
  const ek = ekTemplateFor(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  const name = Buffer.concat([Buffer.from('000b', 'hex'), randomBytes(32)]);
  refuses(t, () => makeCredential(ek, name, new Uint8Array(0)), { code: 'HOLON_E_TPM_MALFORMED', field: 'secret' });
  refuses(t, () => makeCredential(ek, name, randomBytes(33)), { code: 'HOLON_E_TPM_MALFORMED', field: 'secret' });
  refuses(t, () => makeCredential(ek, name.subarray(0, 20), randomBytes(32)), { code: 'HOLON_E_TPM_MALFORMED', field: 'akName' });
  refuses(t, () => makeCredential({ ...ek, attributes: 0x00040072 }, name, randomBytes(32)), { code: 'HOLON_E_TPM_UNSUPPORTED' }, 'a signing key is no EK');
  refuses(t, () => makeCredential({ ...ek, symmetric: null }, name, randomBytes(32)), { code: 'HOLON_E_TPM_UNSUPPORTED' }, 'no symmetric');
  refuses(t, () => decodeCredentialFile(Buffer.from('00000000000000010000', 'hex')), { code: 'HOLON_E_TPM_MALFORMED' });
});

void t.test('activated secrets are compared in constant time, typed on mismatch', async (t) => {
  const s = randomBytes(32);
  verifyActivatedSecret(s, Uint8Array.from(s));
  const other = Uint8Array.from(s);
  other[31] = (other[31] as number) ^ 1;
  refuses(t, () => verifyActivatedSecret(s, other), { code: 'HOLON_E_TPM_ACTIVATION' });
  refuses(t, () => verifyActivatedSecret(s, s.subarray(0, 16)), { code: 'HOLON_E_TPM_ACTIVATION' });
});
