import t from 'tap';
import { delegate, DelegationV1, verifyLink, type CapabilityError } from '../../bus-schemas/capability/index.js';
import { MalformedError, SealError } from '../../bus-schemas/errors.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { CAP_FIELDS } from '../../bus-schemas/v1/capability-manifest.js';
import { refuses } from '../helpers/refuses.js';
import { DAY, grant, narrowed, party, T0 } from './chain-fixtures.js';

const principal = party();
const cell = party();
const holon = party();
const rootManifest = { grants: [grant({ action: '/provision', resource: 'holon.>', max_depth: 3 }), grant({ action: '/bus', max_depth: 0 })] };
const root = delegate(null, principal.signer, cell.key, rootManifest, T0);
/** A valid child manifest: the /provision grant one level deeper. */
const next = narrowed({ grants: rootManifest.grants.slice(0, 1) });

void t.test('delegate builds sealed links that name their parent by digest', async (t) => {
  t.equal(root.parent, null);
  t.equal(root.issuer, principal.key);
  t.equal(root.subject, cell.key);
  t.equal(root.issuer_seal.key, principal.key);
  t.strictSame(root.issued_at, { unix_ms: T0, source: 'SYSTEM' });
  DelegationV1.verify(root, principal.key);

  const child = delegate(root, cell.signer, holon.key, { grants: [grant({ action: '/provision/BUILD_WORKER', resource: 'holon.h.>', max_depth: 2 })] }, T0 + 1);
  t.equal(child.parent, DelegationV1.digest(root));
  t.equal(child.issuer, cell.key);
  t.match(child.parent, /^sha256:[0-9a-f]{64}$/);

  // the wire form round-trips exactly and is strict
  t.strictSame(DelegationV1.decode(DelegationV1.encode(child)), child);
  t.equal(DelegationV1.digest(DelegationV1.decode(DelegationV1.encode(child))), DelegationV1.digest(child));
  refuses(t, () => DelegationV1.parse({ ...child, depth: 1 }), { path: '$.depth', reason: 'unknown field' });
  refuses(t, () => DelegationV1.parse({ ...child, parent: 'sha256:00' }), { path: '$.parent' });
  refuses(t, () => DelegationV1.parse({ ...child, subject: convertId(holon.key, 'holon') }), {
    path: '$.subject',
    reason: 'expected a hkey1… id, got holon1…',
  });
  t.equal(DelegationV1.jsonSchema().additionalProperties, false);
});

void t.test('holon and cell ids name subjects through convertId', async (t) => {
  const holonId = encodeId('holon', holon.signer.publicKey);
  const link = delegate(root, cell.signer, convertId(holonId, 'key'), next, T0);
  t.equal(link.subject, holon.key);
});

void t.test('delegate refuses anything that is not a strict narrowing', async (t) => {
  const child = rootManifest.grants[0] ?? grant();
  const ok = { ...child, caps: { ...child.caps, max_depth: 2 } };
  delegate(root, cell.signer, holon.key, { grants: [ok] }, T0);

  refuses(t, () => delegate(root, holon.signer, holon.key, { grants: [ok] }, T0), {
    code: 'HOLON_E_CAP_BROKEN_CHAIN',
    kind: 'broken-chain',
    allowed: cell.key,
    requested: holon.key,
  }, 'only the parent link subject may delegate');

  for (const field of CAP_FIELDS) {
    const wide = { ...ok, caps: { ...ok.caps, [field]: field === 'max_depth' ? 3 : ok.caps[field] + 1 } };
    refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [ok, wide] }, T0), {
      code: 'HOLON_E_CAP_AMPLIFICATION',
      kind: 'amplification',
      grantIndex: 1,
      field,
    }, `widening ${field}`);
  }
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [{ ...ok, action: '/provisioning' }] }, T0), { field: 'action' });
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [{ ...ok, resource: 'cell.>' }] }, T0), { field: 'resource' });
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [{ ...ok, not_after: ok.not_after + 1 }] }, T0), {
    field: 'not_after',
  });
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [{ ...ok, not_before: ok.not_before - 1 }] }, T0), {
    field: 'not_before',
  });
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [grant({ action: '/bus/publish', max_depth: 0 })] }, T0), {
    code: 'HOLON_E_CAP_DEPTH_EXHAUSTED',
    kind: 'depth-exhausted',
    grantIndex: 0,
  }, 'a grant with max_depth 0 cannot be delegated');

  const identical = rootManifest;
  refuses(t, () => delegate(root, cell.signer, holon.key, identical, T0), { kind: 'amplification', field: 'max_depth' }, 'never equal to the parent');

  const leafOnly = delegate(null, principal.signer, cell.key, { grants: [grant({ max_depth: 0 })] }, T0);
  refuses(t, () => delegate(leafOnly, cell.signer, holon.key, { grants: [] }, T0), {
    kind: 'depth-exhausted',
    message: /every parent grant has max_depth 0/,
  }, 'a parent at depth 0 delegates nothing, not even an empty manifest');
});

