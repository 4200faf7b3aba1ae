import { randomBytes } from 'node:crypto';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import type { CellBootstrapPolicy } from '../../bus-schemas/bootstrap/cell-side.js';
import type { HelloBody } from '../../bus-schemas/bootstrap/agent-side.js';
import { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { platformReport, resourceCapacity } from '../bus-schemas/v1/samples.js';

export const DAY = 86_400_000;

export function newSigner(): Signer {
  return signerFromSeed(generateEd25519().seed);
}

export const keyOf = (s: Signer): PublicKeyIdV1 => encodeId('key', s.publicKey);

export interface Authority {
  principal: Signer;
  cell: Signer;
  certificate: CellCertificateV1;
}

export function makeAuthority(now: number, principal = newSigner()): Authority {
  const cell = newSigner();
  const certificate = CellCertificateV1.seal(
    {
      cell_id: encodeId('cell', cell.publicKey),
      name: 'test-cell',
      principal_key: keyOf(principal),
      not_before: now - DAY,
      not_after: now + 365 * DAY,
      allowed_roles: ['BUILD_WORKER', 'GENERAL_COMPUTE', 'HOST'],
    },
    principal,
  );
  return { principal, cell, certificate };
}

export const ADMISSION = { epoch: 7, difficulty: 4 };

export function basePolicy(overrides: Partial<CellBootstrapPolicy> = {}): CellBootstrapPolicy {
  return {
    tpm: 'optional',
    ekRoots: [],
    ekAllowList: [],
    pcrSelection: { bank: 'sha256', pcrs: [0, 1, 2, 3, 7] },
    maxClockSkewMs: 5 * 60_000,
    challengeTtlMs: 60_000,
    deniedJurisdictions: ['RU'],
    trustedProviders: [],
    ...overrides,
  };
}

/** A NATS user public key shape (the bytes do not matter to bootstrap). */
export const NATS_USER_KEY = 'U' + 'A'.repeat(55);

export function helloBody(tpm?: { ekPublic: Uint8Array; akPublic: Uint8Array; ekCertificate?: Uint8Array | undefined }): HelloBody {
  const report = platformReport();
  return {
    nats_user_key: NATS_USER_KEY,
    platform_report: tpm ? report : { ...report, tpm: { present: false, version: null } },
    resource_capacity: resourceCapacity(),
    network_addresses: [],
    ...(tpm
      ? {
          tpm: {
            ek_public: Buffer.from(tpm.ekPublic).toString('base64url'),
            ak_public: Buffer.from(tpm.akPublic).toString('base64url'),
            ...(tpm.ekCertificate ? { ek_certificate: Buffer.from(tpm.ekCertificate).toString('base64url') } : {}),
          },
        }
      : {}),
  };
}

export const randomNonce = (): string => randomBytes(32).toString('base64url');
