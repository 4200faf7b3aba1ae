/**
 * The pure verifier on checked-in swtpm quotes (ECDSA and RSASSA AKs):
 * structures parse to what tpm2-tools printed, a genuine quote verifies,
 * and each kind of wrong input is refused with its own stable code.
 */
import t from 'tap';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { checkAkAttributes } from '../../bus-schemas/tpm/ak-attributes.js';
import { checkClockProgress } from '../../bus-schemas/tpm/clock-info.js';
import { TPMA_OBJECT, TPM_ALG } from '../../bus-schemas/tpm/tpm-algorithms.js';
import { attestBody, parseQuoteAttest } from '../../bus-schemas/tpm/tpm-attest.js';
import { akQualifiedName, objectName, parseTpm2bPublic, parseTpmtPublic, type TpmPublic } from '../../bus-schemas/tpm/tpm-public.js';
import { ecdsaDer, parseTpmtSignature } from '../../bus-schemas/tpm/tpm-signature.js';
import { quoteQualifyingData, verifyQuote, type QuoteEvidence, type QuoteExpectations } from '../../bus-schemas/tpm/verify-quote.js';
import { marshalTpm2b } from '../../bus-schemas/tpm/tpm-reader.js';
import { refuses } from '../helpers/refuses.js';
import { hex, loadQuoteVector, unb64, type QuoteVector } from './tpm-fixtures.js';

const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

function inputs(v: QuoteVector): { evidence: QuoteEvidence; expected: QuoteExpectations; ek: TpmPublic } {
  const ek = parseTpm2bPublic(unb64(v.ek_public));
  return {
    ek,
    evidence: {
      attest: unb64(v.attest),
      signature: unb64(v.signature),
      akPublic: unb64(v.ak_public),
      pcrSelection: v.pcr_selection,
      pcrValues: v.pcr_values.map(fromHex),
    },
    expected: { qualifyingData: fromHex(v.qualifying_data), pcrSelection: v.pcr_selection, ekPublic: ek },
  };
}

/** Replace the TPMT_PUBLIC's objectAttributes (offset 4) — same key, different claims. */
function withAttributes(pub: TpmPublic, attributes: number): TpmPublic {
  const bytes = Uint8Array.from(pub.tpmt);
  new DataView(bytes.buffer).setUint32(4, attributes);
  return parseTpmtPublic(bytes);
}

