/**
 * Our verifier against the reference, `tpm2_checkquote`, on a corpus of
 * tampered swtpm quotes (ECDSA and RSASSA AKs): bit flips in every region
 * of the attest, in the signature and in the PCR values, a wrong nonce, a
 * wrong selection, a wrong AK, a replayed quote. Both must refuse every
 * case and accept the untouched quote; any disagreement fails the test.
 *
 * Then the cases where we are deliberately stricter than tpm2_checkquote,
 * which does not look at the AK's attributes nor at the quoted PCR
 * selection: each is asserted exactly (ours refuses, it accepts), so a
 * change in either verifier shows up here.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TpmAttestor, type TpmQuote } from '../../adapters/tpm/index.js';
import type { PcrSelection } from '../../bus-schemas/tpm/pcr-policy.js';
import { parseQuoteAttest } from '../../bus-schemas/tpm/tpm-attest.js';
import { TpmVerifyError } from '../../bus-schemas/tpm/tpm-verify-error.js';
import { verifyQuote } from '../../bus-schemas/tpm/verify-quote.js';
import { startSwtpm } from '../harness/swtpm.js';
import { checkquote, tpm2, type CheckquoteInput } from './tpm-fixtures.js';

const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const root = mkdtempSync(join(tmpdir(), 'holonet-tpm-tamper-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

// make PCRs 16 and 23 non-zero so values differ from each other
await tpm2(tpm.tcti, 'tpm2_pcrextend', [`16:sha256=${'ab'.repeat(32)}`]);
await tpm2(tpm.tcti, 'tpm2_pcrextend', [`23:sha256=${'cd'.repeat(32)}`]);

const selection: PcrSelection = { bank: 'sha256', pcrs: [0, 1, 2, 3, 16, 23] };

interface Case {
  name: string;
  input: CheckquoteInput;
  asked: PcrSelection;
}

/** ours: 'accept' or the refusal code; anything but TpmVerifyError is a bug and rethrown. */
function ours(c: Case): string {
  try {
    verifyQuote({ ...c.input, akPublic: c.input.akPublic }, { qualifyingData: c.input.qualifyingData, pcrSelection: c.asked });
    return 'accept';
  } catch (e) {
    if (e instanceof TpmVerifyError) return e.code;
    throw e;
  }
}

const flip = (b: Uint8Array, i: number, mask = 0x01): Uint8Array => {
  const c = Uint8Array.from(b);
  c[i] = (c[i] as number) ^ mask;
  return c;
};

/** Byte offsets of each TPMS_ATTEST field of this quote. */
function attestRegions(attest: Uint8Array): Array<[string, number]> {
  const a = parseQuoteAttest(attest);
  const qs = 6;
  const ed = qs + 2 + a.qualifiedSigner.length;
  const clock = ed + 2 + a.extraData.length;
  const sel = clock + 17 + 8;
  const digest = attest.length - 32;
  return [
    ['magic', 0],
    ['type', 5],
    ['qualifiedSigner size', qs + 1],
    ['qualifiedSigner', qs + 10],
    ['extraData size', ed + 1],
    ['extraData', ed + 5],
    ['clock', clock + 7],
    ['resetCount', clock + 11],
    ['restartCount', clock + 15],
    ['safe', clock + 16],
    ['firmwareVersion', clock + 20],
    ['pcrSelect count', sel + 3],
    ['pcrSelect hash', sel + 5],
    ['pcrSelect sizeofSelect', sel + 6],
    ['pcrSelect bitmap', sel + 7],
    ['pcrDigest size', digest - 1],
    ['pcrDigest', digest + 12],
  ];
}

