/**
 * Parsers and the verifier on hostile bytes: whatever comes in, the only
 * thing that may come out is a TpmVerifyError (or success). Random bytes,
 * random mutations of real swtpm structures, and every single-bit flip of a
 * real quote (each of which must be refused: the signature covers every byte).
 */
import t from 'tap';
import fc from 'fast-check';
import { decodeCredentialFile } from '../../bus-schemas/tpm/make-credential.js';
import { derLength, verifyEkCertificate } from '../../bus-schemas/tpm/ek-certificate.js';
import { parseQuoteAttest } from '../../bus-schemas/tpm/tpm-attest.js';
import { parseTpm2bPublic, parseTpmtPublic, publicKeyOf } from '../../bus-schemas/tpm/tpm-public.js';
import { parseTpmtSignature } from '../../bus-schemas/tpm/tpm-signature.js';
import { TpmVerifyError } from '../../bus-schemas/tpm/tpm-verify-error.js';
import { verifyQuote } from '../../bus-schemas/tpm/verify-quote.js';
import { loadQuoteVector, unb64 } from './tpm-fixtures.js';

const ecc = loadQuoteVector('swtpm-quote-ecc-ak');
const rsa = loadQuoteVector('swtpm-quote-rsa-ak');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** Run `fn`; true if it returned, false if it threw a TpmVerifyError; rethrows anything else. */
function typedOnly(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof TpmVerifyError) return false;
    throw e;
  }
}

const parsers: Array<[string, (b: Uint8Array) => unknown]> = [
  ['parseTpm2bPublic', (b) => publicKeyOf(parseTpm2bPublic(b))],
  ['parseTpmtPublic', (b) => publicKeyOf(parseTpmtPublic(b))],
  ['parseQuoteAttest', parseQuoteAttest],
  ['parseTpmtSignature', parseTpmtSignature],
  ['decodeCredentialFile', decodeCredentialFile],
  ['derLength', derLength],
];

/** Mutations of a real structure: overwrite, truncate, extend, splice in random bytes. */
function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.tuple(fc.nat({ max: seed.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
      const b = Uint8Array.from(seed);
      b[i] = v;
      return b;
    }),
    fc.nat({ max: seed.length }).map((n) => seed.slice(0, n)),
    fc.uint8Array({ maxLength: 16 }).map((tail) => Uint8Array.from([...seed, ...tail])),
    fc.tuple(fc.nat({ max: seed.length }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, ins]) => Uint8Array.from([...seed.slice(0, i), ...ins, ...seed.slice(i)])),
  );
}

void t.test('parsers only ever throw TpmVerifyError on random bytes', async (t) => {
  for (const [name, parse] of parsers) {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => void typedOnly(() => parse(b))), { numRuns: 400 });
    t.pass(`${name}: 400 random inputs`);
  }
});

void t.test('parsers only ever throw TpmVerifyError on mutated real structures', async (t) => {
  const seeds: Array<[string, Uint8Array, (b: Uint8Array) => unknown]> = [
    ['ECC AK TPM2B_PUBLIC', unb64(ecc.ak_public), (b) => publicKeyOf(parseTpm2bPublic(b))],
    ['RSA AK TPM2B_PUBLIC', unb64(rsa.ak_public), (b) => publicKeyOf(parseTpm2bPublic(b))],
    ['RSA EK TPM2B_PUBLIC', unb64(ecc.ek_public), (b) => publicKeyOf(parseTpm2bPublic(b))],
    ['TPMS_ATTEST', unb64(ecc.attest), parseQuoteAttest],
    ['ECDSA TPMT_SIGNATURE', unb64(ecc.signature), parseTpmtSignature],
    ['RSASSA TPMT_SIGNATURE', unb64(rsa.signature), parseTpmtSignature],
  ];
  for (const [name, seed, parse] of seeds) {
    fc.assert(fc.property(mutated(seed), (b) => void typedOnly(() => parse(b))), { numRuns: 500 });
    t.pass(`${name}: 500 mutations`);
  }
});

void t.test('EK certificate validation only throws typed errors on mangled DER', async (t) => {
  const cert = unb64(ecc.ek_certificate);
  const anchors = { roots: [ecc.root_ca_pem], intermediates: [ecc.intermediate_ca_pem] };
  t.ok(typedOnly(() => verifyEkCertificate(cert, anchors, ecc.now_ms)), 'the real certificate chains');
  fc.assert(fc.property(mutated(cert), (b) => void typedOnly(() => verifyEkCertificate(b, anchors, ecc.now_ms))), { numRuns: 200 });
  t.pass('200 mutated certificates');
});

void t.test('every single-bit flip of a real quote is refused (attest, signature, PCR values)', async (t) => {
  for (const v of [ecc, rsa]) {
    const evidence = {
      attest: unb64(v.attest),
      signature: unb64(v.signature),
      akPublic: unb64(v.ak_public),
      pcrSelection: v.pcr_selection,
      pcrValues: v.pcr_values.map(fromHex),
    };
    const expected = { qualifyingData: fromHex(v.qualifying_data), pcrSelection: v.pcr_selection };
    t.ok(typedOnly(() => verifyQuote(evidence, expected)), 'control: the untouched quote verifies');
    let refused = 0;
    let total = 0;
    const flipEach = (bytes: Uint8Array, use: (b: Uint8Array) => boolean): void => {
      for (let i = 0; i < bytes.length; i++) {
        const bit = i % 8;
        const b = Uint8Array.from(bytes);
        b[i] = (b[i] as number) ^ (1 << bit);
        total++;
        if (!use(b)) refused++;
      }
    };
    flipEach(evidence.attest, (b) => typedOnly(() => verifyQuote({ ...evidence, attest: b }, expected)));
    flipEach(evidence.signature, (b) => typedOnly(() => verifyQuote({ ...evidence, signature: b }, expected)));
    evidence.pcrValues.forEach((value, k) =>
      flipEach(value, (b) => typedOnly(() => verifyQuote({ ...evidence, pcrValues: evidence.pcrValues.map((x, j) => (j === k ? b : x)) }, expected))),
    );
    t.equal(refused, total, `${v.description}: ${refused}/${total} flips refused`);
  }
});
