/**
 * Proof that a unit report's holon id is backed by a key its reporter holds
 * (DESIGN §3: a PROVISIONED report is accepted only for a holon key the report
 * proves it holds). The holon key signs
 *
 *   "holonet/holon-key-proof/v1" ‖ 0x00 ‖ request digest ‖ 0x00 ‖ holon id
 *
 * so the proof binds that key to exactly one provisioning request: a machine
 * that knows only another holon's public id cannot make it, and a proof made
 * for one request is worthless for another. Both halves side by side.
 */
import type { CasDigest } from '../digest.js';
import { idPublicKey, type HolonIdV1 } from '../ids.js';
import { verifyEd25519, type Signer } from '../keys.js';
import { base64url } from '../schema.js';

const TAG = 'holonet/holon-key-proof/v1';

/** An Ed25519 signature by the holon key, unpadded base64url. */
export const HolonKeyProofSchema = base64url({ minBytes: 64, maxBytes: 64, description: 'the holon key signing the request digest and holon id (holonet/holon-key-proof/v1)' });

function proofMessage(requestDigest: CasDigest, holonId: HolonIdV1): Uint8Array {
  return new TextEncoder().encode(`${TAG}\u0000${requestDigest}\u0000${holonId}`);
}

/** The holon key's proof for `requestDigest` (the agent, inside the unit's creation). */
export function proveHolonKey(requestDigest: CasDigest, holonId: HolonIdV1, holonKey: Signer): string {
  return Buffer.from(holonKey.sign(proofMessage(requestDigest, holonId))).toString('base64url');
}

/** True iff `proof` is the key of `holonId` signing `requestDigest` (the cell, before issuing anything). */
export function verifyHolonKeyProof(requestDigest: CasDigest, holonId: HolonIdV1, proof: string): boolean {
  const sig = new Uint8Array(Buffer.from(proof, 'base64url'));
  return verifyEd25519(idPublicKey(holonId, 'holon'), proofMessage(requestDigest, holonId), sig);
}