void t.test('delegate refuses a parent outside its window', async (t) => {
  const start = rootManifest.grants[0]?.not_before ?? 0;
  refuses(t, () => delegate(root, cell.signer, holon.key, next, T0 + 400 * DAY), {
    code: 'HOLON_E_CAP_EXPIRED',
    kind: 'expired',
    field: 'not_after',
  });
  const early = delegate(null, principal.signer, cell.key, { grants: [grant({ not_before: T0 + DAY })] }, T0 - DAY);
  refuses(t, () => delegate(early, cell.signer, holon.key, narrowed(early.manifest), T0), {
    code: 'HOLON_E_CAP_NOT_YET_VALID',
    kind: 'not-yet-valid',
    allowed: T0 + DAY,
  });
  refuses(t, () => delegate(root, cell.signer, holon.key, next, T0 - 1), { kind: 'not-yet-valid', message: /issued after now/ });
  t.ok(start < T0);
});

void t.test('delegate refuses malformed input with the JSON path', async (t) => {
  refuses(t, () => delegate(root, cell.signer, holon.key, next, Number.NaN), { path: '$.issued_at.unix_ms' });
  refuses(t, () => delegate(root, cell.signer, holon.key, next, { unix_ms: T0, source: 'SUNDIAL' as 'NTP' }), {
    path: '$.issued_at.source',
  });
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [{ ...grant(), resource: 'a.>.b' }] }, T0), {
    code: 'HOLON_E_MALFORMED',
    path: '$.grants[0].resource',
  });
  refuses(t, () => delegate(root, cell.signer, holon.key, { grants: [{ ...grant(), not_before: 5, not_after: 4 }] }, T0), {
    path: '$.grants[0].not_after',
    reason: 'window ends before it begins',
  });
  refuses(t, () => delegate(root, cell.signer, 'hkey1nope', next, T0), MalformedError);
});

void t.test('verifyLink: the other half of delegate', async (t) => {
  const roots = new Set([principal.key]);
  const rootFacts = verifyLink(root, null, roots);
  t.equal(rootFacts.depth, 0);
  t.equal(rootFacts.root, principal.key);
  const child = delegate(root, cell.signer, holon.key, next, T0 + 5);
  const facts = verifyLink(child, rootFacts, roots);
  t.equal(facts.depth, 1);
  t.equal(facts.subject, holon.key);
  t.equal(facts.issuedAt, T0 + 5);

  refuses(t, () => verifyLink(root, null, new Set()), { code: 'HOLON_E_CAP_UNTRUSTED_ROOT', kind: 'untrusted-root', linkDepth: 0 });
  refuses(t, () => verifyLink(child, null, roots), { kind: 'broken-chain', message: /not a root link/ });
  refuses(t, () => verifyLink(root, rootFacts, roots), { kind: 'broken-chain', linkDepth: 1 });

  const forged = { ...child, manifest: { grants: [] } };
  const e = refuses(t, () => verifyLink(forged, rootFacts, roots), { code: 'HOLON_E_CAP_BROKEN_CHAIN', kind: 'broken-chain', linkDepth: 1 });
  t.type((e as CapabilityError | undefined)?.cause, SealError, 'the seal error is the cause');

  const { issuer_seal: _seal, ...body } = child;
  const resealedByOther = DelegationV1.seal(body, holon.signer);
  refuses(t, () => verifyLink(resealedByOther, rootFacts, roots), { kind: 'broken-chain', message: /seal does not verify/ });

  const sealed = DelegationV1.seal({ ...body, issued_at: { unix_ms: T0 - 1, source: 'SYSTEM' } }, cell.signer);
  refuses(t, () => verifyLink(sealed, rootFacts, roots), { kind: 'broken-chain', message: /issued before its parent/ });
});
