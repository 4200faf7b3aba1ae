/**
 * The whole TPM half of the bilateral bootstrap on a real swtpm, agent side
 * through tpm2-tools (TpmAttestor), orchestrator side in pure TypeScript:
 * EK certificate from NV chains to the swtpm local CA, TS MakeCredential is
 * activated by the TPM, the quote verifies in TS and in tpm2_checkquote,
 * the AK survives a TPM reboot, and nothing is left loaded in the TPM.
 */
import t from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TpmAttestor, TpmError } from '../../adapters/tpm/index.js';
import { checkEkAllowList, checkEkMatchesCertificate, ekHash, verifyEkCertificate } from '../../bus-schemas/tpm/ek-certificate.js';
import { makeCredential, verifyActivatedSecret } from '../../bus-schemas/tpm/make-credential.js';
import { objectName, parseTpm2bPublic } from '../../bus-schemas/tpm/tpm-public.js';
import { quoteQualifyingData, verifyQuote } from '../../bus-schemas/tpm/verify-quote.js';
import { startSwtpm } from '../harness/swtpm.js';
import { refuses, refusesAsync } from '../helpers/refuses.js';
import { checkquote, ekTemplateFor, loadedHandles, tpm2 } from './tpm-fixtures.js';

const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const root = mkdtempSync(join(tmpdir(), 'holonet-tpm-flow-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const anchors = { roots: [tpm.rootCaPem], intermediates: [tpm.intermediateCaPem] };
const selection = { bank: 'sha256' as const, pcrs: [0, 1, 2, 3, 7, 16] };

for (const akAlgorithm of ['ecc', 'rsa'] as const) {
  void t.test(`bootstrap with a ${akAlgorithm.toUpperCase()} AK under the RSA EK`, async (t) => {
    const stateDir = join(root, `state-${akAlgorithm}`);
    const attestor = new TpmAttestor({ stateDir, tcti: tpm.tcti, akAlgorithm });

    // agent → hello
    const id = await attestor.provision();
    t.equal(statSync(stateDir).mode & 0o777, 0o700, 'state dir is 0700');
    t.ok(id.ekCertificate, 'EK certificate read from NV 0x01c00002');

    // orchestrator: EK trust, AK shape, MakeCredential
    const ek = parseTpm2bPublic(id.ekPublic);
    const ak = parseTpm2bPublic(id.akPublic);
    const chain = verifyEkCertificate(id.ekCertificate as Uint8Array, anchors, Date.now());
    t.same(
      chain.chain.map((c) => c.subject),
      ['CN=unknown', 'CN=swtpm-localca', 'CN=swtpm-localca-rootca'],
      'EK cert → swtpm-localca → swtpm-localca-rootca',
    );
    checkEkMatchesCertificate(ek, chain.certificate);
    t.same(id.akName, objectName(ak), 'AK name recomputed in TS');
    t.equal(ak.type, akAlgorithm);
    const secret = randomBytes(32);
    const credential = makeCredential(ek, id.akName, secret);

    // agent: ActivateCredential, then quote over the binding
    const activated = await attestor.activateCredential(credential.idObject, credential.encryptedSecret);
    t.same(activated, secret, 'the TPM recovered the secret wrapped in TypeScript');
    const nb = randomBytes(32);
    const machineKey = randomBytes(32);
    const qualifyingData = quoteQualifyingData(nb, machineKey, activated);
    const quote = await attestor.quote(selection, qualifyingData);

    // orchestrator: activation secret and quote
    verifyActivatedSecret(secret, activated);
    const verified = verifyQuote({ ...quote, akPublic: id.akPublic }, { qualifyingData, pcrSelection: selection, ekPublic: ek });
    t.ok(verified.attest.clockInfo.resetCount >= 1, 'quote verified in TypeScript');
    const ref = await checkquote({ akPublic: id.akPublic, ...quote, qualifyingData });
    t.ok(ref.accepted, `tpm2_checkquote accepts the same quote ${ref.stderr}`);

    // a second quote is later on the TPM clock; the AK is reused, not recreated
    const again = await attestor.provision();
    t.same(again.akPublic, id.akPublic, 'provision() reuses the AK in the state dir');
    const q2 = await attestor.quote(selection, qualifyingData);
    t.ok(verifyQuote({ ...q2, akPublic: id.akPublic }, { qualifyingData, pcrSelection: selection, previousClock: verified.attest.clockInfo }), 'clock moved forward');
    t.same(await loadedHandles(tpm.tcti), [], 'no transient objects or sessions left in the TPM');
  });
}

void t.test('wrong secrets and wrong credentials are refused', async (t) => {
  const attestor = new TpmAttestor({ stateDir: join(root, 'state-refusals'), tcti: tpm.tcti });
  const id = await attestor.provision();
  const ek = parseTpm2bPublic(id.ekPublic);
  const secret = randomBytes(32);
  const cred = makeCredential(ek, id.akName, secret);
  const activated = await attestor.activateCredential(cred.idObject, cred.encryptedSecret);
  refuses(t, () => verifyActivatedSecret(randomBytes(32), activated), { code: 'HOLON_E_TPM_ACTIVATION' }, 'orchestrator refuses a secret it did not issue');

  const otherName = Uint8Array.from(id.akName);
  otherName[5] = (otherName[5] as number) ^ 1;
  const forOtherAk = makeCredential(ek, otherName, secret);
  await refusesAsync(t, () => attestor.activateCredential(forOtherAk.idObject, forOtherAk.encryptedSecret), { code: 'HOLON_E_TPM_TOOL', tool: 'tpm2_activatecredential' }, 'TPM refuses a credential for another AK');

  const softwareEk = ekTemplateFor(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  const forOtherEk = makeCredential(softwareEk, id.akName, secret);
  await refusesAsync(t, () => attestor.activateCredential(forOtherEk.idObject, forOtherEk.encryptedSecret), TpmError, 'TPM refuses a credential for another EK');
  t.same(await loadedHandles(tpm.tcti), [], 'failed activations leave nothing loaded');
});

void t.test('EK trust: wrong CA refused, allow-list by EK hash', async (t) => {
  const attestor = new TpmAttestor({ stateDir: join(root, 'state-ek'), tcti: tpm.tcti });
  const id = await attestor.provision();
  const ek = parseTpm2bPublic(id.ekPublic);
  refuses(t, () => verifyEkCertificate(id.ekCertificate as Uint8Array, { roots: [tpm.rootCaPem] }, Date.now()), { code: 'HOLON_E_TPM_EK_UNTRUSTED' }, 'missing intermediate');
  refuses(t, () => verifyEkCertificate(id.ekCertificate as Uint8Array, { roots: [] }, Date.now()), { code: 'HOLON_E_TPM_EK_UNTRUSTED' });
  t.equal(checkEkAllowList(ek, [ekHash(ek)]), ekHash(ek), 'allow-listed EK hash');
  refuses(t, () => checkEkAllowList(ek, ['sha256:' + '00'.repeat(32)]), { code: 'HOLON_E_TPM_EK_UNTRUSTED' });
});

void t.test('ECC P-256 EK (no certificate in swtpm NV): ECDH+KDFe MakeCredential activates', async (t) => {
  const attestor = new TpmAttestor({ stateDir: join(root, 'state-ecc-ek'), tcti: tpm.tcti, ekAlgorithm: 'ecc' });
  const id = await attestor.provision();
  t.equal(id.ekCertificate, undefined, 'swtpm 0.7.1 writes no P-256 EK certificate at 0x01c0000a');
  const ek = parseTpm2bPublic(id.ekPublic);
  t.equal(ek.type, 'ecc');
  t.equal(checkEkAllowList(ek, [ekHash(ek)]), ekHash(ek), 'trusted through the EK allow-list instead of a chain');
  const secret = randomBytes(32);
  const cred = makeCredential(ek, id.akName, secret);
  t.same(await attestor.activateCredential(cred.idObject, cred.encryptedSecret), secret, 'the TPM recovered the ECC-wrapped secret');
});

void t.test('the AK survives a TPM reboot; clock/reset monotonicity holds across it', async (t) => {
  const attestor = new TpmAttestor({ stateDir: join(root, 'state-reboot'), tcti: tpm.tcti });
  const id = await attestor.provision();
  const nonce = randomBytes(32);
  const expected = { qualifyingData: nonce, pcrSelection: selection };
  const q1 = await attestor.quote(selection, nonce);
  const before = verifyQuote({ ...q1, akPublic: id.akPublic }, expected);
  const savedContext = readFileSync(join(root, 'state-reboot', 'ak.ctx'));
  await tpm.reboot();
  // the saved AK context is void after a TPM reset; the attestor reloads the AK under the EK
  const after = verifyQuote({ ...(await attestor.quote(selection, nonce)), akPublic: id.akPublic }, { ...expected, previousClock: before.attest.clockInfo });
  t.equal(after.attest.clockInfo.resetCount, before.attest.clockInfo.resetCount + 1, 'resetCount +1');
  t.notSame(readFileSync(join(root, 'state-reboot', 'ak.ctx')), savedContext, 'the AK context was re-saved after reloading');
  refuses(t, () => verifyQuote({ ...q1, akPublic: id.akPublic }, { ...expected, previousClock: after.attest.clockInfo }), { code: 'HOLON_E_TPM_CLOCK' }, 'a pre-reboot quote is older than the accepted one');
  const cred = makeCredential(parseTpm2bPublic(id.ekPublic), id.akName, nonce);
  t.same(await attestor.activateCredential(cred.idObject, cred.encryptedSecret), nonce, 'activation after reboot works too');
  t.same(await loadedHandles(tpm.tcti), []);
});

void t.test('repeated bootstraps do not exhaust the TPM', async (t) => {
  const attestor = new TpmAttestor({ stateDir: join(root, 'state-repeat'), tcti: tpm.tcti });
  const id = await attestor.provision();
  const ek = parseTpm2bPublic(id.ekPublic);
  for (let i = 0; i < 6; i++) {
    const secret = randomBytes(32);
    const cred = makeCredential(ek, id.akName, secret);
    const got = await attestor.activateCredential(cred.idObject, cred.encryptedSecret);
    const q = await attestor.quote(selection, got);
    verifyQuote({ ...q, akPublic: id.akPublic }, { qualifyingData: secret, pcrSelection: selection });
  }
  t.same(await loadedHandles(tpm.tcti), [], 'after 6 bootstraps nothing is loaded');
  await tpm2(tpm.tcti, 'tpm2_getcap', ['properties-variable']).then((out) => t.match(out, /TPM2_PT_HR_TRANSIENT_AVAIL/, 'TPM still answers'));
});

void t.test('attestor configuration is validated once, with exact messages', async (t) => {
  refuses(t, () => new TpmAttestor({ stateDir: 'relative/dir' }), { code: 'HOLON_E_TPM_CONFIG', message: 'tpm(tpm2-tools): stateDir: must be an absolute path' });
  refuses(t, () => new TpmAttestor({ stateDir: '/x', akAlgorithm: 'dsa' as 'ecc' }), { code: 'HOLON_E_TPM_CONFIG', tool: 'akAlgorithm' });
  refuses(t, () => new TpmAttestor({ stateDir: '/x', tcti: 'swtpm:host=a b' }), { code: 'HOLON_E_TPM_CONFIG', tool: 'tcti' });
  const missing = new TpmAttestor({ stateDir: join(root, 'state-missing'), tcti: tpm.tcti, binDir: join(root, 'no-such-bin') });
  await refusesAsync(t, () => missing.provision(), { code: 'HOLON_E_TPM_MISSING', message: /install tpm2-tools/ });
  const fresh = new TpmAttestor({ stateDir: join(root, 'state-noak'), tcti: tpm.tcti });
  await refusesAsync(t, () => fresh.quote(selection, randomBytes(8)), { code: 'HOLON_E_TPM_STATE', message: /call provision\(\) first/ });
  await refusesAsync(t, () => fresh.quote({ bank: 'sha256', pcrs: [3, 1] }, randomBytes(8)), { code: 'HOLON_E_TPM_CONFIG' });
});
