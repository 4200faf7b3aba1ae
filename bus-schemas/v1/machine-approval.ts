import { CellIdSchema, PublicKeyIdSchema } from '../ids.js';
import { object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { NonceSchema } from './machine-attestation.js';
import { UnixMsSchema } from './time-envelope.js';

/**
 * MachineApprovalV1: the principal's signed decision that an attested machine
 * may enroll in a cell (`holonctl approve`). Single-use by its nonce; valid
 * until `expires_at`. A machine becomes ENROLLED only with one of these (or a
 * principal-signed pre-approval of its EK hash in the policy).
 */
export const MachineApprovalV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      cell_id: CellIdSchema,
      machine_class: optional(string({ min: 1, max: 63, pattern: /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, format: 'a machine class label' })),
      approval_nonce: NonceSchema,
      approved_at: UnixMsSchema,
      expires_at: UnixMsSchema,
      principal_seal: AuthoritySealV1Schema,
    },
    'MachineApprovalV1: the principal approves one machine for one cell',
  ),
  (a) => (a.expires_at <= a.approved_at ? { path: '.expires_at', reason: 'expires before it was approved' } : undefined),
);
export type MachineApprovalV1 = Infer<typeof MachineApprovalV1Schema>;
export const MachineApprovalV1 = defineSealedObject('MachineApprovalV1', MachineApprovalV1Schema, 'principal_seal', {
  maxBytes: 2048,
});