function corpus(label: string, base: CheckquoteInput, otherAkPublic: Uint8Array, replayed: TpmQuote): Case[] {
  const c = (name: string, patch: Partial<CheckquoteInput>, asked = selection): Case => ({ name: `${label}: ${name}`, input: { ...base, ...patch }, asked });
  const cases: Case[] = [];
  for (const [field, at] of attestRegions(base.attest)) cases.push(c(`attest ${field} bit flipped`, { attest: flip(base.attest, at) }));
  cases.push(c('attest truncated', { attest: base.attest.subarray(0, base.attest.length - 1) }));
  const sig = base.signature;
  for (const at of [7, 20, sig.length - 1]) cases.push(c(`signature byte ${at} flipped`, { signature: flip(sig, at) }));
  cases.push(c('signature of another quote', { signature: replayed.signature }));
  base.pcrValues.forEach((_, k) => cases.push(c(`PCR ${selection.pcrs[k]} value flipped`, { pcrValues: base.pcrValues.map((v, j) => (j === k ? flip(v, 31) : v)) })));
  cases.push(c('PCR values 16 and 23 swapped', { pcrValues: [...base.pcrValues.slice(0, 4), base.pcrValues[5] as Uint8Array, base.pcrValues[4] as Uint8Array] }));
  cases.push(c('wrong nonce', { qualifyingData: flip(base.qualifyingData, 0) }));
  cases.push(c('empty nonce', { qualifyingData: new Uint8Array(0) }));
  const fewer: PcrSelection = { bank: 'sha256', pcrs: [0, 1, 2, 3, 16] };
  cases.push(c('selection asked without PCR 23', { pcrSelection: fewer, pcrValues: base.pcrValues.slice(0, 5) }, fewer));
  const other: PcrSelection = { bank: 'sha256', pcrs: [0, 1, 2, 3, 16, 22] };
  // PCR 22 is untouched (all zero) on this swtpm: an agent claiming it would send that value
  cases.push(c('PCR 22 claimed instead of 23', { pcrSelection: other, pcrValues: [...base.pcrValues.slice(0, 5), new Uint8Array(32)] }, other));
  cases.push(c('wrong AK', { akPublic: otherAkPublic }));
  cases.push(c('replayed quote with an older nonce', { attest: replayed.attest, signature: replayed.signature, pcrValues: replayed.pcrValues }));
  return cases;
}

async function quoteSet(akAlgorithm: 'ecc' | 'rsa'): Promise<{ base: CheckquoteInput; replayed: TpmQuote; attestor: TpmAttestor; stateDir: string }> {
  const stateDir = join(root, `state-${akAlgorithm}`);
  const attestor = new TpmAttestor({ stateDir, tcti: tpm.tcti, akAlgorithm });
  const id = await attestor.provision();
  const replayed = await attestor.quote(selection, randomBytes(32));
  const qualifyingData = randomBytes(32);
  const q = await attestor.quote(selection, qualifyingData);
  return { base: { akPublic: id.akPublic, ...q, qualifyingData }, replayed, attestor, stateDir };
}

const ecc = await quoteSet('ecc');
const rsa = await quoteSet('rsa');

