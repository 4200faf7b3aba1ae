/**
 * INV-F-05 as a property: no sequence of delegations — random chains up to
 * depth 10, with a random widening attempted at every step — ever yields a
 * leaf that authorizes an (action, resource, time) its root did not.
 * Permissions are judged by brute force (NATS matching of enumerated concrete
 * subjects, segment comparison of actions), independent of the lattice code.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  CapabilityError,
  ChainVerifier,
  checkManifestPermits,
  delegate,
  manifestLeq,
  manifestWindow,
  type DelegationV1,
} from '../../bus-schemas/capability/index.js';
import type { CapabilityGrantV1, CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { party, type Party } from './chain-fixtures.js';
import {
  ACTIONS,
  arbManifest,
  brutePermits,
  enumerateSubjects,
  FRESH_TOKEN,
  narrowGrant,
  Rng,
  TIMES,
  TOKENS,
  widenGrant,
} from './generators.js';

const SUBJECTS = enumerateSubjects([...TOKENS, FRESH_TOKEN], 3);
/** Keys are reused across runs (making them dominates the run time); within a chain they are distinct. */
const PARTIES = Array.from({ length: 12 }, () => party());

function randomGrant(rng: Rng): CapabilityGrantV1 {
  const tokens = Array.from({ length: rng.int(1, 3) }, () => rng.pick([...TOKENS, '*']));
  if (rng.chance(0.4)) tokens.push('>');
  const a = rng.pick(TIMES);
  const b = rng.pick(TIMES);
  const n = (): number => rng.int(0, 3);
  return {
    action: rng.pick(ACTIONS),
    resource: tokens.join('.'),
    caps: { max_children: n(), max_depth: rng.int(0, 10), rate_per_epoch: n(), cpu_seconds: n(), gpu_seconds: n(), storage_bytes: n(), egress_bytes: n(), cost_usd_cents: n() },
    not_before: Math.min(a, b),
    not_after: Math.max(a, b),
  };
}

/** A strict narrowing of `m` built from its delegable grants (at least one must exist). */
function narrowChild(m: CapabilityManifestV1, rng: Rng): CapabilityManifestV1 {
  const delegable = m.grants.filter((g) => g.caps.max_depth >= 1);
  const count = rng.chance(0.1) ? 0 : rng.int(1, Math.min(3, delegable.length));
  return {
    grants: Array.from({ length: count }, () => {
      const p = rng.pick(delegable);
      const g = narrowGrant(p, rng, 1);
      // Mostly keep the whole remaining depth budget, so long chains occur.
      return rng.chance(0.8) ? { ...g, caps: { ...g.caps, max_depth: p.caps.max_depth - 1 } } : g;
    }),
  };
}

function widened(m: CapabilityManifestV1, rng: Rng): CapabilityManifestV1 {
  const grants = [...m.grants];
  if (grants.length > 0 && rng.chance(0.7)) {
    const i = rng.int(0, grants.length - 1);
    grants[i] = widenGrant(grants[i] as CapabilityGrantV1, rng);
  } else grants.push(randomGrant(rng));
  return { grants };
}

interface Outcome {
  depth: number;
  refusedWidenings: number;
  acceptedWidenings: number;
  /** Queries whose verifier answer was compared with the brute-force reading of the leaf. */
  sampled: number;
}

