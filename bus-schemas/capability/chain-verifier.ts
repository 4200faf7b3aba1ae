/**
 * ChainVerifier: checks a delegation chain at every use (DESIGN §4) and
 * memoizes verified prefixes by digest, so a warm check — a new leaf under a
 * prefix already verified — costs one Ed25519 verification at any depth.
 *
 * Why the warm path is sound. What `verifyLink` establishes about a link —
 * its seal, that it names its parent's digest, that its issuer is the
 * parent's subject, that it strictly narrows the parent's manifest, that the
 * chain above it starts at a trusted root — depends only on the link's bytes
 * and those of its ancestors, and a digest fixes all of them (each link seals
 * its parent's digest). The trusted roots are fixed at construction. So the
 * facts cached under a digest stay true forever, and a leaf whose parent
 * digest is cached needs only its own checks against the cached parent facts.
 * The links of the supplied chain above the first uncached one are therefore
 * not re-read: the uncached link's seal commits to its parent's digest, and
 * the cache holds exactly what was verified for that digest.
 * Two things do change over time and are checked on every call, warm or cold:
 *  - time: each link's window lies inside its parent's (grant windows nest
 *    under coverage; an empty manifest inherits its parent's window) and
 *    issue times never decrease down a chain, so `now` inside the leaf's
 *    window and after the leaf's issue time means the same for every link;
 *  - revocation: a revoked link revokes all of its descendants, so every link
 *    from the leaf to the root is looked up on every call — a walk of parent
 *    pointers with one set lookup each, no hashing, no signatures. A link
 *    found revoked is marked (stickily) and it and its cached descendants are
 *    evicted.
 */
import type { CasDigest } from '../digest.js';
import { MalformedError } from '../errors.js';
import type { PublicKeyIdV1 } from '../ids.js';
import { ACTION_PATTERN, RESOURCE_PATTERN, type CapabilityGrantV1, type CapabilityManifestV1 } from '../v1/capability-manifest.js';
import {
  checkWindow,
  DelegationV1,
  MAX_CHAIN_LINKS,
  verifyLink,
  type LinkFacts,
  type ValidityWindow,
} from '../v1/delegation.js';
import { CapabilityError } from './capability-error.js';
import { checkManifestPermits } from './manifest-order.js';

/**
 * Answers whether the link with this digest is revoked (e.g. from the
 * revocation KV bucket). If it throws, verification fails with that error.
 */
export type RevocationLookup = (digest: CasDigest) => boolean;

/** What a verified chain grants its leaf now. */
export interface VerifiedChain {
  /** Digest of the leaf link. */
  digest: CasDigest;
  /** Depth of the leaf (0 when the chain is only a root link). */
  depth: number;
  root: PublicKeyIdV1;
  subject: PublicKeyIdV1;
  /** The leaf's manifest: everything the chain grants its subject (frozen: it is shared with the cache). */
  manifest: CapabilityManifestV1;
  /** The leaf's window; it lies inside every ancestor's. */
  window: ValidityWindow;
}

export interface Authorization {
  chain: VerifiedChain;
  grant: CapabilityGrantV1;
  grantIndex: number;
}

export interface ChainVerifierOptions {
  /** Most links whose facts are kept (least recently used evicted first). Default 4096. */
  maxCached?: number;
}

export interface ChainVerifierStats {
  /** Ed25519 verifications done (one per link not found in the cache). */
  signatures: number;
  /** Calls whose leaf or some ancestor was found in the cache. */
  warm: number;
  /** Calls that verified from the root. */
  cold: number;
}

/** A link's place in the ancestry: kept by its descendants after eviction (small: no manifest). */
interface Ancestor {
  readonly digest: CasDigest;
  readonly depth: number;
  readonly window: ValidityWindow;
  readonly issuedAt: number;
  readonly parent: Ancestor | null;
  revoked: boolean;
}

interface Entry {
  facts: LinkFacts;
  node: Ancestor;
}

export class ChainVerifier {
  readonly #roots: ReadonlySet<string>;
  readonly #isRevoked: RevocationLookup | undefined;
  readonly #max: number;
  readonly #cache = new Map<CasDigest, Entry>();
  readonly #stats: ChainVerifierStats = { signatures: 0, warm: 0, cold: 0 };

