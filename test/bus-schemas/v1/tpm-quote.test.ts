import t from 'tap';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseTpm2bPublic, quoteQualifyingData, verifyQuote } from '../../../bus-schemas/tpm/index.js';
import { TpmQuoteV1, type TpmSignatureAlg } from '../../../bus-schemas/v1/tpm-quote.js';
import { refusesExactly as refuses } from './refuses-exactly.js';
import { ACTIVATED_SECRET, ORCHESTRATOR_NONCE, SIGNERS, tpmQuote } from './samples.js';

const bytesOf = (b64: string): Buffer => Buffer.from(b64, 'base64url');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** `b64` with `patch` written at `offset`. */
function patched(s: string, offset: number, patch: number[]): string {
  const b = bytesOf(s);
  Buffer.from(patch).copy(b, offset);
  return b64(b);
}

void t.test('the sample is a genuine ECDSA P-256 quote by the AK', async (t) => {
  const q = TpmQuoteV1.parse(tpmQuote());
  const attest = bytesOf(q.attest).subarray(2); // TPMS_ATTEST inside the TPM2B
  const ak = bytesOf(q.ak_public);
  const x = ak.subarray(ak.length - 66, ak.length - 34);
  const y = ak.subarray(ak.length - 32);
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(x), y: b64(y) }, format: 'jwk' });
  const sig = bytesOf(q.signature);
  const rs = Buffer.concat([sig.subarray(6, 38), sig.subarray(40, 72)]);
  t.ok(verify('sha256', attest, { key, dsaEncoding: 'ieee-p1363' }, rs), 'AK signature verifies with node:crypto');
});

void t.test('the orchestrator verifier accepts the sample: nonce binding, PCR digest, AK under the EK', async (t) => {
  const q = TpmQuoteV1.parse(tpmQuote());
  const selection = { bank: q.pcr_selection.bank, pcrs: q.pcr_selection.pcrs };
  const verified = verifyQuote(
    {
      attest: bytesOf(q.attest),
      signature: bytesOf(q.signature),
      akPublic: bytesOf(q.ak_public),
      pcrSelection: selection,
      pcrValues: q.pcr_values.map((v) => Buffer.from(v, 'hex')),
    },
    {
      qualifyingData: quoteQualifyingData(ORCHESTRATOR_NONCE, SIGNERS.machine.publicKey, ACTIVATED_SECRET),
      pcrSelection: selection,
      ekPublic: parseTpm2bPublic(bytesOf(q.ek_public as string)),
    },
  );
  t.same(verified.attest.pcrSelection, [{ hashAlg: 0x000b, pcrs: q.pcr_selection.pcrs }]);
});

void t.test('real swtpm quotes (test/vectors/tpm) fit the wire form', async (t) => {
  const algs: Record<string, TpmSignatureAlg> = { ecc: 'ecdsa-p256-sha256', rsa: 'rsassa-sha256' };
  for (const [name, alg] of Object.entries(algs)) {
    const url = new URL(`../../../../test/vectors/tpm/swtpm-quote-${name}-ak.json`, import.meta.url);
    const v = JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
    const bin = (k: string): Buffer => Buffer.from(v[k] as string, 'base64');
    const tpmsAttest = bin('attest');
    const wire = {
      attest: b64(Buffer.concat([Buffer.from([tpmsAttest.length >> 8, tpmsAttest.length & 0xff]), tpmsAttest])),
      signature: b64(bin('signature')),
      signature_alg: alg,
      pcr_selection: v.pcr_selection,
      pcr_values: v.pcr_values,
      ak_public: b64(bin('ak_public')),
      ek_certificate: b64(bin('ek_certificate')),
      ek_public: b64(bin('ek_public')),
    };
    t.same(TpmQuoteV1.parse(wire), wire, `swtpm ${name} AK quote parses`);
    t.same(TpmQuoteV1.decode(TpmQuoteV1.encode(TpmQuoteV1.parse(wire))), wire, `swtpm ${name} AK quote round-trips`);
    refuses(t, () => TpmQuoteV1.parse({ ...wire, signature_alg: name === 'ecc' ? 'rsassa-sha256' : 'ecdsa-p256-sha256' }), { path: '$.signature' });
  }
});

void t.test('attest must be a TPM-generated quote in a TPM2B', async (t) => {
  const q = tpmQuote();
  refuses(t, () => TpmQuoteV1.parse({ ...q, attest: patched(q.attest, 0, [0, 1]) }), {
    path: '$.attest',
    reason: 'TPM2B_ATTEST size prefix does not match its length',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, attest: patched(q.attest, 2, [0xff, 0x54, 0x43, 0x48]) }), {
    path: '$.attest',
    reason: 'not TPM-generated (magic is not 0xff544347)',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, attest: patched(q.attest, 6, [0x80, 0x17]) }), {
    path: '$.attest',
    reason: 'not a quote (type 0x8017, expected 0x8018)',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, attest: b64(bytesOf(q.attest).subarray(2)) }), {
    path: '$.attest',
    reason: 'expected TPM2B_ATTEST (size-prefixed), got a bare TPMS_ATTEST',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, attest: b64(Uint8Array.of(0, 4, 1, 2, 3)) }), { path: '$.attest', reason: 'shorter than 8 bytes' });
  refuses(t, () => TpmQuoteV1.parse({ ...q, attest: 'A'.repeat(2734) }), { path: '$.attest', reason: 'longer than 2048 bytes' });
});

