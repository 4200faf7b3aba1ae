/**
 * What enrollment issues: the machine's HolonCertificateV1 (role HOST, the
 * machine key as a holon id, no parent: it hangs under the cell) and the
 * NATS permissions its user JWT carries — its own subjects and inbox only.
 * The certificate's capability_manifest_digest names exactly that grant; its
 * delegation_digest names the authority that let it in (the principal's
 * MachineApprovalV1, or the PolicyV1 that pre-approved its EK).
 */
import { digestOf } from '../bus-schemas/digest.js';
import { HolonError } from '../bus-schemas/errors.js';
import { convertId, type CellIdV1, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { Signer } from '../bus-schemas/keys.js';
import { machineGrant, type UserGrant } from '../bus-schemas/grants.js';
import type { CellCertificateV1 } from '../bus-schemas/v1/cell-certificate.js';
import { HolonCertificateV1 } from '../bus-schemas/v1/holon-certificate.js';

/** The subjects an enrolled machine's NATS user may use (bus-schemas/grants machineGrant). */
export type HostGrant = UserGrant;

export function hostGrant(machineId: PublicKeyIdV1, cellId: CellIdV1): HostGrant {
  return machineGrant(machineId, cellId);
}

export const HOST_GRANT_TAG = 'holonet/host-nats-grant/v1';

/** Mints a NATS user JWT for the agent's own nkey (the seed never leaves the machine). */
export interface CredentialMinter {
  mintHostUser(opts: { userKey: string; grant: HostGrant; expiresAt: number }): Promise<string>;
}

/** The credential port failed (bad seed, unsupported key): an internal problem of the cell. */
export class EnrollmentError extends HolonError {
  static readonly CODE = 'HOLON_E_ENROLLMENT';
  readonly machineId: string;
  constructor(machineId: string, message: string, options?: { cause?: unknown }) {
    super(EnrollmentError.CODE, `enrollment of ${machineId}: ${message}`, options);
    this.machineId = machineId;
  }
}

export function issueHostCertificate(opts: {
  machineId: PublicKeyIdV1;
  cell: { signer: Signer; certificate: CellCertificateV1 };
  serial: number;
  delegationDigest: string;
  now: number;
  validityMs: number;
}): HolonCertificateV1 {
  const grant = hostGrant(opts.machineId, opts.cell.certificate.cell_id);
  const notAfter = Math.min(opts.now + opts.validityMs, opts.cell.certificate.not_after);
  if (notAfter < opts.now) throw new EnrollmentError(opts.machineId, 'the cell certificate has expired');
  return HolonCertificateV1.seal(
    {
      holon_id: convertId(opts.machineId, 'holon'),
      role: 'HOST',
      cell_id: opts.cell.certificate.cell_id,
      parent_holon: null,
      capability_manifest_digest: digestOf(HOST_GRANT_TAG, { publish: grant.publish, subscribe: grant.subscribe }),
      delegation_digest: opts.delegationDigest as `sha256:${string}`,
      not_before: opts.now,
      not_after: notAfter,
      serial: opts.serial,
    },
    opts.cell.signer,
  );
}
