/**
 * The capability lattice and delegation chains (DESIGN §4, OBJ-ARP-02,
 * INV-F-05). This file is the allow-list of public names; import from here.
 */
export {
  CAPABILITY_ERROR_CODES,
  CapabilityError,
  type CapabilityErrorCode,
  type CapabilityErrorContext,
  type CapabilityErrorKind,
  type GrantField,
} from './capability-error.js';
export { actionCovers, patternCovers, subjectMatches } from './subject-pattern.js';
export { coverGap, grantActiveAt, grantCovers, grantPermits, type CoverGap } from './grant-order.js';
export {
  checkManifestPermits,
  checkStrictNarrowing,
  manifestLeq,
  manifestPermits,
  manifestWindow,
  normalizeManifest,
  type LinkContext,
  type PermittingGrant,
} from './manifest-order.js';
export {
  ChainVerifier,
  verifyChain,
  type Authorization,
  type ChainVerifierOptions,
  type ChainVerifierStats,
  type RevocationLookup,
  type VerifiedChain,
} from './chain-verifier.js';
export {
  delegate,
  DelegationV1,
  DelegationV1Schema,
  MAX_CHAIN_LINKS,
  verifyLink,
  type LinkFacts,
  type ValidityWindow,
} from '../v1/delegation.js';
