/** Keys, grants and ready-made delegation chains for the capability tests and the benchmark. */
import { delegate, type DelegationV1 } from '../../bus-schemas/capability/index.js';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import type { CapabilityGrantV1, CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';

export interface Party {
  signer: Signer;
  key: PublicKeyIdV1;
}

export function party(): Party {
  const signer = signerFromSeed(generateEd25519().seed);
  return { signer, key: encodeId('key', signer.publicKey) };
}

export const T0 = 1_700_000_000_000;
export const DAY = 86_400_000;

export function grant(overrides: Partial<CapabilityGrantV1> & { max_depth?: number } = {}): CapabilityGrantV1 {
  const { max_depth: depth, ...rest } = overrides;
  return {
    action: '/',
    resource: '>',
    caps: {
      max_children: 1000,
      max_depth: depth ?? 8,
      rate_per_epoch: 10_000,
      cpu_seconds: 1_000_000,
      gpu_seconds: 1000,
      storage_bytes: 1e12,
      egress_bytes: 1e12,
      cost_usd_cents: 1_000_000,
    },
    not_before: T0 - DAY,
    not_after: T0 + 365 * DAY,
    ...rest,
  };
}

/** Every grant one depth lower (and a little smaller): a valid strict narrowing. */
export function narrowed(m: CapabilityManifestV1): CapabilityManifestV1 {
  return {
    grants: m.grants.map((g) => ({
      ...g,
      caps: { ...g.caps, max_depth: g.caps.max_depth - 1, max_children: Math.max(0, g.caps.max_children - 1) },
    })),
  };
}

export interface Chain {
  links: DelegationV1[];
  /** parties[i] issues links[i] and parties[i + 1] is its subject; parties[0] is the principal. */
  parties: Party[];
}

/**
 * A chain of `depth + 1` links (root at depth 0, leaf at `depth`) built with
 * `delegate`; the root manifest has max_depth `depth` unless given.
 */
export function buildChain(depth: number, rootManifest?: CapabilityManifestV1, now = T0): Chain {
  const parties = [party()];
  let manifest = rootManifest ?? {
    grants: [
      grant({ action: '/provision', resource: 'holon.>', max_depth: depth }),
      grant({ action: '/bus/publish', resource: 'holon.*.evt', max_depth: depth }),
    ],
  };
  const links: DelegationV1[] = [];
  let parent: DelegationV1 | null = null;
  for (let d = 0; d <= depth; d++) {
    const subject = party();
    parties.push(subject);
    const link = delegate(parent, (parties[d] as Party).signer, subject.key, manifest, now);
    links.push(link);
    parent = link;
    manifest = narrowed(manifest);
  }
  return { links, parties };
}

/** A further link under the leaf of `chain`, to a fresh subject. */
export function extend(chain: Chain, manifest?: CapabilityManifestV1, now = T0): { link: DelegationV1; subject: Party } {
  const leaf = chain.links[chain.links.length - 1] as DelegationV1;
  const issuer = chain.parties[chain.parties.length - 1] as Party;
  const subject = party();
  return { link: delegate(leaf, issuer.signer, subject.key, manifest ?? narrowed(leaf.manifest), now), subject };
}
