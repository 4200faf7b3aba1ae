/**
 * Admission on the wire: hellos carrying a hashcash or a VDF proof, checked
 * by the cell half behind a real nats-server, refusals sealed as RefusalV1. The
 * kind the policy asks for is accepted; the other kind is refused with a
 * typed, signed RefusalV1 that names the field ($.admission.kind) and says
 * what the cell requires now (admission_required) — which is enough for the
 * agent half to solve again and get in.
 */
import t from 'tap';
import { solveAdmission } from '../../bus-schemas/admission/proof.js';
import type { AdmissionRequirement } from '../../bus-schemas/admission/requirement.js';
import { admissionRequiredIn, checkAdmissionCaps, makeHello } from '../../bus-schemas/bootstrap/agent-side.js';
import { BootstrapError } from '../../bus-schemas/bootstrap/bootstrap-error.js';
import { checkHello, makeChallenge } from '../../bus-schemas/bootstrap/cell-side.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { BootstrapChallengeV1 } from '../../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../../bus-schemas/v1/bootstrap-hello.js';
import { RefusalV1, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { busFixture } from '../bus/bus-fixture.js';
import { basePolicy, helloBody, keyOf, makeAuthority, newSigner } from '../bootstrap/fixtures.js';
import { refuses } from '../helpers/refuses.js';

const NOW = 1_700_000_000_000;
const HASHCASH: AdmissionRequirement = { kind: 'hashcash', epoch: 472_222, difficulty: 6 };
const VDF: AdmissionRequirement = { kind: 'vdf', epoch: 472_222, iterations: 600 };
const auth = makeAuthority(NOW);
const policy = basePolicy();

function hello(required: AdmissionRequirement, machine = newSigner()): BootstrapHelloV1 {
  return makeHello(machine, helloBody(), { now: NOW, admission: required });
}

void t.test('the proof kinds on the wire: shapes, the old hashcash shape, bounded fields', async (t) => {
  const h = hello(HASHCASH);
  t.same(Object.keys(h.admission).sort(), ['counter', 'difficulty', 'epoch'], 'hashcash goes out in the original V1 shape, without kind');
  const v = hello(VDF);
  t.match(v.admission, { kind: 'vdf', epoch: VDF.epoch, iterations: 600 });
  t.equal(BootstrapHelloV1.decode(BootstrapHelloV1.encode(v)).admission.kind, 'vdf');
  const withKind = { ...h.admission, kind: 'hashcash' };
  t.same(BootstrapHelloV1.schema.parseAt({ ...h, admission: withKind }, '$').admission, withKind, 'an explicit kind: hashcash is valid too');
  const bad = (admission: unknown, path: string, reason: RegExp | string): void => {
    refuses(t, () => BootstrapHelloV1.parse({ ...v, admission }), { code: 'HOLON_E_MALFORMED', path, reason }, path);
  };
  bad({ ...v.admission, kind: 'argon2' }, '$.admission.kind', 'expected one of hashcash, vdf');
  bad({ ...v.admission, y: v.admission.kind === 'vdf' ? v.admission.y.slice(4) : '' }, '$.admission.y', /shorter than 256 bytes/);
  bad({ ...v.admission, pi: 'A'.repeat(400) }, '$.admission.pi', /longer than/);
  bad({ ...v.admission, iterations: 2 ** 29 }, '$.admission.iterations', /above maximum/);
  bad({ ...v.admission, counter: 1 }, '$.admission.counter', 'unknown field');
  bad({ ...h.admission, y: 'AA' }, '$.admission.y', 'unknown field');
});

void t.test('the cell half: the asked-for kind passes, the other is refused naming the field and the requirement', async (t) => {
  const asVdf = BootstrapHelloV1.decode(BootstrapHelloV1.encode(hello(VDF)));
  const asHashcash = BootstrapHelloV1.decode(BootstrapHelloV1.encode(hello(HASHCASH)));
  t.equal(checkHello(asVdf, policy, { now: NOW, admission: VDF }).softwareOnly, true, 'VDF policy, VDF proof: accepted');
  t.equal(checkHello(asHashcash, policy, { now: NOW, admission: HASHCASH }).softwareOnly, true, 'hashcash policy, hashcash proof: accepted');
  refuses(t, () => checkHello(asVdf, policy, { now: NOW, admission: HASHCASH }), {
    code: 'HOLON_E_BOOT_ADMISSION',
    path: '$.admission.kind',
    reason: 'admission: this cell requires a hashcash proof, the hello carries a vdf proof',
    admissionRequired: HASHCASH,
  });
  refuses(t, () => checkHello(asHashcash, policy, { now: NOW, admission: VDF }), {
    code: 'HOLON_E_BOOT_ADMISSION',
    path: '$.admission.kind',
    reason: 'admission: this cell requires a vdf proof, the hello carries a hashcash proof',
    admissionRequired: VDF,
  });
  refuses(t, () => checkHello(asHashcash, policy, { now: NOW, admission: { ...HASHCASH, difficulty: 30 } }), {
    path: '$.admission.difficulty',
    admissionRequired: { kind: 'hashcash', difficulty: 30 },
  });
  refuses(t, () => checkHello(asVdf, policy, { now: NOW, admission: { ...VDF, iterations: 1200 } }), {
    path: '$.admission.iterations',
    admissionRequired: { kind: 'vdf', iterations: 1200 },
  });
  refuses(t, () => checkHello(asVdf, policy, { now: NOW, admission: { ...VDF, epoch: VDF.epoch + 2 } }), { path: '$.admission.epoch' });
});

void t.test('over a real nats-server: signed typed refusals, and the agent half solving again', async (t) => {
  // The cell side as test/agent/fake-cell.ts runs it: strict decode, the real checks, a sealed RefusalV1 for any refusal.
  const bus = await busFixture(t);
  const cellConn = await bus.connect({ name: 'cell' });
  const agentConn = await bus.connect({ name: 'agent' });
  let required: AdmissionRequirement = VDF;
  cellConn.nc.subscribe(API_SUBJECTS.bootstrapHello, {
    callback: (_e, m) => {
      try {
        const h = BootstrapHelloV1.decode(m.data);
        const facts = checkHello(h, policy, { now: NOW, admission: required });
        m.respond(BootstrapChallengeV1.encode(makeChallenge(h, facts, { signer: auth.cell, certificate: auth.certificate }, policy, { now: NOW }).challenge));
      } catch (e) {
        m.respond(RefusalV1.encode(sealRefusal(e, { signer: auth.cell, at: { unix_ms: NOW, source: 'SYSTEM' } })));
      }
    },
  });
  await cellConn.nc.flush();
  /** Send a hello; the reply bytes decoded as a challenge, or the verified refusal and the raw bytes. */
  const send = async (h: BootstrapHelloV1 | Record<string, unknown>): Promise<{ challenge?: BootstrapChallengeV1; refusal?: RefusalV1; bytes: Uint8Array }> => {
    const m = await agentConn.nc.request(API_SUBJECTS.bootstrapHello, new TextEncoder().encode(JSON.stringify(h)), { timeout: 10_000 });
    const json = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
    if ('refuser_seal' in json) {
      const refusal = RefusalV1.decode(m.data);
      RefusalV1.verify(refusal, keyOf(auth.cell));
      return { refusal, bytes: m.data };
    }
    return { challenge: BootstrapChallengeV1.decode(m.data), bytes: m.data };
  };

  const ok = await send(hello(VDF));
  t.equal(ok.challenge?.cell_certificate.principal_key, keyOf(auth.principal), 'VDF policy: a VDF hello gets its challenge');

  const machine = newSigner();
  const refused = await send(hello(HASHCASH, machine));
  t.match(refused.refusal, { code: 'HOLON_E_BOOT_ADMISSION', path: '$.admission.kind', admission_required: VDF }, 'VDF policy, hashcash hello: a signed refusal naming the field');

  // What the agent half does with the reply bytes: read the requirement, check its caps, solve, retry.
  const wanted = admissionRequiredIn(refused.bytes);
  t.same(wanted, VDF);
  checkAdmissionCaps(wanted as AdmissionRequirement, { maxDifficulty: 20, maxVdfIterations: 2000 });
  refuses(t, () => checkAdmissionCaps(wanted as AdmissionRequirement, { maxDifficulty: 20, maxVdfIterations: 599 }), {
    code: 'HOLON_E_BOOT_ADMISSION',
    reason: /at most 599 squarings \(admission_max_vdf_iterations\)/,
  });
  const again = await send(makeHello(machine, helloBody(), { now: NOW, admission: wanted as AdmissionRequirement }));
  t.equal(again.challenge?.machine_id, encodeId('key', machine.publicKey), 'solved again as asked: admitted');

  required = HASHCASH;
  t.match((await send(hello(VDF))).refusal, { code: 'HOLON_E_BOOT_ADMISSION', path: '$.admission.kind', admission_required: HASHCASH }, 'hashcash policy, VDF hello: refused');
  t.ok((await send(hello(HASHCASH))).challenge, 'hashcash policy, hashcash hello: admitted');

  required = { ...HASHCASH, difficulty: 9 };
  t.match((await send(hello(HASHCASH))).refusal, { path: '$.admission.difficulty', admission_required: { kind: 'hashcash', difficulty: 9 } }, 'too weak: the refusal names the difficulty now required');

  // A hello whose VDF proof is malformed never reaches the check: the strict decode refuses it, naming the field.
  const mangled = { ...hello(VDF), admission: { kind: 'vdf', epoch: 1, iterations: 600, y: 'AA', pi: 'AA' } };
  t.match((await send(mangled)).refusal, { code: 'HOLON_E_MALFORMED', path: '$.admission.y', reason: /shorter than 256 bytes/ });
});

void t.test('refusal fields: only a valid requirement is carried; other refusals carry none', async (t) => {
  const signer = newSigner();
  const at = { unix_ms: NOW, source: 'SYSTEM' as const };
  const typed = sealRefusal(new BootstrapError('admission', 'too weak', { path: '$.admission.difficulty', admissionRequired: HASHCASH }), { signer, at });
  t.match(typed, { code: 'HOLON_E_BOOT_ADMISSION', path: '$.admission.difficulty', admission_required: HASHCASH });
  t.same(RefusalV1.decode(RefusalV1.encode(typed)).admission_required, HASHCASH, 'survives the canonical encoding');
  t.same(admissionRequiredIn(RefusalV1.encode(typed)), HASHCASH);
  const insane = sealRefusal(new BootstrapError('admission', 'x', { admissionRequired: { kind: 'hashcash', epoch: 1, difficulty: 99 } }), { signer, at });
  t.equal(insane.admission_required, undefined, 'a requirement outside the schema is left out, the refusal still goes out');
  const other = sealRefusal(new BootstrapError('clockSkew', 'late'), { signer, at });
  t.equal(other.admission_required, undefined);
  t.equal(admissionRequiredIn(RefusalV1.encode(other)), undefined, 'not an admission refusal');
  t.equal(admissionRequiredIn(RefusalV1.encode(sealRefusal(new Error('boom'), { signer, at }))), undefined, 'an internal refusal names no requirement');
  t.equal(admissionRequiredIn(new TextEncoder().encode('not json')), undefined);
  const forged = { ...RefusalV1.parse(JSON.parse(new TextDecoder().decode(RefusalV1.encode(typed)))), admission_required: { ...HASHCASH, difficulty: 1 } };
  t.equal(admissionRequiredIn(new TextEncoder().encode(JSON.stringify(forged))), undefined, 'a refusal whose seal does not cover the requirement is ignored');
  t.equal(solveAdmission(encodeId('key', signer.publicKey), HASHCASH).kind, undefined, 'solved hashcash proofs carry no kind');
});
