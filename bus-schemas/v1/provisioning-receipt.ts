import { CellIdSchema, HolonIdSchema } from '../ids.js';
import { object, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CapabilityManifestV1, CapabilityManifestV1Schema } from './capability-manifest.js';
import { CasDigestSchema } from './cas-digest.js';
import { HolonCertificateV1Schema, sameKey } from './holon-certificate.js';
import { ResourceBudgetV1Schema } from './resource-budget.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * ProvisioningReceiptV1 (OBJ-ARP-05): the cell's signed statement that the
 * request with `request_digest` was carried out: the holon exists, runs in
 * `assigned_cell_id` under `parent_holon`, holds exactly `capability_manifest`
 * and `resource_budget`, and was issued `issued_certificate`.
 *
 * `principal_seal` keeps the RFC's name but is the CELL's seal (by the key of
 * `assigned_cell_id`, checked at parse time): the cell is the authority that
 * issued the holon, under a CellCertificate the principal signed; the
 * principal's own key stays offline and never signs receipts.
 *
 * Parse-time consistency with the certificate it carries: same holon, same
 * cell, same parent, and the certificate's manifest digest is the digest of
 * `capability_manifest`. A re-sent request returns the identical receipt.
 */
export const ProvisioningReceiptV1Schema = refine(
  object(
    {
      request_digest: CasDigestSchema,
      assigned_holon_id: HolonIdSchema,
      assigned_cell_id: CellIdSchema,
      issued_certificate: HolonCertificateV1Schema,
      capability_manifest: CapabilityManifestV1Schema,
      resource_budget: ResourceBudgetV1Schema,
      parent_holon: HolonIdSchema,
      provisioned_at: TimeEnvelopeRefSchema,
      principal_seal: AuthoritySealV1Schema,
    },
    'ProvisioningReceiptV1: a cell-signed receipt for a provisioned holon',
  ),
  (r) => {
    const cert = r.issued_certificate;
    if (cert.holon_id !== r.assigned_holon_id) return { path: '.issued_certificate.holon_id', reason: 'differs from assigned_holon_id' };
    if (cert.cell_id !== r.assigned_cell_id) return { path: '.issued_certificate.cell_id', reason: 'differs from assigned_cell_id' };
    if (cert.parent_holon !== r.parent_holon) return { path: '.issued_certificate.parent_holon', reason: 'differs from parent_holon' };
    if (cert.capability_manifest_digest !== CapabilityManifestV1.digest(r.capability_manifest)) {
      return { path: '.issued_certificate.capability_manifest_digest', reason: 'is not the digest of capability_manifest' };
    }
    if (!sameKey(r.principal_seal.key, r.assigned_cell_id)) {
      return { path: '.principal_seal.key', reason: 'not sealed by the key of assigned_cell_id' };
    }
    return undefined;
  },
);
export type ProvisioningReceiptV1 = Infer<typeof ProvisioningReceiptV1Schema>;
export const ProvisioningReceiptV1 = defineSealedObject('ProvisioningReceiptV1', ProvisioningReceiptV1Schema, 'principal_seal', {
  maxBytes: 64 * 1024,
});