void t.test('tampered-quote corpus: our verifier and tpm2_checkquote agree on every case', async (t) => {
  const cases = [...corpus('ECDSA AK', ecc.base, rsa.base.akPublic, ecc.replayed), ...corpus('RSASSA AK', rsa.base, ecc.base.akPublic, rsa.replayed)];
  for (const control of [ecc.base, rsa.base]) {
    t.equal(ours({ name: 'control', input: control, asked: selection }), 'accept', 'control accepted by us');
    t.ok((await checkquote(control)).accepted, 'control accepted by tpm2_checkquote');
  }
  const disagreements: string[] = [];
  const codes = new Map<string, number>();
  for (const c of cases) {
    const mine = ours(c);
    const theirs = (await checkquote(c.input)).accepted ? 'accept' : 'refuse';
    codes.set(mine, (codes.get(mine) ?? 0) + 1);
    if ((mine === 'accept') !== (theirs === 'accept')) disagreements.push(`${c.name}: ours ${mine}, tpm2_checkquote ${theirs}`);
    else if (mine === 'accept') disagreements.push(`${c.name}: BOTH ACCEPTED a tampered quote`);
  }
  t.same(disagreements, [], `${cases.length} tampered quotes, all refused by both`);
  t.ok(cases.length >= 60, `corpus size ${cases.length}`);
  t.comment(`our refusal codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  for (const code of ['HOLON_E_TPM_BAD_SIGNATURE', 'HOLON_E_TPM_PCR_MISMATCH', 'HOLON_E_TPM_NONCE', 'HOLON_E_TPM_PCR_SELECTION', 'HOLON_E_TPM_MALFORMED']) {
    t.ok(codes.has(code), `the corpus exercises ${code}`);
  }
});

void t.test('stricter than tpm2_checkquote: a substituted PCR selection with equal values', async (t) => {
  // PCRs 0 and 1 and PCRs 2 and 3 are all zero on a fresh swtpm, so their concatenations are equal
  const asked: PcrSelection = { bank: 'sha256', pcrs: [2, 3] };
  const nonce = randomBytes(32);
  const q = await ecc.attestor.quote({ bank: 'sha256', pcrs: [0, 1] }, nonce);
  const input: CheckquoteInput = { akPublic: ecc.base.akPublic, attest: q.attest, signature: q.signature, pcrSelection: asked, pcrValues: q.pcrValues, qualifyingData: nonce };
  t.equal(ours({ name: 'substituted selection', input, asked }), 'HOLON_E_TPM_PCR_SELECTION', 'we refuse: the TPM quoted PCRs 0,1, not 2,3');
  t.ok((await checkquote(input)).accepted, 'tpm2_checkquote 5.4 accepts: it never compares the quoted selection with -l');
});

void t.test('stricter than tpm2_checkquote: a non-restricted TPM key signing a forged attest', async (t) => {
  const dir = mkdtempSync(join(root, 'forge-'));
  const fakeValues = selection.pcrs.map(() => new Uint8Array(32).fill(0x42));
  const forged = Buffer.from(ecc.base.attest);
  createHash('sha256').update(Buffer.concat(fakeValues)).digest().copy(forged, forged.length - 32);
  writeFileSync(join(dir, 'forged.msg'), forged);
  try {
    // a genuine TPM key, but unrestricted: it signs whatever it is given
    await tpm2(tpm.tcti, 'tpm2_createprimary', ['-C', 'o', '-G', 'ecc256:ecdsa-sha256', '-a', 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign', '-c', 'key.ctx'], dir);
    await tpm2(tpm.tcti, 'tpm2_readpublic', ['-c', 'key.ctx', '-o', 'key.pub'], dir);
    await tpm2(tpm.tcti, 'tpm2_sign', ['-c', 'key.ctx', '-g', 'sha256', '-s', 'ecdsa', '-o', 'forged.sig', 'forged.msg'], dir);
    const input: CheckquoteInput = {
      ...ecc.base,
      akPublic: readFileSync(join(dir, 'key.pub')),
      attest: forged,
      signature: readFileSync(join(dir, 'forged.sig')),
      pcrValues: fakeValues,
    };
    t.equal(ours({ name: 'forged', input, asked: selection }), 'HOLON_E_TPM_AK_ATTRIBUTES', 'we refuse: the signing key is not restricted');
    t.ok((await checkquote(input)).accepted, 'tpm2_checkquote accepts the forged PCR values: it does not check key attributes');
    // the real, restricted AK refuses to sign the same forged structure (free the TPM's 3 transient slots first)
    await tpm2(tpm.tcti, 'tpm2_flushcontext', ['-t']);
    const restricted = await tpm2(tpm.tcti, 'tpm2_sign', ['-c', join(ecc.stateDir, 'ak.ctx'), '-g', 'sha256', '-s', 'ecdsa', '-o', 'ak-forged.sig', 'forged.msg'], dir).then(
      () => 'signed',
      () => 'refused',
    );
    t.equal(restricted, 'refused', 'a restricted AK will not sign a TPM_GENERATED_VALUE structure it did not make');
    await tpm2(tpm.tcti, 'tpm2_flushcontext', ['-t']);
    writeFileSync(join(dir, 'plain.msg'), 'not a TPM structure');
    const plain = await tpm2(tpm.tcti, 'tpm2_sign', ['-c', join(ecc.stateDir, 'ak.ctx'), '-g', 'sha256', '-s', 'ecdsa', '-o', 'plain.sig', 'plain.msg'], dir).then(
      () => 'signed',
      () => 'refused',
    );
    t.equal(plain, 'signed', 'control: the same AK signs data that does not start with the magic (hash ticket issued)');
  } finally {
    await tpm2(tpm.tcti, 'tpm2_flushcontext', ['-t']);
    rmSync(dir, { recursive: true, force: true });
  }
});
