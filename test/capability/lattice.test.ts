import t from 'tap';
import fc from 'fast-check';
import {
  CapabilityError,
  checkManifestPermits,
  checkStrictNarrowing,
  grantCovers,
  manifestLeq,
  manifestWindow,
  normalizeManifest,
} from '../../bus-schemas/capability/index.js';
import { CAP_FIELDS, type CapabilityGrantV1, type CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { refuses } from '../helpers/refuses.js';
import {
  ACTIONS,
  arbGrant,
  arbManifest,
  brutePermits,
  enumerateSubjects,
  FRESH_TOKEN,
  narrowGrant,
  Rng,
  TIMES,
  TOKENS,
} from './generators.js';

/** A manifest ⊑ `m`: some of its grants narrowed (depth margin 0), plus copies. */
function below(m: CapabilityManifestV1, rng: Rng): CapabilityManifestV1 {
  return { grants: m.grants.filter(() => rng.chance(0.8)).map((g) => (rng.chance(0.5) ? g : narrowGrant(g, rng, 0))) };
}

/** The same ⊑-class as `m`: shuffled, with duplicates and covered grants added. */
function equivalent(m: CapabilityManifestV1, rng: Rng): CapabilityManifestV1 {
  const grants = [...m.grants, ...m.grants.filter(() => rng.chance(0.3)), ...m.grants.filter(() => rng.chance(0.5)).map((g) => narrowGrant(g, rng, 0))];
  for (let i = grants.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [grants[i], grants[j]] = [grants[j] as CapabilityGrantV1, grants[i] as CapabilityGrantV1];
  }
  return { grants };
}

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

void t.test('⊑ is reflexive', async (t) => {
  fc.assert(fc.property(arbManifest(), (m) => manifestLeq(m, m) && m.grants.every((g) => grantCovers(g, g))));
  t.pass();
});

void t.test('⊑ is transitive', async (t) => {
  let premise = 0;
  fc.assert(
    fc.property(arbManifest(2), arbManifest(2), arbManifest(3), (a, b, c) => {
      if (!(manifestLeq(a, b) && manifestLeq(b, c))) return true;
      premise += 1;
      return manifestLeq(a, c);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(arbManifest(4), seed, (c, s) => {
      const rng = new Rng(s);
      const b = below(c, rng);
      const a = below(b, rng);
      return manifestLeq(a, b) && manifestLeq(b, c) && manifestLeq(a, c);
    }),
    { numRuns: 300 },
  );
  t.ok(premise > 50, `random triples met the premise ${premise} times`);
});

void t.test('⊑ is antisymmetric on normalized manifests', async (t) => {
  let premise = 0;
  fc.assert(
    fc.property(arbManifest(2), arbManifest(2), (a, b) => {
      if (!(manifestLeq(a, b) && manifestLeq(b, a))) return true;
      premise += 1;
      t.strictSame(normalizeManifest(a), normalizeManifest(b));
      return true;
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(arbManifest(4), seed, (a, s) => {
      const b = equivalent(a, new Rng(s));
      if (!manifestLeq(a, b) || !manifestLeq(b, a)) return false;
      return JSON.stringify(normalizeManifest(a)) === JSON.stringify(normalizeManifest(b));
    }),
    { numRuns: 300 },
  );
  t.ok(premise > 20, `random pairs were ⊑-equivalent ${premise} times`);
});

void t.test('normalizeManifest: equivalent, idempotent, only maximal grants', async (t) => {
  fc.assert(
    fc.property(arbManifest(6), (m) => {
      const n = normalizeManifest(m);
      const maximal = n.grants.every((g, i) => n.grants.every((h, j) => i === j || !grantCovers(h, g)));
      return manifestLeq(n, m) && manifestLeq(m, n) && maximal && JSON.stringify(normalizeManifest(n)) === JSON.stringify(n);
    }),
    { numRuns: 500 },
  );
  const g: CapabilityGrantV1 = {
    action: '/job',
    resource: 'holon.a.>',
    caps: { max_children: 2, max_depth: 2, rate_per_epoch: 5, cpu_seconds: 10, gpu_seconds: 0, storage_bytes: 9, egress_bytes: 9, cost_usd_cents: 9 },
    not_before: 0,
    not_after: 100,
  };
  const narrower = { ...g, action: '/job/run', resource: 'holon.a.x' };
  const other = { ...g, action: '/bus' };
  t.strictSame(normalizeManifest({ grants: [narrower, g, other, g] }), { grants: [other, g] }, 'covered and duplicate grants dropped, sorted');
});

void t.test('a ⊑ b means b permits everything a permits (brute-force oracle)', async (t) => {
  const subjects = enumerateSubjects([...TOKENS, FRESH_TOKEN], 3);
  fc.assert(
    fc.property(arbManifest(3), seed, (b, s) => {
      const a = below(b, new Rng(s));
      for (const action of ACTIONS) {
        for (const subject of subjects) {
          for (const now of TIMES) if (brutePermits(a, action, subject, now) && !brutePermits(b, action, subject, now)) return false;
        }
      }
      return true;
    }),
    { numRuns: 100 },
  );
  t.pass();
});

void t.test('a strict child is never equal to its parent', async (t) => {
  let strict = 0;
  fc.assert(
    fc.property(arbManifest(3, 3), arbManifest(2, 3), seed, (parent, random, s) => {
      const rng = new Rng(s);
      const derived = parent.grants.filter((g) => g.caps.max_depth >= 1).map((g) => narrowGrant(g, rng, 1));
      for (const child of [random, { grants: derived }, { grants: [...derived, ...random.grants] }]) {
        try {
          checkStrictNarrowing(parent, child);
        } catch (e) {
          if (!(e instanceof CapabilityError) || !['amplification', 'depth-exhausted'].includes(e.kind)) return false;
          continue;
        }
        strict += 1;
        if (!manifestLeq(child, parent) || manifestLeq(parent, child)) return false;
        if (JSON.stringify(normalizeManifest(child)) === JSON.stringify(normalizeManifest(parent))) return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.ok(strict > 200, `${strict} strict narrowings checked`);
});

const caps = { max_children: 4, max_depth: 3, rate_per_epoch: 10, cpu_seconds: 100, gpu_seconds: 0, storage_bytes: 1000, egress_bytes: 1000, cost_usd_cents: 50 };
const parentGrant: CapabilityGrantV1 = { action: '/provision', resource: 'holon.h1.>', caps, not_before: 1000, not_after: 2000 };
const parent: CapabilityManifestV1 = { grants: [{ ...parentGrant, action: '/bus/publish' }, parentGrant] };
const ok: CapabilityGrantV1 = { ...parentGrant, action: '/provision/BUILD_WORKER', caps: { ...caps, max_depth: 2 } };

void t.test('checkStrictNarrowing: each refusal names kind, code, grant and field', async (t) => {
  checkStrictNarrowing(parent, { grants: [ok] });
  checkStrictNarrowing(parent, { grants: [] });
  for (const field of CAP_FIELDS) {
    const wide = { ...ok, caps: { ...ok.caps, [field]: field === 'max_depth' ? 3 : caps[field] + 1 } };
    refuses(t, () => checkStrictNarrowing(parent, { grants: [ok, wide] }, { linkDepth: 4 }), {
      code: 'HOLON_E_CAP_AMPLIFICATION',
      kind: 'amplification',
      linkDepth: 4,
      grantIndex: 1,
      field,
      allowed: field === 'max_depth' ? 2 : caps[field],
      requested: field === 'max_depth' ? 3 : caps[field] + 1,
    }, `widening ${field}`);
  }
  refuses(t, () => checkStrictNarrowing(parent, { grants: [{ ...ok, action: '/provisioning' }] }), {
    kind: 'amplification',
    field: 'action',
    requested: '/provisioning',
  });
  refuses(t, () => checkStrictNarrowing(parent, { grants: [{ ...ok, resource: 'holon.*.>' }] }), {
    kind: 'amplification',
    field: 'resource',
    allowed: 'holon.h1.>',
    requested: 'holon.*.>',
  });
  refuses(t, () => checkStrictNarrowing(parent, { grants: [{ ...ok, not_before: 999 }] }), { field: 'not_before', allowed: 1000 });
  refuses(t, () => checkStrictNarrowing(parent, { grants: [{ ...ok, not_after: 2001 }] }), {
    code: 'HOLON_E_CAP_AMPLIFICATION',
    field: 'not_after',
    message: /window ends at 2001, after the parent's 2000/,
  });
  const flat = { grants: parent.grants.map((g) => ({ ...g, caps: { ...g.caps, max_depth: 0 } })) };
  refuses(t, () => checkStrictNarrowing(flat, { grants: [] }), {
    code: 'HOLON_E_CAP_DEPTH_EXHAUSTED',
    kind: 'depth-exhausted',
    message: /every parent grant has max_depth 0/,
  });
  refuses(t, () => checkStrictNarrowing({ grants: [] }, { grants: [] }), { kind: 'depth-exhausted', message: /empty/ });
  const mixed = { grants: [{ ...parentGrant, caps: { ...caps, max_depth: 0 } }, { ...parentGrant, action: '/bus' }] };
  refuses(t, () => checkStrictNarrowing(mixed, { grants: [{ ...ok, caps: { ...ok.caps, max_depth: 0 } }] }), {
    kind: 'depth-exhausted',
    grantIndex: 0,
    field: 'max_depth',
  }, 'the only cover of this grant is at depth 0');
});

void t.test('checkManifestPermits and manifestWindow', async (t) => {
  const m = { grants: [{ ...parentGrant, action: '/job', not_after: 1500 }, parentGrant] };
  t.equal(checkManifestPermits(m, '/provision/RELAY', 'holon.h1.x', 1500).grantIndex, 1);
  t.equal(checkManifestPermits(m, '/job/run', 'holon.h1.x.>', 1200).grantIndex, 0);
  refuses(t, () => checkManifestPermits(m, '/job/run', 'holon.h1.x', 1501), {
    code: 'HOLON_E_CAP_EXPIRED',
    kind: 'expired',
    grantIndex: 0,
    allowed: 1500,
    requested: 1501,
  });
  refuses(t, () => checkManifestPermits(m, '/job/run', 'holon.h1.x', 999), { code: 'HOLON_E_CAP_NOT_YET_VALID', kind: 'not-yet-valid' });
  refuses(t, () => checkManifestPermits(m, '/secret/read', 'holon.h1.x', 1200), { code: 'HOLON_E_CAP_DENIED', kind: 'denied' });
  refuses(t, () => checkManifestPermits(m, '/job/run', 'holon.*.x', 1200), { kind: 'denied' }, 'a pattern wider than the grant');
  t.strictSame(manifestWindow(m), { not_before: 1000, not_after: 2000 });
  t.equal(manifestWindow({ grants: [] }), null);
});

void t.test('generated grants are valid CapabilityGrantV1 values', async (t) => {
  const { CapabilityManifestV1 } = await import('../../bus-schemas/v1/capability-manifest.js');
  fc.assert(fc.property(arbManifest(6), (m) => CapabilityManifestV1.parse(m) !== undefined), { numRuns: 200 });
  fc.assert(fc.property(arbGrant(), seed, (g, s) => grantCovers(g, narrowGrant(g, new Rng(s), 0))), { numRuns: 500 });
  t.pass();
});
