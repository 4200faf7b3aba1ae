import { CellIdSchema, convertId, HolonIdSchema } from '../ids.js';
import { integer, nullable, object, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CasDigestSchema } from './cas-digest.js';
import { HolonRoleSchema } from './holon-role.js';
import { UnixMsSchema } from './time-envelope.js';

/**
 * True iff two ids of any kinds (hkey1…, holon1…, cell1…) name the same
 * Ed25519 public key: a cell's seal is made with the key its cell id is.
 * Both must already be valid ids (parse them first).
 */
export function sameKey(a: string, b: string): boolean {
  return convertId(a, 'key') === convertId(b, 'key');
}

/**
 * HolonCertificateV1: the cell's signed statement that `holon_id` (a key) is
 * a holon of `role` in `cell_id`, under `parent_holon`, holding the
 * capability manifest and delegation named by digest, for a window of time.
 * Certificates are leaves of the directory log (§9); `serial` is the cell's
 * issue counter, unique per cell.
 *
 * `parent_holon` is null only for a machine enrolled as a HOST holon, which
 * hangs directly under its cell; every provisioned unit has a parent (the
 * requesting holon, which for the principal is its root key as a holon id).
 */
export const HolonCertificateV1Schema = refine(
  object(
    {
      holon_id: HolonIdSchema,
      role: HolonRoleSchema,
      cell_id: CellIdSchema,
      parent_holon: nullable(HolonIdSchema),
      capability_manifest_digest: CasDigestSchema,
      delegation_digest: CasDigestSchema,
      not_before: UnixMsSchema,
      not_after: UnixMsSchema,
      serial: integer({ min: 1, description: 'issue counter of the cell, unique per cell' }),
      cell_seal: AuthoritySealV1Schema,
    },
    'HolonCertificateV1: a cell-signed binding of a holon key to its role, parent, capabilities and window',
  ),
  (c) => {
    if (c.not_after < c.not_before) return { path: '.not_after', reason: 'window ends before it begins' };
    if (c.parent_holon === c.holon_id) return { path: '.parent_holon', reason: 'a holon cannot be its own parent' };
    if (c.role === 'HOST' && c.parent_holon !== null) {
      return { path: '.parent_holon', reason: 'a HOST holon hangs directly under its cell (parent must be null)' };
    }
    if (c.role !== 'HOST' && c.parent_holon === null) {
      return { path: '.parent_holon', reason: `a ${c.role} holon must name its parent` };
    }
    if (!sameKey(c.cell_seal.key, c.cell_id)) return { path: '.cell_seal.key', reason: 'not sealed by the key of cell_id' };
    return undefined;
  },
);
export type HolonCertificateV1 = Infer<typeof HolonCertificateV1Schema>;
export const HolonCertificateV1 = defineSealedObject('HolonCertificateV1', HolonCertificateV1Schema, 'cell_seal', {
  maxBytes: 4096,
});