  constructor(trustedRoots: Iterable<PublicKeyIdV1>, isRevoked?: RevocationLookup, options: ChainVerifierOptions = {}) {
    this.#roots = new Set(trustedRoots);
    this.#isRevoked = isRevoked;
    const max = options.maxCached ?? 4096;
    if (!Number.isSafeInteger(max) || max < 1) throw new MalformedError('$.maxCached', 'expected a positive integer');
    this.#max = max;
  }

  get stats(): Readonly<ChainVerifierStats> {
    return { ...this.#stats };
  }

  /** Number of links whose verified facts are cached. */
  get cached(): number {
    return this.#cache.size;
  }

  /**
   * Verify `chain` (root first, leaf last) for use at `now` (Unix ms).
   * Refuses with a CapabilityError: broken-chain (bad seal, wrong parent
   * digest, issuer ≠ previous subject, misplaced root), untrusted-root,
   * amplification / depth-exhausted, revoked, expired / not-yet-valid.
   */
  verify(chain: readonly DelegationV1[], now: number): VerifiedChain {
    if (!Number.isFinite(now)) throw new MalformedError('$.now', 'expected a finite time in Unix milliseconds');
    const n = chain.length;
    if (n === 0) throw new CapabilityError('broken-chain', 'the chain is empty');
    if (n > MAX_CHAIN_LINKS) {
      throw new CapabilityError('broken-chain', `the chain has ${n} links, more than ${MAX_CHAIN_LINKS}`, {
        allowed: MAX_CHAIN_LINKS,
        requested: n,
      });
    }
    // Walk up from the leaf to the deepest cached link, checking that each
    // uncached link's predecessor in the array is the link it names.
    const pending: { link: DelegationV1; digest: CasDigest }[] = [];
    let k = n - 1;
    let digest = DelegationV1.digest(chain[k] as DelegationV1);
    let hit = this.#touch(digest);
    while (hit === undefined) {
      const link = chain[k] as DelegationV1 | null;
      if (typeof link !== 'object' || link === null) throw new MalformedError(`$[${k}]`, 'expected a DelegationV1 object');
      pending.push({ link, digest });
      if (link.parent === null && k !== 0) {
        throw new CapabilityError('broken-chain', 'a root link appears below the top of the chain', {
          linkDepth: k,
          linkDigest: digest,
        });
      }
      // At the top: verifyLink checks that it is a root link by a trusted key.
      if (link.parent === null || k === 0) break;
      hit = this.#touch(link.parent);
      k -= 1;
      if (hit !== undefined) break;
      digest = DelegationV1.digest(chain[k] as DelegationV1);
      if (digest !== link.parent) {
        throw new CapabilityError('broken-chain', `names parent ${link.parent}, but the previous link is ${digest}`, {
          linkDepth: k + 1,
          allowed: digest,
          requested: link.parent,
        });
      }
    }
    if (hit !== undefined && hit.facts.depth !== k) {
      throw new CapabilityError('broken-chain', `link ${k} of the chain is a verified link of depth ${hit.facts.depth}`, {
        linkDepth: k,
        linkDigest: hit.facts.digest,
      });
    }
    this.#stats[hit === undefined ? 'cold' : 'warm'] += 1;

    let parent = hit;
    for (let p = pending.length - 1; p >= 0; p--) {
      const { link, digest: d } = pending[p] as { link: DelegationV1; digest: CasDigest };
      const facts = verifyLink(link, parent === undefined ? null : parent.facts, this.#roots, d);
      this.#stats.signatures += 1;
      parent = this.#insert(facts, parent?.node ?? null);
    }
    const leaf = parent as Entry;
    this.#checkRevocation(leaf.node);
    this.#checkTime(leaf.node, now);
    const f = leaf.facts;
    return { digest: f.digest, depth: f.depth, root: f.root, subject: f.subject, manifest: f.manifest, window: f.window };
  }

  /**
   * Verify `chain` and find a leaf grant that permits `action` (an action
   * path) on `resource` (a subject, or a pattern all of whose subjects must
   * be permitted) at `now`. Refuses with `denied` if none covers the request.
   */
  authorize(chain: readonly DelegationV1[], action: string, resource: string, now: number): Authorization {
    if (typeof action !== 'string' || action.length > 128 || !ACTION_PATTERN.test(action)) {
      throw new MalformedError('$.action', 'expected an action path like /provision/BUILD_WORKER');
    }
    if (typeof resource !== 'string' || resource.length > 256 || !RESOURCE_PATTERN.test(resource)) {
      throw new MalformedError('$.resource', 'expected a subject or subject pattern');
    }
    const verified = this.verify(chain, now);
    const found = checkManifestPermits(verified.manifest, action, resource, now, {
      linkDepth: verified.depth,
      linkDigest: verified.digest,
    });
    return { chain: verified, grant: found.grant, grantIndex: found.grantIndex };
  }

  /** Drop the cached facts of a link and of every cached descendant (e.g. on a revocation event). */
  forget(digest: CasDigest): number {
    const entry = this.#cache.get(digest);
    return entry === undefined ? 0 : this.#evictSubtree(entry.node);
  }

  #touch(digest: CasDigest): Entry | undefined {
    const entry = this.#cache.get(digest);
    if (entry !== undefined) {
      // Least-recently-used order: re-insert at the end.
      this.#cache.delete(digest);
      this.#cache.set(digest, entry);
    }
    return entry;
  }

  #insert(facts: LinkFacts, parent: Ancestor | null): Entry {
    // Cached facts are handed out to every later caller: make them immutable.
    for (const g of facts.manifest.grants) {
      Object.freeze(g.caps);
      Object.freeze(g);
    }
    Object.freeze(facts.manifest.grants);
    Object.freeze(facts.manifest);
    Object.freeze(facts.window);
    Object.freeze(facts);
    const node: Ancestor = {
      digest: facts.digest,
      depth: facts.depth,
      window: facts.window,
      issuedAt: facts.issuedAt,
      parent,
      revoked: false,
    };
    const entry = { facts, node };
    if (this.#cache.size >= this.#max) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(facts.digest, entry);
    return entry;
  }

  #checkRevocation(leaf: Ancestor): void {
    const lookup = this.#isRevoked;
    for (let a: Ancestor | null = leaf; a !== null; a = a.parent) {
      if (a.revoked || (lookup !== undefined && lookup(a.digest))) {
        a.revoked = true;
        this.#evictSubtree(a);
        throw new CapabilityError('revoked', `link ${a.digest} is revoked`, { linkDepth: a.depth, linkDigest: a.digest });
      }
    }
  }

