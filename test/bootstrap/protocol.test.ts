/**
 * The bilateral bootstrap protocol, both halves, end to end on a real swtpm:
 * agent (tpm2-tools) ↔ cell (pure TypeScript). Then every refusal the issue
 * names, each with its typed code.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TpmAttestor, type TpmIdentity } from '../../adapters/tpm/index.js';
import { makeAttest, makeHello, verifyChallenge } from '../../bus-schemas/bootstrap/agent-side.js';
import { checkAttest, checkHello, makeChallenge, type CellBootstrapPolicy } from '../../bus-schemas/bootstrap/cell-side.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { idPublicKey } from '../../bus-schemas/ids.js';
import { ekHash, marshalTpm2b, parseTpm2bPublic, quoteQualifyingData } from '../../bus-schemas/tpm/index.js';
import { JurisdictionAttestationV1 } from '../../bus-schemas/v1/jurisdiction-attestation.js';
import { BootstrapChallengeV1 } from '../../bus-schemas/v1/bootstrap-challenge.js';
import type { TpmQuoteV1 } from '../../bus-schemas/v1/tpm-quote.js';
import { startSwtpm } from '../harness/swtpm.js';
import { refuses } from '../helpers/refuses.js';
import { ADMISSION, basePolicy, helloBody, keyOf, makeAuthority, newSigner } from './fixtures.js';

const tpm = await startSwtpm();
t.teardown(() => tpm.stop());
const dir = mkdtempSync(join(tmpdir(), 'holonet-boot-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const attestor = new TpmAttestor({ stateDir: join(dir, 'ak'), tcti: tpm.tcti });
const identity: TpmIdentity = await attestor.provision();
const tpmPolicy = (o: Partial<CellBootstrapPolicy> = {}): CellBootstrapPolicy =>
  basePolicy({ tpm: 'required', ekRoots: [tpm.rootCaPem], ekIntermediates: [tpm.intermediateCaPem], ...o });

/** The agent's TPM answer to a challenge: activate, then quote over the binding. */
async function answer(challenge: BootstrapChallengeV1, machineKey: Uint8Array, secretOverride?: Uint8Array): Promise<TpmQuoteV1> {
  const cred = challenge.credential;
  if (!cred) throw new Error('no credential in challenge');
  const secret =
    secretOverride ??
    (await attestor.activateCredential(Buffer.from(cred.id_object, 'base64url'), Buffer.from(cred.encrypted_secret, 'base64url')));
  const sel = challenge.pcr_selection ?? { bank: 'sha256' as const, pcrs: [0] };
  const q = await attestor.quote(sel, quoteQualifyingData(Buffer.from(challenge.cell_nonce, 'base64url'), machineKey, secret));
  return {
    attest: Buffer.from(marshalTpm2b(q.attest)).toString('base64url'),
    signature: Buffer.from(q.signature).toString('base64url'),
    signature_alg: 'ecdsa-p256-sha256',
    pcr_selection: { bank: q.pcrSelection.bank as 'sha256', pcrs: [...q.pcrSelection.pcrs] },
    pcr_values: q.pcrValues.map((v) => Buffer.from(v).toString('hex')),
    ak_public: Buffer.from(identity.akPublic).toString('base64url'),
    ek_public: Buffer.from(identity.ekPublic).toString('base64url'),
  };
}

async function fullBootstrap(policy: CellBootstrapPolicy, opts: { secret?: Uint8Array; now?: number } = {}) {
  const now = opts.now ?? Date.now();
  const auth = makeAuthority(now);
  const machine = newSigner();
  const hello = makeHello(machine, helloBody(identity), { now, admission: ADMISSION });
  const facts = checkHello(hello, policy, { now, admission: ADMISSION });
  const { challenge, session } = makeChallenge(hello, facts, { signer: auth.cell, certificate: auth.certificate }, policy, { now });
  verifyChallenge(challenge, { pinnedRoots: [keyOf(auth.principal)], hello, now });
  const quote = await answer(challenge, machine.publicKey, opts.secret);
  const attest = makeAttest(machine, challenge, { quote, now });
  return { now, auth, machine, hello, facts, challenge, session, quote, attest };
}

const noneSeen = (): boolean => false;

void t.test('a full bootstrap on swtpm: EK certified by the swtpm CA, AK activated, quote bound', async (t) => {
  const policy = tpmPolicy();
  const b = await fullBootstrap(policy);
  t.equal(b.facts.ekTrustedBy, 'certificate');
  t.equal(b.facts.softwareOnly, false);
  const out = checkAttest(b.attest, b.session, b.facts, policy, { now: b.now, seenQuote: noneSeen });
  t.equal(out.softwareOnly, false);
  t.match(out.quoteDigest, /^sha256:[0-9a-f]{64}$/);
  t.ok(out.clock, 'the quote clock is kept for monotonicity checks');

  // The same quote presented again (another bootstrap, same bytes): refused as a replay.
  const seen = new Set<CasDigest>([out.quoteDigest as CasDigest]);
  refuses(t, () => checkAttest(b.attest, b.session, b.facts, policy, { now: b.now, seenQuote: (d) => seen.has(d) }), {
    code: 'HOLON_E_BOOT_QUOTE_REPLAY',
  });
});

