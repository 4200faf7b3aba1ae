import t from 'tap';
import { ed25519 } from '@noble/curves/ed25519.js';
import { digestOf } from '../../bus-schemas/digest.js';
import { OversizeError, SealError } from '../../bus-schemas/errors.js';
import { decodeId, encodeId, idPublicKey } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed, verifyEd25519 } from '../../bus-schemas/keys.js';
import { makeSeal, sealMessage, verifySealOver } from '../../bus-schemas/seal.js';
import { refuses } from '../helpers/refuses.js';
import { ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';

const budget = {
  compute_cpu_seconds: 3600,
  compute_gpu_seconds: 0,
  storage_bytes: 10_000_000_000,
  network_egress_bytes: 1_000_000_000,
  cost_usd_cents: 500,
  valid_until: { unix_ms: 1_900_000_000_000, source: 'SYSTEM' as const },
  on_exhaustion: 'TEARDOWN' as const,
};

void t.test('ids: prefix, round trip, typo detection', async (t) => {
  const kp = generateEd25519();
  const id = encodeId('holon', kp.publicKey);
  t.match(id, /^holon1[02-9ac-hj-np-z]{58}$/);
  t.same(decodeId(id).publicKey, kp.publicKey);
  t.equal(decodeId(id).kind, 'holon');
  // flip one character: the bech32m checksum catches it
  const i = 20;
  const typo = id.slice(0, i) + (id[i] === 'q' ? 'p' : 'q') + id.slice(i + 1);
  refuses(t, () => decodeId(typo), { code: 'HOLON_E_MALFORMED', reason: 'id checksum or characters invalid (typo?)' });
  refuses(t, () => idPublicKey(id, 'cell'), { reason: 'expected a cell1… id, got holon1…' });
  refuses(t, () => decodeId(id.toUpperCase()), { reason: 'id must be lowercase' });
});

void t.test('node:crypto and @noble/curves agree on Ed25519 both ways', async (t) => {
  const kp = generateEd25519();
  const msg = sealMessage('holonet.v1.Test', { hello: 'world' });
  const nodeSig = signerFromSeed(kp.seed).sign(msg);
  t.ok(ed25519.verify(nodeSig, msg, kp.publicKey), 'noble verifies a node:crypto signature');
  t.same(ed25519.getPublicKey(kp.seed), kp.publicKey, 'same public key from the seed');
  const nobleSig = ed25519.sign(msg, kp.seed);
  t.ok(verifyEd25519(kp.publicKey, msg, nobleSig), 'node:crypto verifies a noble signature');
  const bad = Uint8Array.from(nobleSig);
  bad[0] = (bad[0] ?? 0) ^ 1;
  t.notOk(verifyEd25519(kp.publicKey, msg, bad));
  t.notOk(ed25519.verify(bad, msg, kp.publicKey));
});

void t.test('seals are domain separated and bind the body', async (t) => {
  const kp = generateEd25519();
  const signer = signerFromSeed(kp.seed);
  const seal = makeSeal('holonet.v1.A', budget, signer);
  verifySealOver('holonet.v1.A', budget, seal);
  refuses(t, () => verifySealOver('holonet.v1.B', budget, seal), SealError, 'another domain');
  refuses(t, () => verifySealOver('holonet.v1.A', { ...budget, cost_usd_cents: 501 }, seal), SealError, 'altered body');
  const other = encodeId('key', generateEd25519().publicKey);
  refuses(t, () => verifySealOver('holonet.v1.A', budget, seal, other), { code: 'HOLON_E_BAD_SEAL' });
  refuses(t, () => verifySealOver('holonet.v1.A', budget, { ...seal, alg: 'rsa' as 'ed25519' }), {
    code: 'HOLON_E_BAD_SEAL',
    reason: 'unsupported seal algorithm "rsa"',
  });
  t.equal(JSON.stringify(signer).includes(Buffer.from(kp.seed).toString('base64url')), false, 'seed never serialized');
});

void t.test('wire type: strict parse, size limit, digest', async (t) => {
  t.same(ResourceBudgetV1.parse(budget), budget);
  refuses(t, () => ResourceBudgetV1.parse({ ...budget, extra: 1 }), { path: '$.extra', reason: 'unknown field' });
  refuses(t, () => ResourceBudgetV1.parse({ ...budget, storage_bytes: '10' }), {
    path: '$.storage_bytes',
    reason: 'expected integer, got string',
  });
  refuses(t, () => ResourceBudgetV1.parse({ ...budget, storage_bytes: -1 }), { reason: 'integer below minimum 0' });
  refuses(t, () => ResourceBudgetV1.parse({ ...budget, valid_until: { unix_ms: 1 } }), {
    path: '$.valid_until.source',
    reason: 'required field missing',
  });
  refuses(t, () => ResourceBudgetV1.decode('{'), { path: '$' });
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(budget))]);
  refuses(t, () => ResourceBudgetV1.decode(withBom), { path: '$', reason: /invalid JSON/ }, 'a UTF-8 BOM is refused, not stripped');
  refuses(t, () => ResourceBudgetV1.decode(Buffer.from([0x7b, 0xff, 0x7d])), { path: '$', reason: 'not valid UTF-8' });
  refuses(t, () => ResourceBudgetV1.decode('x'.repeat(4096)), OversizeError);
  refuses(t, () => ResourceBudgetV1.decode('{"__proto__":{"a":1}}'), { path: '$.__proto__', reason: 'unknown field' });
  t.equal(ResourceBudgetV1.digest(budget), digestOf('holonet.v1.ResourceBudget', budget));
  t.equal(ResourceBudgetV1.jsonSchema().additionalProperties, false);
});
