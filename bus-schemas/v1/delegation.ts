/**
 * DelegationV1: one link of a capability delegation chain (DESIGN §4).
 *
 *   root link:   parent = null,             issuer = the principal (a trusted root key)
 *   other links: parent = digest of parent, issuer = the parent link's subject
 *
 * The issuer seals the link, so a link both names its parent by content
 * address and is signed by the key the parent delegated to. Holon and cell
 * ids are the same Ed25519 keys under another prefix: convert them with
 * `convertId(id, 'key')` to name a subject.
 *
 * Both halves live here: `delegate` builds and seals a link and refuses
 * anything that is not a strict narrowing of its parent; `verifyLink` checks
 * one link against the verified facts of its parent. ChainVerifier
 * (bus-schemas/capability/chain-verifier.ts) runs `verifyLink` along a chain
 * and memoizes the facts by digest.
 */
import { CapabilityError } from '../capability/capability-error.js';
import { checkStrictNarrowing, manifestWindow } from '../capability/manifest-order.js';
import type { CasDigest } from '../digest.js';
import { SealError } from '../errors.js';
import { encodeId, PublicKeyIdSchema, type PublicKeyIdV1 } from '../ids.js';
import type { Signer } from '../keys.js';
import { nullable, object, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CapabilityManifestV1, CapabilityManifestV1Schema, type CapabilityManifestV1 as Manifest } from './capability-manifest.js';
import { CasDigestSchema } from './cas-digest.js';
import { MAX_UNIX_MS, TimeEnvelopeRefSchema, timeAt, type TimeEnvelopeRef } from './time-envelope.js';

export const DelegationV1Schema = object(
  {
    parent: nullable(CasDigestSchema),
    issuer: PublicKeyIdSchema,
    subject: PublicKeyIdSchema,
    manifest: CapabilityManifestV1Schema,
    issued_at: TimeEnvelopeRefSchema,
    issuer_seal: AuthoritySealV1Schema,
  },
  'DelegationV1: one link of a delegation chain, sealed by its issuer, naming its parent by digest',
);
export type DelegationV1 = Infer<typeof DelegationV1Schema>;
export const DelegationV1 = defineSealedObject('DelegationV1', DelegationV1Schema, 'issuer_seal', {
  maxBytes: 40 * 1024,
});

/**
 * Longest chain accepted: max_depth ≤ 255 falls by at least one per link, so
 * a valid chain has at most 256 links (depths 0…255).
 */
export const MAX_CHAIN_LINKS = 256;

/** A validity window, both ends inclusive, in Unix milliseconds. */
export interface ValidityWindow {
  not_before: number;
  not_after: number;
}

/**
 * What a verified link establishes. None of it depends on the time of use or
 * on revocation, so it can be cached by digest.
 */
export interface LinkFacts {
  digest: CasDigest;
  /** 0 for the root link. */
  depth: number;
  /** The trusted key the chain starts at. */
  root: PublicKeyIdV1;
  issuer: PublicKeyIdV1;
  subject: PublicKeyIdV1;
  manifest: Manifest;
  issuedAt: number;
  /**
   * The envelope of the manifest's grant windows, inside the parent's window
   * (an empty manifest inherits its parent's). Windows nest down a chain.
   */
  window: ValidityWindow;
}

const FULL_WINDOW: ValidityWindow = { not_before: 0, not_after: MAX_UNIX_MS };

/**
 * Build and seal a link delegating `manifest` to `subject`. With a null
 * parent this is a root link and `issuer` must be the principal's signer.
 * Otherwise `issuer` must hold the parent link's subject key, the parent's
 * window must contain `now`, and `manifest` must be a strict narrowing of the
 * parent's manifest. Refusals are CapabilityErrors (MalformedError for a
 * manifest that does not parse).
 */
export function delegate(
  parent: DelegationV1 | null,
  issuer: Signer,
  subject: PublicKeyIdV1,
  manifest: Manifest,
  now: number | TimeEnvelopeRef,
): DelegationV1 {
  const issuedAt = TimeEnvelopeRefSchema.parseAt(typeof now === 'number' ? timeAt(now) : now, '$.issued_at');
  const parsed = CapabilityManifestV1.parse(manifest);
  const issuerKey = encodeId('key', issuer.publicKey);
  PublicKeyIdSchema.parseAt(subject, '$.subject');
  if (parent !== null) {
    if (issuerKey !== parent.subject) {
      throw new CapabilityError('broken-chain', `issuer ${issuerKey} is not the parent link's subject ${parent.subject}`, {
        allowed: parent.subject,
        requested: issuerKey,
      });
    }
    if (issuedAt.unix_ms < parent.issued_at.unix_ms) {
      throw new CapabilityError('not-yet-valid', 'the parent link was issued after now', {
        allowed: parent.issued_at.unix_ms,
        requested: issuedAt.unix_ms,
      });
    }
    checkWindow(manifestWindow(parent.manifest) ?? FULL_WINDOW, issuedAt.unix_ms, {});
    checkStrictNarrowing(parent.manifest, parsed);
  }
  return DelegationV1.seal(
    { parent: parent === null ? null : DelegationV1.digest(parent), issuer: issuerKey, subject, manifest: parsed, issued_at: issuedAt },
    issuer,
  );
}

