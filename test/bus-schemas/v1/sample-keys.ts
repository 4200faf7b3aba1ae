/**
 * Fixed test keys and helpers for the V1 samples. The seeds are test data
 * derived from names — never use these keys anywhere but tests.
 */
import { sha256 } from '../../../bus-schemas/digest.js';
import { encodeId, type CellIdV1, type HolonIdV1, type PublicKeyIdV1 } from '../../../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../../../bus-schemas/keys.js';

export const text = new TextEncoder();
export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** 32 fixed bytes derived from a name. */
export function testBytes(name: string): Uint8Array {
  return sha256(text.encode(`holonet-test-seed:${name}`));
}

export const SIGNERS = {
  principal: signerFromSeed(testBytes('principal')),
  cell: signerFromSeed(testBytes('cell-a')),
  witness: signerFromSeed(testBytes('cell-b')),
  machine: signerFromSeed(testBytes('machine')),
  provider: signerFromSeed(testBytes('provider')),
  requester: signerFromSeed(testBytes('requester-holon')),
  child: signerFromSeed(testBytes('child-holon')),
  landmark: signerFromSeed(testBytes('landmark-holon')),
} satisfies Record<string, Signer>;

export const keyId = (s: Signer): PublicKeyIdV1 => encodeId('key', s.publicKey);
export const holonId = (s: Signer): HolonIdV1 => encodeId('holon', s.publicKey);
export const cellId = (s: Signer): CellIdV1 => encodeId('cell', s.publicKey);

export const T0 = 1_700_000_000_000;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
