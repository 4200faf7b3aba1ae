/**
 * The capability lattice on manifests (DESIGN §4, OBJ-ARP-02, INV-F-05).
 *
 *   a ⊑ b  iff every grant of a is covered by some single grant of b.
 *
 * ⊑ is a preorder on manifests (duplicates and covered grants change nothing);
 * on normalized manifests — covered grants dropped, duplicates removed,
 * sorted canonically — it is a partial order: a ⊑ b ∧ b ⊑ a ⇒ normalize(a)
 * equals normalize(b), because the maximal grants of each are covered by
 * maximal grants of the other and the grant order is antisymmetric.
 *
 * A delegation step must be a *strict* narrowing: the child is ⊑ its parent
 * and every child grant is covered by one parent grant whose max_depth is at
 * least one more than the child's. So a grant with max_depth 0 can never be
 * delegated, a parent with no grant of depth ≥ 1 can delegate nothing, the
 * highest max_depth strictly falls at every step, and every chain ends.
 */
import { canonicalString } from '../canonical.js';
import { CAP_FIELDS, type CapabilityGrantV1, type CapabilityManifestV1 } from '../v1/capability-manifest.js';
import type { CasDigest } from '../digest.js';
import { MalformedError } from '../errors.js';
import { CapabilityError, type GrantField } from './capability-error.js';
import { coverGap, grantActiveAt, grantCovers, grantPermits, type CoverGap } from './grant-order.js';

/** a ⊑ b: every grant of `a` is covered by some single grant of `b`. */
export function manifestLeq(a: CapabilityManifestV1, b: CapabilityManifestV1): boolean {
  return a.grants.every((g) => b.grants.some((h) => grantCovers(h, g)));
}

/**
 * The canonical representative of a manifest's ⊑-class: grants covered by
 * another grant are dropped, duplicates removed, the rest sorted by their
 * RFC 8785 form. normalize(m) ⊑ m and m ⊑ normalize(m).
 */
export function normalizeManifest(manifest: CapabilityManifestV1): CapabilityManifestV1 {
  const unique = new Map<string, CapabilityGrantV1>();
  for (const g of manifest.grants) unique.set(canonicalString(g), g);
  const entries = [...unique];
  // Distinct grants never cover each other both ways, so dropping every
  // covered grant keeps exactly the maximal ones.
  const maximal = entries.filter(([key, g]) => !entries.some(([other, h]) => other !== key && grantCovers(h, g)));
  maximal.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return { grants: maximal.map(([, g]) => g) };
}

/** The envelope of a manifest's windows: earliest not_before, latest not_after; null if empty. */
export function manifestWindow(manifest: CapabilityManifestV1): { not_before: number; not_after: number } | null {
  if (manifest.grants.length === 0) return null;
  let notBefore = Number.POSITIVE_INFINITY;
  let notAfter = Number.NEGATIVE_INFINITY;
  for (const g of manifest.grants) {
    if (g.not_before < notBefore) notBefore = g.not_before;
    if (g.not_after > notAfter) notAfter = g.not_after;
  }
  return { not_before: notBefore, not_after: notAfter };
}

/** Where a refusal happened in a chain, added to the error's context. */
export interface LinkContext {
  linkDepth?: number;
  linkDigest?: CasDigest;
}

const GAP_RANK: readonly GrantField[] = ['action', 'resource', ...CAP_FIELDS, 'not_before', 'not_after'];

/**
 * Throws a CapabilityError unless `child` is a strict narrowing of `parent`:
 * `depth-exhausted` if the parent has no grant with max_depth ≥ 1 (or the
 * only grants covering a child grant have max_depth 0), `amplification`
 * (naming the grant index and field) if a child grant is not covered by any
 * single parent grant with max_depth ≥ its own + 1.
 */
export function checkStrictNarrowing(
  parent: CapabilityManifestV1,
  child: CapabilityManifestV1,
  context: LinkContext = {},
): void {
  if (!parent.grants.some((p) => p.caps.max_depth >= 1)) {
    const why = parent.grants.length === 0 ? 'the parent manifest is empty' : 'every parent grant has max_depth 0';
    throw new CapabilityError('depth-exhausted', `${why}; it cannot delegate`, {
      ...context,
      field: 'max_depth',
      allowed: 0,
    });
  }
  for (let i = 0; i < child.grants.length; i++) {
    const c = child.grants[i] as CapabilityGrantV1;
    if (parent.grants.some((p) => coverGap(p, c, 1) === undefined)) continue;
    throw refusalFor(parent, c, { ...context, grantIndex: i });
  }
}