void t.test('the agent refuses a cell that cannot prove its authority', async (t) => {
  const now = Date.now();
  const auth = makeAuthority(now);
  const foreign = makeAuthority(now); // a real cell, but of another principal
  const machine = newSigner();
  const hello = makeHello(machine, helloBody(), { now, admission: ADMISSION });
  const policy = basePolicy();
  const facts = checkHello(hello, policy, { now, admission: ADMISSION });
  const pinned = [keyOf(auth.principal)];

  const fromForeign = makeChallenge(hello, facts, { signer: foreign.cell, certificate: foreign.certificate }, policy, { now }).challenge;
  refuses(t, () => verifyChallenge(fromForeign, { pinnedRoots: pinned, hello, now }), {
    code: 'HOLON_E_BOOT_UNTRUSTED_CELL',
    reason: /not a pinned principal root/,
  });

  // A cell that presents our principal's certificate but signs with its own key.
  const impostor = makeChallenge(hello, facts, { signer: foreign.cell, certificate: auth.certificate }, policy, { now }).challenge;
  refuses(t, () => verifyChallenge(impostor, { pinnedRoots: pinned, hello, now }), {
    code: 'HOLON_E_BOOT_BAD_CHALLENGE',
    reason: 'challenge is not sealed by the certified cell key',
  });
  // Off the wire it does not even parse.
  refuses(t, () => BootstrapChallengeV1.decode(BootstrapChallengeV1.encode(impostor)), { code: 'HOLON_E_MALFORMED', path: '$.cell_seal.key' });

  // A forged certificate: our principal's key named, sealed by someone else.
  const forgedCert = { ...auth.certificate, principal_seal: { ...foreign.certificate.principal_seal, key: auth.certificate.principal_key } };
  const forged = makeChallenge(hello, facts, { signer: auth.cell, certificate: forgedCert }, policy, { now }).challenge;
  refuses(t, () => verifyChallenge(forged, { pinnedRoots: pinned, hello, now }), {
    code: 'HOLON_E_BOOT_UNTRUSTED_CELL',
    reason: 'cell certificate seal does not verify',
  });

  // A genuine challenge, but for another hello (another nonce): the seal does not cover our Na.
  const otherHello = makeHello(machine, helloBody(), { now, admission: ADMISSION });
  const forOther = makeChallenge(otherHello, facts, { signer: auth.cell, certificate: auth.certificate }, policy, { now }).challenge;
  refuses(t, () => verifyChallenge(forOther, { pinnedRoots: pinned, hello, now }), {
    code: 'HOLON_E_BOOT_BAD_CHALLENGE',
    reason: 'challenge does not cover our nonce',
  });
  const good = makeChallenge(hello, facts, { signer: auth.cell, certificate: auth.certificate }, policy, { now }).challenge;
  verifyChallenge(good, { pinnedRoots: pinned, hello, now });
  refuses(t, () => verifyChallenge(good, { pinnedRoots: pinned, hello, now: good.expires_at + 1 }), {
    reason: 'challenge has expired',
  });
});

void t.test('each cell-side refusal has its typed code', async (t) => {
  const now = Date.now();

  // TPM missing where policy requires one.
  const plain = makeHello(newSigner(), helloBody(), { now, admission: ADMISSION });
  refuses(t, () => checkHello(plain, tpmPolicy(), { now, admission: ADMISSION }), { code: 'HOLON_E_BOOT_TPM_REQUIRED' });
  // Software-only where optional: accepted and marked.
  t.equal(checkHello(plain, basePolicy(), { now, admission: ADMISSION }).softwareOnly, true);

  // Admission proof too weak for the current difficulty.
  refuses(t, () => checkHello(plain, basePolicy(), { now, admission: { epoch: 7, difficulty: 30 } }), { code: 'HOLON_E_BOOT_ADMISSION' });
  // Clock far off.
  refuses(t, () => checkHello(plain, basePolicy(), { now: now + 3_600_000, admission: ADMISSION }), { code: 'HOLON_E_BOOT_CLOCK_SKEW' });

  // EK neither certified by a trusted CA nor allow-listed.
  const tpmHello = makeHello(newSigner(), helloBody(identity), { now, admission: ADMISSION });
  refuses(t, () => checkHello(tpmHello, tpmPolicy({ ekRoots: [], ekIntermediates: [] }), { now, admission: ADMISSION }), {
    code: 'HOLON_E_BOOT_EK_UNTRUSTED',
  });
  // …but allow-listed by hash it is accepted.
  const hash = ekHash(parseTpm2bPublic(identity.ekPublic));
  const listed = checkHello(tpmHello, tpmPolicy({ ekRoots: [], ekIntermediates: [], ekAllowList: [hash] }), { now, admission: ADMISSION });
  t.equal(listed.ekTrustedBy, 'allow-list');

  // An AK with the wrong attributes (the EK itself: a decrypt key, not a restricted signer).
  const badAk = makeHello(newSigner(), helloBody({ ...identity, akPublic: identity.ekPublic }), { now, admission: ADMISSION });
  refuses(t, () => checkHello(badAk, tpmPolicy(), { now, admission: ADMISSION }), { code: 'HOLON_E_BOOT_AK_ATTRIBUTES' });
});