/**
 * Verify one link at chain position `depth` against the facts of its
 * (already verified) parent, or as a root link if `parent` is null. Checks
 * shape and position, trusted root / parent digest / issuer = parent
 * subject and issue order (all cheap), then the seal (one Ed25519
 * verification), and only then — on content the issuer really signed —
 * strict narrowing. `digest`, if given, must be DelegationV1.digest(link).
 * Does not look at the time of use or at revocation (see ChainVerifier).
 */
export function verifyLink(
  link: DelegationV1,
  parent: LinkFacts | null,
  trustedRoots: ReadonlySet<string>,
  digest: CasDigest = DelegationV1.digest(link),
): LinkFacts {
  const checked = DelegationV1.parse(link);
  const depth = parent === null ? 0 : parent.depth + 1;
  const at = { linkDepth: depth, linkDigest: digest };
  if (parent === null) {
    if (checked.parent !== null) throw new CapabilityError('broken-chain', 'the first link is not a root link (it names a parent)', at);
    if (!trustedRoots.has(checked.issuer)) {
      throw new CapabilityError('untrusted-root', `root issuer ${checked.issuer} is not a trusted root key`, {
        ...at,
        requested: checked.issuer,
      });
    }
  } else {
    if (checked.parent === null) throw new CapabilityError('broken-chain', 'a root link appears below the top of the chain', at);
    if (checked.parent !== parent.digest) {
      throw new CapabilityError('broken-chain', `names parent ${checked.parent}, but the previous link is ${parent.digest}`, {
        ...at,
        allowed: parent.digest,
        requested: checked.parent,
      });
    }
    if (checked.issuer !== parent.subject) {
      throw new CapabilityError('broken-chain', `issuer ${checked.issuer} is not the previous link's subject ${parent.subject}`, {
        ...at,
        allowed: parent.subject,
        requested: checked.issuer,
      });
    }
    if (checked.issued_at.unix_ms < parent.issuedAt) {
      throw new CapabilityError('broken-chain', 'issued before its parent link', {
        ...at,
        allowed: parent.issuedAt,
        requested: checked.issued_at.unix_ms,
      });
    }
  }
  try {
    DelegationV1.verify(checked, checked.issuer);
  } catch (e) {
    if (!(e instanceof SealError)) throw e;
    throw new CapabilityError('broken-chain', `issuer seal does not verify (${e.reason})`, { ...at, cause: e });
  }
  if (parent !== null) checkStrictNarrowing(parent.manifest, checked.manifest, at);
  const own = manifestWindow(checked.manifest);
  const inherited = parent === null ? FULL_WINDOW : parent.window;
  return {
    digest,
    depth,
    root: parent === null ? checked.issuer : parent.root,
    issuer: checked.issuer,
    subject: checked.subject,
    manifest: checked.manifest,
    issuedAt: checked.issued_at.unix_ms,
    window: own === null ? inherited : intersect(own, inherited),
  };
}

function intersect(a: ValidityWindow, b: ValidityWindow): ValidityWindow {
  return { not_before: Math.max(a.not_before, b.not_before), not_after: Math.min(a.not_after, b.not_after) };
}

/** Throws `not-yet-valid` / `expired` unless `now` lies in `window`. */
export function checkWindow(
  window: ValidityWindow,
  now: number,
  context: { linkDepth?: number; linkDigest?: CasDigest },
): void {
  if (now < window.not_before) {
    throw new CapabilityError('not-yet-valid', `valid only from ${window.not_before} (now ${now})`, {
      ...context,
      field: 'not_before',
      allowed: window.not_before,
      requested: now,
    });
  }
  if (now > window.not_after) {
    throw new CapabilityError('expired', `valid only until ${window.not_after} (now ${now})`, {
      ...context,
      field: 'not_after',
      allowed: window.not_after,
      requested: now,
    });
  }
}