void t.test('the signature header agrees with signature_alg', async (t) => {
  const q = tpmQuote();
  refuses(t, () => TpmQuoteV1.parse({ ...q, signature_alg: 'rsassa-sha256' }), {
    path: '$.signature',
    reason: 'sigAlg 0x0018 does not match rsassa-sha256',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, signature: patched(q.signature, 2, [0, 0x0c]) }), {
    path: '$.signature',
    reason: 'hash 0x000c is not sha256',
  });
  const rsa = b64(Buffer.concat([Buffer.from([0, 0x14, 0, 0x0b, 1, 0]), Buffer.alloc(256, 7)]));
  t.equal(TpmQuoteV1.parse({ ...q, signature: rsa, signature_alg: 'rsassa-sha256' }).signature, rsa, 'an RSASSA header fits rsassa-sha256');
  refuses(t, () => TpmQuoteV1.parse({ ...q, signature_alg: 'ecdsa-p384-sha384' }), { path: '$.signature_alg' });
});

void t.test('PCR selection: sorted unique indices 0–23, one value of the bank size each', async (t) => {
  const q = tpmQuote();
  const sel = (pcrs: number[], bank = 'sha256'): unknown => ({ ...q, pcr_selection: { bank, pcrs }, pcr_values: q.pcr_values.slice(0, pcrs.length) });
  t.ok(TpmQuoteV1.parse(sel([0, 7, 23, 4, 5].slice(0, 3))), '0, 7, 23');
  refuses(t, () => TpmQuoteV1.parse(sel([0, 0])), { path: '$.pcr_selection.pcrs[1]', reason: 'PCR indices must be strictly ascending' });
  refuses(t, () => TpmQuoteV1.parse(sel([3, 1])), { path: '$.pcr_selection.pcrs[1]', reason: 'PCR indices must be strictly ascending' });
  refuses(t, () => TpmQuoteV1.parse(sel([24])), { path: '$.pcr_selection.pcrs[0]', reason: 'integer above maximum 23' });
  refuses(t, () => TpmQuoteV1.parse(sel([-1])), { path: '$.pcr_selection.pcrs[0]', reason: 'integer below minimum 0' });
  refuses(t, () => TpmQuoteV1.parse(sel([])), { path: '$.pcr_selection.pcrs', reason: 'array shorter than 1' });
  refuses(t, () => TpmQuoteV1.parse(sel([0], 'sm3_256')), { path: '$.pcr_selection.bank', reason: 'expected one of sha1, sha256, sha384' });
  refuses(t, () => TpmQuoteV1.parse({ ...q, pcr_values: q.pcr_values.slice(1) }), {
    path: '$.pcr_values',
    reason: 'expected 5 values, one per selected PCR',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, pcr_selection: { ...q.pcr_selection, bank: 'sha1' } }), {
    path: '$.pcr_values[0]',
    reason: 'expected 40 hex digits for a sha1 bank',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, pcr_values: q.pcr_values.map((v) => v.toUpperCase()) }), {
    path: '$.pcr_values[0]',
    reason: 'expected lowercase hex PCR digest',
  });
  const sha1 = { ...q, pcr_selection: { bank: 'sha1', pcrs: [0] }, pcr_values: ['ab'.repeat(20)] };
  t.same(TpmQuoteV1.parse(sha1).pcr_values, ['ab'.repeat(20)], 'a sha1 bank takes 40 hex digits');
});

void t.test('EK: a certificate or a public area, properly framed', async (t) => {
  const q = tpmQuote();
  const { ek_public: ekPublic, ...noEk } = q;
  refuses(t, () => TpmQuoteV1.parse(noEk), { path: '$.ek_certificate', reason: 'one of ek_certificate or ek_public is required' });
  // DER framing only (SEQUENCE with a long-form length), not a real certificate.
  const der = Buffer.concat([Buffer.from([0x30, 0x81, 0x90]), Buffer.alloc(0x90, 2)]);
  t.ok(TpmQuoteV1.parse({ ...noEk, ek_certificate: b64(der) }), 'a DER SEQUENCE alone is enough');
  t.ok(TpmQuoteV1.parse({ ...q, ek_certificate: b64(der) }), 'both may be given');
  refuses(t, () => TpmQuoteV1.parse({ ...noEk, ek_certificate: b64(Buffer.concat([der, Buffer.alloc(5)])) }), {
    path: '$.ek_certificate',
    reason: 'DER length 147 does not match 152 bytes',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...noEk, ek_certificate: b64(Buffer.from([0x31, 0x00])) }), { path: '$.ek_certificate', reason: 'not a DER SEQUENCE' });
  refuses(t, () => TpmQuoteV1.parse({ ...noEk, ek_certificate: b64(Buffer.from([0x30, 0x80, 0x00, 0x00])) }), {
    path: '$.ek_certificate',
    reason: 'unsupported DER length',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, ek_public: patched(ekPublic as string, 0, [0x7f]) }), {
    path: '$.ek_public',
    reason: 'TPM2B_PUBLIC size prefix does not match its length',
  });
  refuses(t, () => TpmQuoteV1.parse({ ...q, ak_public: patched(q.ak_public, 1, [0]) }), {
    path: '$.ak_public',
    reason: 'TPM2B_PUBLIC size prefix does not match its length',
  });
});