void t.test('attestation refusals: secret, PCRs, selection, nonces, seal', async (t) => {
  // Wrong activation secret: the quote is not bound to this challenge.
  const wrong = await fullBootstrap(tpmPolicy(), { secret: randomBytes(32) });
  refuses(t, () => checkAttest(wrong.attest, wrong.session, wrong.facts, tpmPolicy(), { now: wrong.now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_ACTIVATION',
  });

  // PCR values off policy (golden value for PCR 0 that the swtpm does not have).
  const offPolicy = tpmPolicy({ pcrPolicy: { bank: 'sha256', allowed: { 0: ['11'.repeat(32)] } } });
  const b = await fullBootstrap(offPolicy);
  refuses(t, () => checkAttest(b.attest, b.session, b.facts, offPolicy, { now: b.now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_PCR_POLICY',
  });
  // The same quote passes a policy that has the real values.
  const golden = Object.fromEntries(b.quote.pcr_selection.pcrs.map((p, i) => [p, [b.quote.pcr_values[i] as string]]));
  const onPolicy = tpmPolicy({ pcrPolicy: { bank: 'sha256', allowed: golden } });
  checkAttest(b.attest, b.session, b.facts, onPolicy, { now: b.now, seenQuote: noneSeen });

  // A quote over other PCRs than the challenge asked for.
  const policy = tpmPolicy();
  const c = await fullBootstrap(policy);
  const otherSel = { ...c.challenge, pcr_selection: { bank: 'sha256' as const, pcrs: [4, 5] } };
  const otherQuote = await answer(otherSel, c.machine.publicKey);
  const otherAttest = makeAttest(c.machine, c.challenge, { quote: otherQuote, now: c.now });
  refuses(t, () => checkAttest(otherAttest, c.session, c.facts, policy, { now: c.now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_PCR_SELECTION',
  });

  // Stale: the challenge expired before the answer came.
  refuses(t, () => checkAttest(c.attest, c.session, c.facts, policy, { now: c.session.expiresAt + 1, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_NONCE_STALE',
  });
  // Replayed into another bootstrap: an answer to one challenge presented to another session.
  const d = await fullBootstrap(policy);
  refuses(t, () => checkAttest(c.attest, d.session, c.facts, policy, { now: c.now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_BAD_SEAL',
  });
  refuses(t, () => checkAttest(c.attest, { ...c.session, cellNonce: d.session.cellNonce }, c.facts, policy, { now: c.now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_NONCE_REPLAY',
  });
  // An altered attestation no longer carries the machine's seal.
  const altered = { ...c.attest, sent_at: { ...c.attest.sent_at, unix_ms: c.attest.sent_at.unix_ms + 1 } };
  refuses(t, () => checkAttest(altered, c.session, c.facts, policy, { now: c.now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_BAD_SEAL',
  });
  t.same(idPublicKey(c.session.machineId, 'key'), c.machine.publicKey);
});

void t.test('jurisdiction: unregistered provider and deny-listed codes are refused', async (t) => {
  const now = Date.now();
  const auth = makeAuthority(now);
  const machine = newSigner();
  const provider = newSigner();
  const policy = basePolicy({ trustedProviders: [keyOf(provider)], deniedJurisdictions: ['RU', 'KP'] });
  const hello = makeHello(machine, helloBody(), { now, admission: ADMISSION });
  const facts = checkHello(hello, policy, { now, admission: ADMISSION });
  const { challenge, session } = makeChallenge(hello, facts, { signer: auth.cell, certificate: auth.certificate }, policy, { now });
  const attestFor = (code: string, by = provider) =>
    makeAttest(machine, challenge, {
      now,
      jurisdiction: JurisdictionAttestationV1.seal(
        { provider_key: keyOf(by), machine_id: keyOf(machine), jurisdiction: code, site: 'fsn1-dc14', not_before: now - 1000, not_after: now + 1000 },
        by,
      ),
    });
  t.equal(checkAttest(attestFor('DE'), session, facts, policy, { now, seenQuote: noneSeen }).jurisdiction, 'DE');
  refuses(t, () => checkAttest(attestFor('KP'), session, facts, policy, { now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_JURISDICTION',
    reason: 'jurisdiction KP is deny-listed',
  });
  refuses(t, () => checkAttest(attestFor('DE', newSigner()), session, facts, policy, { now, seenQuote: noneSeen }), {
    code: 'HOLON_E_BOOT_JURISDICTION',
    reason: /is not a registered provider/,
  });
});