/** Builds one random chain and checks it; throws (with the reason) on any violation. */
function run(rootManifest: CapabilityManifestV1, seed: number, stats: Outcome[]): void {
  const rng = new Rng(seed);
  const [principal, ...pool] = PARTIES as [Party, ...Party[]];
  const holders: Party[] = [pool[0] as Party];
  const chain: DelegationV1[] = [delegate(null, principal.signer, (holders[0] as Party).key, rootManifest, 0)];
  const outcome: Outcome = { depth: 0, refusedWidenings: 0, acceptedWidenings: 0, sampled: 0 };
  for (let step = 1; step <= 10; step++) {
    const parent = chain[chain.length - 1] as DelegationV1;
    const issuer = holders[holders.length - 1] as Party;
    const subject = pool[step] as Party;
    const at = manifestWindow(parent.manifest)?.not_before ?? parent.issued_at.unix_ms;
    if (!parent.manifest.grants.some((g) => g.caps.max_depth >= 1)) {
      try {
        delegate(parent, issuer.signer, subject.key, { grants: [] }, at);
      } catch (e) {
        if (e instanceof CapabilityError && e.kind === 'depth-exhausted') break;
        throw e;
      }
      throw new Error(`step ${step}: a parent without depth budget delegated`);
      break;
    }
    const child = narrowChild(parent.manifest, rng);
    let next: DelegationV1 | undefined;
    if (rng.chance(0.6)) {
      const attempt = widened(child, rng);
      try {
        next = delegate(parent, issuer.signer, subject.key, attempt, at);
        outcome.acceptedWidenings += 1;
      } catch (e) {
        if (!(e instanceof CapabilityError) || !['amplification', 'depth-exhausted'].includes(e.kind)) throw e;
        outcome.refusedWidenings += 1;
      }
    }
    // A genuine strict narrowing is always accepted.
    next ??= delegate(parent, issuer.signer, subject.key, child, at);
    if (!manifestLeq(next.manifest, parent.manifest) || manifestLeq(parent.manifest, next.manifest)) {
      throw new Error(`step ${step}: accepted child is not strictly below its parent`);
    }
    chain.push(next);
    holders.push(subject);
    outcome.depth = step;
  }
  stats.push(outcome);

  const leaf = (chain[chain.length - 1] as DelegationV1).manifest;
  const verifier = new ChainVerifier([principal.key]);
  const actions = new Set<string>([...ACTIONS, ...leaf.grants.map((g) => g.action), ...rootManifest.grants.map((g) => g.action)]);
  let sampled = 0;
  for (const action of actions) {
    for (const subject of SUBJECTS) {
      for (const now of TIMES) {
        const byLeaf = brutePermits(leaf, action, subject, now);
        if (byLeaf && !brutePermits(rootManifest, action, subject, now)) {
          throw new Error(`the leaf permits ${action} on ${subject} at ${now}; the root does not`);
        }
        // The verifier agrees with the brute-force reading of the leaf on a sample.
        if (byLeaf || rng.chance(0.01)) {
          sampled += 1;
          if (authorizes(verifier, chain, action, subject, now) !== byLeaf) {
            throw new Error(`verifier and brute force disagree on ${action} ${subject} at ${now} (brute: ${byLeaf})`);
          }
        }
      }
    }
  }
  // Patterns too: whatever the leaf authorizes as a whole pattern, the root does.
  for (const g of leaf.grants) {
    for (const now of TIMES) {
      if (authorizes(verifier, chain, g.action, g.resource, now) && !permitsPattern(rootManifest, g.action, g.resource, now)) {
        throw new Error(`the leaf permits ${g.action} on pattern ${g.resource} at ${now}; the root does not`);
      }
    }
  }
  outcome.sampled = sampled;
}

function authorizes(v: ChainVerifier, chain: DelegationV1[], action: string, resource: string, now: number): boolean {
  try {
    v.authorize(chain, action, resource, now);
    return true;
  } catch (e) {
    if (e instanceof CapabilityError && ['denied', 'expired', 'not-yet-valid'].includes(e.kind)) return false;
    throw e;
  }
}

function permitsPattern(m: CapabilityManifestV1, action: string, resource: string, now: number): boolean {
  try {
    checkManifestPermits(m, action, resource, now);
    return true;
  } catch {
    return false;
  }
}

void t.test('no chain of delegations authorizes what its root did not', async (t) => {
  const stats: Outcome[] = [];
  const rootArb = fc
    .tuple(arbManifest(3, 10), fc.integer({ min: 0, max: 2 ** 31 - 1 }))
    .filter(([m]) => m.grants.length > 0)
    .map(([m, s]): [CapabilityManifestV1, number] => {
      // Half the roots get a full depth budget so chains of 10 occur.
      const [first, ...rest] = m.grants as [CapabilityGrantV1, ...CapabilityGrantV1[]];
      const deep = s % 2 === 0 ? { ...first, caps: { ...first.caps, max_depth: 10 } } : first;
      return [{ grants: [deep, ...rest] }, s];
    });
  fc.assert(fc.property(rootArb, ([root, s]) => run(root, s, stats)), { numRuns: 80 });
  const deepest = Math.max(...stats.map((s) => s.depth));
  const refused = stats.reduce((n, s) => n + s.refusedWidenings, 0);
  const accepted = stats.reduce((n, s) => n + s.acceptedWidenings, 0);
  t.equal(stats.length, 80);
  t.ok(deepest >= 8, `chains reached depth ${deepest}`);
  t.ok(refused > 50, `${refused} widenings refused`);
  const sampled = stats.reduce((n, s) => n + s.sampled, 0);
  t.ok(sampled > 1000, `${sampled} verifier answers matched the brute-force reading of the leaf`);
  t.comment(`${accepted} attempted widenings were legitimately covered by another parent grant and accepted`);
});