function refusalFor(
  parent: CapabilityManifestV1,
  c: CapabilityGrantV1,
  context: LinkContext & { grantIndex: number },
): CapabilityError {
  // Covered apart from depth: either the cover is at depth 0 (cannot be
  // delegated at all) or the child asked for too much depth.
  const depthOnly = parent.grants.filter((p) => coverGap(p, c, Number.NEGATIVE_INFINITY) === undefined);
  const deepest = depthOnly.reduce<CapabilityGrantV1 | undefined>(
    (best, p) => (best === undefined || p.caps.max_depth > best.caps.max_depth ? p : best),
    undefined,
  );
  if (deepest !== undefined && deepest.caps.max_depth === 0) {
    return new CapabilityError('depth-exhausted', 'every parent grant covering it has max_depth 0; it cannot be delegated', {
      ...context,
      field: 'max_depth',
      allowed: 0,
      requested: c.caps.max_depth,
    });
  }
  if (deepest !== undefined) {
    const allowed = deepest.caps.max_depth - 1;
    return new CapabilityError(
      'amplification',
      `max_depth ${c.caps.max_depth} must be at most ${allowed} (one less than the covering parent grant)`,
      { ...context, field: 'max_depth', allowed, requested: c.caps.max_depth },
    );
  }
  // Not covered at all: report the gap of the parent grant that matched most.
  let nearest: CoverGap | undefined;
  for (const p of parent.grants) {
    const gap = coverGap(p, c, 1);
    if (gap !== undefined && (nearest === undefined || GAP_RANK.indexOf(gap.field) > GAP_RANK.indexOf(nearest.field))) {
      nearest = gap;
    }
  }
  const gap = nearest as CoverGap;
  return new CapabilityError('amplification', describeGap(gap), { ...context, ...gap });
}

function describeGap(gap: CoverGap): string {
  switch (gap.field) {
    case 'action':
      return `action ${gap.requested} is not covered by any parent grant (nearest ${gap.allowed})`;
    case 'resource':
      return `resource ${gap.requested} is not contained in any parent pattern (nearest ${gap.allowed})`;
    case 'not_before':
      return `window starts at ${gap.requested}, before the parent's ${gap.allowed}`;
    case 'not_after':
      return `window ends at ${gap.requested}, after the parent's ${gap.allowed}`;
    default:
      return `${gap.field} ${gap.requested} exceeds the parent's ${gap.allowed}`;
  }
}

/** A grant that permits a request, and its index in the manifest. */
export interface PermittingGrant {
  grant: CapabilityGrantV1;
  grantIndex: number;
}

/**
 * The first grant that permits `action` on `resource` at `now`; throws
 * `denied` if no grant covers the request, `expired` / `not-yet-valid` if the
 * only grants that cover it are outside their windows.
 */
export function checkManifestPermits(
  manifest: CapabilityManifestV1,
  action: string,
  resource: string,
  now: number,
  context: LinkContext = {},
): PermittingGrant {
  if (!Number.isFinite(now)) throw new MalformedError('$.now', 'expected a finite time in Unix milliseconds');
  let inactive: number | undefined;
  for (let i = 0; i < manifest.grants.length; i++) {
    const g = manifest.grants[i] as CapabilityGrantV1;
    if (!grantPermits(g, action, resource)) continue;
    if (grantActiveAt(g, now)) return { grant: g, grantIndex: i };
    inactive ??= i;
  }
  if (inactive === undefined) {
    throw new CapabilityError('denied', `no grant permits ${action} on ${resource}`, {
      ...context,
      requested: `${action} ${resource}`,
    });
  }
  const g = manifest.grants[inactive] as CapabilityGrantV1;
  const ctx = { ...context, grantIndex: inactive, requested: now };
  if (now < g.not_before) {
    throw new CapabilityError('not-yet-valid', `${action} on ${resource} is permitted only from ${g.not_before}`, {
      ...ctx,
      field: 'not_before',
      allowed: g.not_before,
    });
  }
  throw new CapabilityError('expired', `${action} on ${resource} was permitted only until ${g.not_after}`, {
    ...ctx,
    field: 'not_after',
    allowed: g.not_after,
  });
}

/** Boolean form of checkManifestPermits. */
export function manifestPermits(manifest: CapabilityManifestV1, action: string, resource: string, now: number): boolean {
  return manifest.grants.some((g) => grantActiveAt(g, now) && grantPermits(g, action, resource));
}