for (const name of ['swtpm-quote-ecc-ak', 'swtpm-quote-rsa-ak']) {
  const v = loadQuoteVector(name);

  void t.test(`${name}: structures parse as the TPM marshalled them`, async (t) => {
    const { evidence, ek } = inputs(v);
    const ak = parseTpm2bPublic(evidence.akPublic as Uint8Array);
    t.equal(hex(objectName(ak)), v.ak_name, 'AK name = nameAlg ‖ SHA-256(TPMT_PUBLIC), as tpm2_createak wrote it');
    t.equal(ak.type, name.includes('ecc') ? 'ecc' : 'rsa');
    t.equal(ek.type, 'rsa');
    t.equal(ek.symmetric?.keyBits, 128, 'EK symmetric AES-128');
    const a = parseQuoteAttest(evidence.attest);
    t.same(a.extraData, fromHex(v.qualifying_data), 'extraData is the qualifying data');
    t.same(a.pcrSelection, [{ hashAlg: TPM_ALG.SHA256, pcrs: v.pcr_selection.pcrs }], 'selection');
    t.same(a.qualifiedSigner, akQualifiedName(ek, ak), 'qualifiedSigner = QN(AK) under QN(EK) under TPM_RH_ENDORSEMENT');
    t.ok(a.clockInfo.clock > 0n && a.clockInfo.resetCount >= 1, 'clock info');
    t.same(attestBody(marshalTpm2b(evidence.attest)), evidence.attest, 'TPM2B_ATTEST unwraps to the same TPMS_ATTEST');
    const sig = parseTpmtSignature(evidence.signature);
    t.equal(sig.sigAlg, name.includes('ecc') ? TPM_ALG.ECDSA : TPM_ALG.RSASSA);
    t.equal(sig.hashAlg, TPM_ALG.SHA256);
  });

  void t.test(`${name}: a genuine quote verifies; each wrong input has its own code`, async (t) => {
    const { evidence, expected } = inputs(v);
    const ok = verifyQuote(evidence, expected);
    t.equal(hex(ok.akName), v.ak_name);
    t.ok(verifyQuote({ ...evidence, attest: marshalTpm2b(evidence.attest) }, expected), 'TPM2B_ATTEST form (the wire form) verifies too');

    const flipped = Uint8Array.from(evidence.signature);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    refuses(t, () => verifyQuote({ ...evidence, signature: flipped }, expected), { code: 'HOLON_E_TPM_BAD_SIGNATURE' });
    const nonce = Uint8Array.from(expected.qualifyingData);
    nonce[0] = (nonce[0] as number) ^ 1;
    refuses(t, () => verifyQuote(evidence, { ...expected, qualifyingData: nonce }), { code: 'HOLON_E_TPM_NONCE' });
    const values = evidence.pcrValues.map((x) => Uint8Array.from(x));
    (values[0] as Uint8Array)[0] = ((values[0] as Uint8Array)[0] as number) ^ 1;
    refuses(t, () => verifyQuote({ ...evidence, pcrValues: values }, expected), { code: 'HOLON_E_TPM_PCR_MISMATCH' });
    const fewer = { bank: 'sha256' as const, pcrs: v.pcr_selection.pcrs.slice(0, -1) };
    refuses(t, () => verifyQuote({ ...evidence, pcrSelection: fewer, pcrValues: evidence.pcrValues.slice(0, -1) }, { ...expected, pcrSelection: fewer }), {
      code: 'HOLON_E_TPM_PCR_SELECTION',
    });
    refuses(t, () => verifyQuote(evidence, { ...expected, pcrSelection: { bank: 'sha1', pcrs: v.pcr_selection.pcrs } }), { code: 'HOLON_E_TPM_PCR_SELECTION' });
    refuses(t, () => verifyQuote({ ...evidence, pcrValues: evidence.pcrValues.slice(1) }, expected), { code: 'HOLON_E_TPM_MALFORMED', field: 'pcrValues' });

    const golden = Object.fromEntries(v.pcr_selection.pcrs.map((p, i) => [p, [v.pcr_values[i] as string]]));
    t.ok(verifyQuote(evidence, { ...expected, pcrPolicy: { bank: 'sha256', allowed: golden } }), 'golden values match');
    refuses(t, () => verifyQuote(evidence, { ...expected, pcrPolicy: { bank: 'sha256', allowed: { ...golden, 0: ['00'.repeat(31) + '01'] } } }), {
      code: 'HOLON_E_TPM_PCR_POLICY',
      field: 'PCR 0',
    });
    refuses(t, () => verifyQuote(evidence, { ...expected, pcrPolicy: { bank: 'sha256', allowed: { 9: ['00'.repeat(32)] } } }), {
      code: 'HOLON_E_TPM_PCR_POLICY',
      detail: 'required by the policy but not quoted',
    });

    const clock = ok.attest.clockInfo;
    t.ok(verifyQuote(evidence, { ...expected, previousClock: { ...clock, clock: clock.clock - 1n } }), 'later clock accepted');
    refuses(t, () => verifyQuote(evidence, { ...expected, previousClock: { ...clock, clock: clock.clock + 1000n } }), { code: 'HOLON_E_TPM_CLOCK' });
    refuses(t, () => verifyQuote(evidence, { ...expected, previousClock: { ...clock, resetCount: clock.resetCount + 1 } }), { code: 'HOLON_E_TPM_CLOCK' });

    const otherEk = parseTpmtPublic(Uint8Array.from(Buffer.concat([Buffer.from(inputs(v).ek.tpmt.subarray(0, -1)), Buffer.from([1])])));
    refuses(t, () => verifyQuote(evidence, { ...expected, ekPublic: otherEk }), { code: 'HOLON_E_TPM_AK_BINDING' }, 'AK under another EK');

    const ak = parseTpm2bPublic(evidence.akPublic as Uint8Array);
    for (const [bit, label] of [
      [TPMA_OBJECT.restricted, 'restricted'],
      [TPMA_OBJECT.fixedTPM, 'fixedTPM'],
      [TPMA_OBJECT.fixedParent, 'fixedParent'],
      [TPMA_OBJECT.sensitiveDataOrigin, 'sensitiveDataOrigin'],
      [TPMA_OBJECT.sign, 'sign'],
    ] as const) {
      refuses(t, () => verifyQuote({ ...evidence, akPublic: withAttributes(ak, ak.attributes & ~bit) }, { ...expected, ekPublic: undefined }), {
        code: 'HOLON_E_TPM_AK_ATTRIBUTES',
        detail: new RegExp(`lack ${label}`),
      });
    }
    refuses(t, () => checkAkAttributes(withAttributes(ak, ak.attributes | TPMA_OBJECT.decrypt)), { code: 'HOLON_E_TPM_AK_ATTRIBUTES', detail: /allow decrypt/ });
  });
}

