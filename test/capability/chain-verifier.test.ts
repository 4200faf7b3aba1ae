import t from 'tap';
import { ChainVerifier, DelegationV1, verifyChain, type CapabilityError } from '../../bus-schemas/capability/index.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { MalformedError, SealError } from '../../bus-schemas/errors.js';
import type { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { refuses } from '../helpers/refuses.js';
import { buildChain, DAY, extend, grant, narrowed, party, T0, type Chain, type Party } from './chain-fixtures.js';

function rootsOf(chain: Chain): PublicKeyIdV1[] {
  return [(chain.parties[0] as Party).key];
}

function verifierFor(chain: Chain, revoked?: Set<string>): ChainVerifier {
  return new ChainVerifier(rootsOf(chain), revoked === undefined ? undefined : (d) => revoked.has(d));
}

/** Seal a link by hand (bypassing delegate's own refusals). */
function sealLink(
  parentLink: DelegationV1 | null,
  issuer: Party,
  subject: Party,
  manifest: CapabilityManifestV1,
  at = T0,
  parentDigest?: CasDigest,
): DelegationV1 {
  const parent = parentDigest ?? (parentLink === null ? null : DelegationV1.digest(parentLink));
  return DelegationV1.seal(
    { parent, issuer: issuer.key, subject: subject.key, manifest, issued_at: { unix_ms: at, source: 'SYSTEM' } },
    issuer.signer,
  );
}

const chain3 = buildChain(3);
const [l0, l1, l2, l3] = chain3.links as [DelegationV1, DelegationV1, DelegationV1, DelegationV1];

void t.test('verify returns the leaf facts; authorize finds the permitting grant', async (t) => {
  const v = verifierFor(chain3);
  const r = v.verify(chain3.links, T0);
  t.equal(r.depth, 3);
  t.equal(r.digest, DelegationV1.digest(l3));
  t.equal(r.root, chain3.parties[0]?.key);
  t.equal(r.subject, chain3.parties[4]?.key);
  t.strictSame(r.manifest, l3.manifest);
  t.strictSame(r.window, { not_before: T0 - DAY, not_after: T0 + 365 * DAY });
  t.strictSame(verifyChain(chain3.links, rootsOf(chain3), T0), r, 'one-shot verifyChain agrees');
  t.throws(() => (r.manifest.grants as unknown[]).push(grant()), TypeError, 'the cached manifest cannot be altered by a caller');
  t.throws(() => ((r.manifest.grants[0] as { caps: { cpu_seconds: number } }).caps.cpu_seconds = 1), TypeError);

  const a = v.authorize(chain3.links, '/provision/BUILD_WORKER', 'holon.h1.cmd', T0);
  t.equal(a.grantIndex, 0);
  t.equal(v.authorize(chain3.links, '/bus/publish', 'holon.h1.evt', T0).grantIndex, 1);
  refuses(t, () => v.authorize(chain3.links, '/secret/read', 'holon.h1', T0), {
    code: 'HOLON_E_CAP_DENIED',
    kind: 'denied',
    linkDepth: 3,
  });
  refuses(t, () => v.authorize(chain3.links, '/bus/publish', 'holon.h1.cmd', T0), { kind: 'denied' });
  refuses(t, () => v.authorize(chain3.links, 'provision', 'holon.h1', T0), { code: 'HOLON_E_MALFORMED', path: '$.action' });
  refuses(t, () => v.authorize(chain3.links, '/provision', 'holon..h1', T0), MalformedError);
});

void t.test('structural refusals: empty, untrusted root, misplaced root, not starting at a root', async (t) => {
  refuses(t, () => verifierFor(chain3).verify([], T0), { code: 'HOLON_E_CAP_BROKEN_CHAIN', message: /empty/ });
  refuses(t, () => verifierFor(chain3).verify([l0, null as unknown as DelegationV1], T0), { code: 'HOLON_E_MALFORMED', path: '$[1]' });
  refuses(t, () => verifierFor(chain3).verify([l0, { ...l1, extra: 1 } as DelegationV1], T0), { path: '$.extra', reason: 'unknown field' });
  refuses(t, () => verifierFor(chain3).verify(new Array<DelegationV1>(257).fill(l0), T0), { kind: 'broken-chain', allowed: 256 });
  refuses(t, () => new ChainVerifier([party().key]).verify(chain3.links, T0), {
    code: 'HOLON_E_CAP_UNTRUSTED_ROOT',
    kind: 'untrusted-root',
    linkDepth: 0,
    requested: l0.issuer,
  });
  const otherRoot = buildChain(1);
  refuses(t, () => new ChainVerifier([l0.issuer, otherRoot.links[0]?.issuer ?? l0.issuer]).verify([l0, otherRoot.links[0] as DelegationV1], T0), {
    kind: 'broken-chain',
    linkDepth: 1,
    message: /root link appears below/,
  });
  refuses(t, () => verifierFor(chain3).verify([l1, l2], T0), { kind: 'broken-chain', linkDepth: 0, message: /not a root link/ });
  refuses(t, () => verifierFor(chain3).verify([l0, l2, l3], T0), { kind: 'broken-chain', linkDepth: 1, message: /names parent/ });
});

void t.test('forged seal, wrong parent digest, swapped issuer', async (t) => {
  // A narrower manifest (no amplification), but not what the issuer signed.
  const forged = { ...l2, manifest: { grants: l2.manifest.grants.map((g) => ({ ...g, caps: { ...g.caps, cpu_seconds: 1 } })) } };
  const e = refuses(t, () => verifierFor(chain3).verify([l0, l1, forged], T0), {
    code: 'HOLON_E_CAP_BROKEN_CHAIN',
    kind: 'broken-chain',
    linkDepth: 2,
    message: /seal does not verify/,
  });
  t.type((e as CapabilityError | undefined)?.cause, SealError);

  const [p0, p1, p2, p3] = chain3.parties as [Party, Party, Party, Party];
  const wrongParent = sealLink(null, p2, p3, narrowed(l1.manifest), T0, DelegationV1.digest(l0));
  refuses(t, () => verifierFor(chain3).verify([l0, l1, wrongParent], T0), { kind: 'broken-chain', linkDepth: 2, message: /names parent/ });

  const stranger = party();
  const swapped = sealLink(l1, stranger, p3, narrowed(l1.manifest));
  refuses(t, () => verifierFor(chain3).verify([l0, l1, swapped], T0), {
    kind: 'broken-chain',
    linkDepth: 2,
    allowed: p2.key,
    requested: stranger.key,
    message: /is not the previous link's subject/,
  });
  const impersonated = { ...sealLink(l1, stranger, p3, narrowed(l1.manifest)), issuer: p2.key };
  refuses(t, () => verifierFor(chain3).verify([l0, l1, impersonated], T0), { kind: 'broken-chain', message: /seal does not verify/ });
  t.equal(p0.key, l0.issuer);
  t.equal(p1.key, l0.subject);
});

void t.test('amplification and depth exhaustion inside a chain name link, grant and field', async (t) => {
  const [, , p2, p3] = chain3.parties as [Party, Party, Party, Party];
  const wide = narrowed(l1.manifest);
  const g = wide.grants[1] ?? grant();
  wide.grants[1] = { ...g, caps: { ...g.caps, cpu_seconds: g.caps.cpu_seconds + 1 } };
  refuses(t, () => verifierFor(chain3).verify([l0, l1, sealLink(l1, p2, p3, wide)], T0), {
    code: 'HOLON_E_CAP_AMPLIFICATION',
    kind: 'amplification',
    linkDepth: 2,
    grantIndex: 1,
    field: 'cpu_seconds',
  });
  const short = buildChain(1);
  const [, , s2] = short.parties as [Party, Party, Party];
  const tooDeep = sealLink(short.links[1] as DelegationV1, s2, party(), { grants: [] });
  refuses(t, () => verifierFor(short).verify([...short.links, tooDeep], T0), {
    code: 'HOLON_E_CAP_DEPTH_EXHAUSTED',
    kind: 'depth-exhausted',
    linkDepth: 2,
  });
});

void t.test('windows: expired, not yet valid, issued in the future; the topmost culprit is named', async (t) => {
  const v = verifierFor(chain3);
  v.verify(chain3.links, T0);
  refuses(t, () => v.verify(chain3.links, T0 + 366 * DAY), { code: 'HOLON_E_CAP_EXPIRED', kind: 'expired', linkDepth: 0 });
  refuses(t, () => v.verify(chain3.links, T0 - 2 * DAY), { code: 'HOLON_E_CAP_NOT_YET_VALID', kind: 'not-yet-valid', linkDepth: 0 });
  refuses(t, () => v.verify(chain3.links, Number.NaN), { code: 'HOLON_E_MALFORMED', path: '$.now' }, 'NaN is not a time');

  const deep = buildChain(3, { grants: [grant({ action: '/provision', resource: 'holon.>', max_depth: 6 })] });
  const leaf = deep.links[3] as DelegationV1;
  const shorter = { grants: narrowed(leaf.manifest).grants.map((g) => ({ ...g, not_after: T0 + DAY })) };
  const { link } = extend(deep, shorter);
  const dv = verifierFor(deep);
  dv.verify([...deep.links, link], T0 + DAY);
  refuses(t, () => dv.verify([...deep.links, link], T0 + DAY + 1), { kind: 'expired', linkDepth: 4, allowed: T0 + DAY });
  dv.verify(deep.links, T0 + DAY + 1);

  const later = buildChain(2, undefined, T0 + 1000);
  refuses(t, () => verifierFor(later).verify(later.links, T0), {
    kind: 'not-yet-valid',
    linkDepth: 0,
    allowed: T0 + 1000,
    message: /issued at/,
  });
});

void t.test('a revoked middle link refuses the chain, cold and warm', async (t) => {
  const chain = buildChain(4);
  const revoked = new Set<string>([DelegationV1.digest(chain.links[2] as DelegationV1)]);
  refuses(t, () => verifierFor(chain, revoked).verify(chain.links, T0), {
    code: 'HOLON_E_CAP_REVOKED',
    kind: 'revoked',
    linkDepth: 2,
    linkDigest: DelegationV1.digest(chain.links[2] as DelegationV1),
  });
});

void t.test('warm path: one signature per new leaf at depth 64, revocation still seen everywhere', async (t) => {
  const chain = buildChain(64);
  const revoked = new Set<string>();
  const v = verifierFor(chain, revoked);
  v.verify(chain.links, T0);
  t.strictSame(v.stats, { signatures: 65, warm: 0, cold: 1 }, 'cold: one signature per link');
  t.equal(v.cached, 65);

  const short = { chain: { links: chain.links.slice(0, 63), parties: chain.parties.slice(0, 64) } };
  const leafA = extend(short.chain).link;
  t.equal(v.verify([...short.chain.links, leafA], T0).depth, 63);
  t.strictSame(v.stats, { signatures: 66, warm: 1, cold: 1 }, 'warm: a new leaf under a cached prefix costs one signature');
  v.verify(chain.links, T0);
  t.strictSame(v.stats, { signatures: 66, warm: 2, cold: 1 }, 'a fully cached chain costs none');

  // A forged leaf under the warm prefix is still caught: the new leaf is always verified.
  const forged = { ...leafA, subject: party().key };
  refuses(t, () => v.verify([...short.chain.links, forged], T0), { kind: 'broken-chain', linkDepth: 63, message: /seal/ });

  // Wrong length with a cached leaf: the array does not describe that chain.
  refuses(t, () => v.verify(chain.links.slice(1), T0), { kind: 'broken-chain', message: /verified link of depth/ });

  // Revoke link 10: every cached descendant goes, warm or not.
  const d10 = DelegationV1.digest(chain.links[10] as DelegationV1);
  revoked.add(d10);
  refuses(t, () => v.verify(chain.links, T0), { kind: 'revoked', linkDepth: 10, linkDigest: d10 });
  t.equal(v.cached, 10, 'links 10…64 and the extra leaf were evicted');
  refuses(t, () => v.verify([...short.chain.links, leafA], T0), { kind: 'revoked', linkDepth: 10 }, 'the earlier leaf too');
  const leafB = extend(short.chain).link;
  refuses(t, () => v.verify([...short.chain.links, leafB], T0), { kind: 'revoked', linkDepth: 10 }, 'and a new leaf below it');

  // A sibling branch under link 9 is untouched, and warm.
  const branch = { links: chain.links.slice(0, 10), parties: chain.parties.slice(0, 11) };
  const sibling = extend(branch).link;
  const before = v.stats.signatures;
  t.equal(v.verify([...branch.links, sibling], T0).depth, 10);
  t.equal(v.stats.signatures, before + 1);
});

void t.test('forget, the LRU bound and a revocation lookup that throws', async (t) => {
  const chain = buildChain(5);
  const v = new ChainVerifier(rootsOf(chain), undefined, { maxCached: 3 });
  v.verify(chain.links, T0);
  t.equal(v.cached, 3, 'bounded');
  v.verify(chain.links, T0);
  t.equal(v.stats.signatures, 6, 'the leaf stayed cached');
  t.equal(v.forget(DelegationV1.digest(chain.links[3] as DelegationV1)), 3, 'a link and its cached descendants');
  t.equal(v.cached, 0);
  t.equal(v.verify(chain.links, T0).depth, 5, 'verifies again from the root');
  refuses(t, () => new ChainVerifier([], undefined, { maxCached: 0 }), { code: 'HOLON_E_MALFORMED', path: '$.maxCached' });

  const failing = new ChainVerifier(rootsOf(chain), () => {
    throw new MalformedError('$.kv', 'revocation bucket unavailable');
  });
  refuses(t, () => failing.verify(chain.links, T0), { path: '$.kv' }, 'fails closed');
});
