/**
 * bus-schemas: the protocol, pure. The allow-list of the core's public names;
 * the sub-folders have their own (v1/, capability/, merkle/, tpm/, ledger/).
 */
export { canonicalBytes, canonicalString } from './canonical.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { digestOf, digestRaw, isCasDigest, sha256, toCasDigest, type CasDigest } from './digest.js';
export { HolonError, MalformedError, OversizeError, SealError } from './errors.js';
export {
  CellIdSchema,
  HolonIdSchema,
  PublicKeyIdSchema,
  convertId,
  decodeId,
  encodeId,
  idPublicKey,
  type CellIdV1,
  type HolonIdV1,
  type IdKind,
  type PublicKeyIdV1,
} from './ids.js';
export { KeyError, generateEd25519, publicKeyFromSeed, signerFromSeed, verifyEd25519, type Signer } from './keys.js';
export { AuthoritySealV1Schema, makeSeal, verifySealOver, type AuthoritySealV1 } from './seal.js';
export { defineObject, defineSealedObject, type SealedWireType, type WireType } from './wire.js';