void t.test('a non-restricted key can sign a perfect-looking TPMS_ATTEST; only the attribute check stops it', async (t) => {
  const v = loadQuoteVector('swtpm-quote-ecc-ak');
  const { evidence, expected } = inputs(v);
  const real = parseTpm2bPublic(evidence.akPublic as Uint8Array);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  // a software key dressed as an AK: same template, attributes truthfully without `restricted`
  const tpmt = Buffer.concat([
    Buffer.from(real.tpmt.subarray(0, real.tpmt.length - 4 - 64)),
    marshalTpm2b(Buffer.from(jwk.x as string, 'base64url')),
    marshalTpm2b(Buffer.from(jwk.y as string, 'base64url')),
  ]);
  const forgedAk = withAttributes(parseTpmtPublic(tpmt), real.attributes & ~TPMA_OBJECT.restricted);
  const values = evidence.pcrValues.map(() => new Uint8Array(32).fill(0x42));
  const attest = Buffer.from(evidence.attest);
  const digestAt = attest.length - 32;
  createHash('sha256').update(Buffer.concat(values)).digest().copy(attest, digestAt);
  const der = sign('sha256', attest, privateKey);
  // DER → TPMT_SIGNATURE (ECDSA, SHA-256, r, s)
  const rLen = der[3] as number;
  const r = der.subarray(4, 4 + rLen);
  const s = der.subarray(6 + rLen);
  t.same(ecdsaDer(r, s), der, 'ecdsaDer rebuilds the same DER');
  const sig = Buffer.concat([Buffer.from('0018000b', 'hex'), marshalTpm2b(r), marshalTpm2b(s)]);
  refuses(t, () => verifyQuote({ ...evidence, attest, signature: sig, akPublic: forgedAk, pcrValues: values }, { ...expected, ekPublic: undefined }), {
    code: 'HOLON_E_TPM_AK_ATTRIBUTES',
  });
  const restrictedClaim = withAttributes(forgedAk, real.attributes);
  t.ok(verifyQuote({ ...evidence, attest, signature: sig, akPublic: restrictedClaim, pcrValues: values }, { ...expected, ekPublic: undefined }), 'claiming restricted makes the signature pass…');
  refuses(t, () => verifyQuote({ ...evidence, attest, signature: sig, akPublic: restrictedClaim, pcrValues: values }, expected), { code: 'HOLON_E_TPM_AK_BINDING' }, '…but not the qualifiedSigner binding');
  t.notSame(objectName(restrictedClaim), objectName(real), '…and its name differs, so MakeCredential to the real EK would not activate for it');
});

void t.test('clock monotonicity rules', async (t) => {
  const base = { clock: 10_000n, resetCount: 5, restartCount: 2, safe: true };
  checkClockProgress(base, { ...base, clock: 10_001n });
  checkClockProgress(base, { ...base, clock: 10_000n });
  checkClockProgress(base, { ...base, restartCount: 3, clock: 10_500n });
  checkClockProgress(base, { clock: 9_000n, resetCount: 6, restartCount: 0, safe: false });
  refuses(t, () => checkClockProgress(base, { clock: 9_000n, resetCount: 6, restartCount: 0, safe: true }), { code: 'HOLON_E_TPM_CLOCK', detail: /while reported safe/ });
  refuses(t, () => checkClockProgress(base, { ...base, clock: 9_999n, safe: false }), { code: 'HOLON_E_TPM_CLOCK', detail: /within one boot/ });
  refuses(t, () => checkClockProgress(base, { ...base, restartCount: 1, clock: 20_000n }), { code: 'HOLON_E_TPM_CLOCK', detail: /restartCount/ });
  refuses(t, () => checkClockProgress(base, { ...base, resetCount: 4, clock: 20_000n }), { code: 'HOLON_E_TPM_CLOCK', detail: /resetCount/ });
});

void t.test('quoteQualifyingData binds all three parts unambiguously', async (t) => {
  const a = quoteQualifyingData(Buffer.from('ab'), Buffer.from('c'), Buffer.from('d'));
  const b = quoteQualifyingData(Buffer.from('a'), Buffer.from('bc'), Buffer.from('d'));
  t.equal(a.length, 32);
  t.notSame(a, b, 'moving a byte between parts changes the binding');
  t.same(quoteQualifyingData(Buffer.from('ab'), Buffer.from('c'), Buffer.from('d')), a, 'deterministic');
});
