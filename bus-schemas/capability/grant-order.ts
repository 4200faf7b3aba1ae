/**
 * The order on single grants. `grantCovers(parent, child)` holds iff the
 * child's action path is covered by the parent's, the child's resource
 * pattern is contained in the parent's, every cap of the child is ≤ the
 * parent's, and the child's validity window lies inside the parent's.
 *
 * This is a partial order: reflexive and transitive because each component
 * is; antisymmetric because mutual action coverage means equal paths and
 * mutual pattern containment means equal patterns (literal, `*` and `>`
 * tokens are pairwise distinguishable), so mutual coverage means equal grants.
 */
import { CAP_FIELDS, type CapabilityGrantV1 } from '../v1/capability-manifest.js';
import type { GrantField } from './capability-error.js';
import { actionCovers, patternCovers } from './subject-pattern.js';

/** Why `child` is not covered by `parent`: the first field that fails, with both values. */
export interface CoverGap {
  field: GrantField;
  allowed: number | string;
  requested: number | string;
}

/**
 * The first reason `parent` does not cover `child`, or undefined if it does.
 * `depthMargin` demands `child.max_depth + depthMargin ≤ parent.max_depth`
 * (0 for ⊑, 1 for a strict delegation step).
 */
export function coverGap(parent: CapabilityGrantV1, child: CapabilityGrantV1, depthMargin = 0): CoverGap | undefined {
  if (!actionCovers(parent.action, child.action)) {
    return { field: 'action', allowed: parent.action, requested: child.action };
  }
  if (!patternCovers(parent.resource, child.resource)) {
    return { field: 'resource', allowed: parent.resource, requested: child.resource };
  }
  for (const f of CAP_FIELDS) {
    const allowed = f === 'max_depth' ? parent.caps.max_depth - depthMargin : parent.caps[f];
    if (child.caps[f] > allowed) return { field: f, allowed, requested: child.caps[f] };
  }
  if (child.not_before < parent.not_before) {
    return { field: 'not_before', allowed: parent.not_before, requested: child.not_before };
  }
  if (child.not_after > parent.not_after) {
    return { field: 'not_after', allowed: parent.not_after, requested: child.not_after };
  }
  return undefined;
}

/** child ⊑ parent for single grants. */
export function grantCovers(parent: CapabilityGrantV1, child: CapabilityGrantV1): boolean {
  return coverGap(parent, child) === undefined;
}

/** Whether the grant's window contains `now` (both ends inclusive). */
export function grantActiveAt(grant: CapabilityGrantV1, now: number): boolean {
  return grant.not_before <= now && now <= grant.not_after;
}

/**
 * Whether the grant, ignoring time, lets its holder perform `action` on
 * every subject matched by `resource` (a concrete subject or a pattern).
 */
export function grantPermits(grant: CapabilityGrantV1, action: string, resource: string): boolean {
  return actionCovers(grant.action, action) && patternCovers(grant.resource, resource);
}