  /** Windows nest, so the leaf decides; the error names the topmost link that is out of its window. */
  #checkTime(leaf: Ancestor, now: number): void {
    const w = leaf.window;
    if (now >= w.not_before && now <= w.not_after && now >= leaf.issuedAt) return;
    let culprit = leaf;
    for (let a = leaf.parent; a !== null; a = a.parent) {
      if (now < a.window.not_before || now > a.window.not_after || now < a.issuedAt) culprit = a;
    }
    const at = { linkDepth: culprit.depth, linkDigest: culprit.digest };
    if (now < culprit.issuedAt) {
      throw new CapabilityError('not-yet-valid', `issued at ${culprit.issuedAt}, after now (${now})`, {
        ...at,
        allowed: culprit.issuedAt,
        requested: now,
      });
    }
    checkWindow(culprit.window, now, at);
  }

  #evictSubtree(root: Ancestor): number {
    let evicted = 0;
    for (const [digest, entry] of this.#cache) {
      for (let a: Ancestor | null = entry.node; a !== null; a = a.parent) {
        if (a === root) {
          this.#cache.delete(digest);
          evicted += 1;
          break;
        }
      }
    }
    return evicted;
  }
}

/** One-shot verification with a fresh verifier (no memoization across calls). */
export function verifyChain(
  chain: readonly DelegationV1[],
  trustedRoots: Iterable<PublicKeyIdV1>,
  now: number,
  isRevoked?: RevocationLookup,
): VerifiedChain {
  return new ChainVerifier(trustedRoots, isRevoked).verify(chain, now);
}
