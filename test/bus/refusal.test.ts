import t from 'tap';
import { digestRaw } from '../../bus-schemas/digest.js';
import { HolonError, MalformedError, OversizeError, SealError } from '../../bus-schemas/errors.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { RefusalV1, RefusedError, refusalFieldsFor, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { refuses } from '../helpers/refuses.js';

const signer = signerFromSeed(generateEd25519().seed);
const key = encodeId('key', signer.publicKey);

void t.test('refusal fields: typed errors keep code, path and reason; anything else is generic', async (t) => {
  t.same(refusalFieldsFor(new MalformedError('$.grants[2]', 'unknown field')), {
    code: 'HOLON_E_MALFORMED',
    message: '$.grants[2]: unknown field',
    path: '$.grants[2]',
    reason: 'unknown field',
  });
  t.same(refusalFieldsFor(new SealError('bad')), { code: 'HOLON_E_BAD_SEAL', message: 'seal: bad', reason: 'bad' });
  t.match(refusalFieldsFor(new OversizeError('X', 10, 5)), { code: 'HOLON_E_OVERSIZE' });
  const leak = refusalFieldsFor(new Error('password=hunter2 at /etc/secret'));
  t.same(leak, { code: 'HOLON_E_INTERNAL', message: 'internal error; the request was not processed' }, 'no internal text leaks');
  t.equal(refusalFieldsFor(new HolonError('not-a-code', 'x')).code, 'HOLON_E_INTERNAL');
  t.equal(refusalFieldsFor(new HolonError('HOLON_E_X', 'm'.repeat(5000))).message.length, 1024, 'long messages are clipped');
});

void t.test('a sealed refusal verifies, names the request, and becomes a RefusedError', async (t) => {
  const requestDigest = digestRaw(new TextEncoder().encode('{"x":1}'));
  const r = sealRefusal(new MalformedError('$.x', 'expected string, got number'), { signer, at: timeAt(5), requestDigest });
  RefusalV1.verify(RefusalV1.decode(RefusalV1.encode(r)), key);
  t.equal(r.request_digest, requestDigest);
  refuses(t, () => RefusalV1.verify({ ...r, code: 'HOLON_E_OTHER' }), { code: 'HOLON_E_BAD_SEAL' });
  refuses(t, () => RefusalV1.parse({ ...r, code: 'E_NOPE' }), { path: '$.code' });
  const e = new RefusedError(r, 'api.test');
  t.equal(e.code, 'HOLON_E_MALFORMED', 'the remote code is the error code');
  t.equal(e.path, '$.x');
  t.equal(e.refuser, key);
  t.match(e.message, /^api\.test: refused \(HOLON_E_MALFORMED\)/);
});
