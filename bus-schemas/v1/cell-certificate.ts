import { CellIdSchema, PublicKeyIdSchema } from '../ids.js';
import { array, object, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { HOLON_ROLES, HolonRoleSchema } from './holon-role.js';
import { UnixMsSchema } from './time-envelope.js';

/** A cell name: a DNS label (lowercase letters, digits, inner hyphens, ≤ 63). */
export const CELL_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * CellCertificateV1: the principal's signed statement that `cell_id` (the
 * orchestrator's key) runs the cell `name`, may issue holons of
 * `allowed_roles`, for a window of time. Agents pin the principal key at
 * install and refuse an orchestrator whose certificate does not end there.
 * Sealed by `principal_key` (checked at parse time).
 */
export const CellCertificateV1Schema = refine(
  object(
    {
      cell_id: CellIdSchema,
      name: string({ min: 1, max: 63, pattern: CELL_NAME_PATTERN, format: 'a DNS label like eu-west-1' }),
      principal_key: PublicKeyIdSchema,
      not_before: UnixMsSchema,
      not_after: UnixMsSchema,
      /** sorted in HolonRole declaration order, no duplicates */
      allowed_roles: array(HolonRoleSchema, { min: 1, max: HOLON_ROLES.length }),
      principal_seal: AuthoritySealV1Schema,
    },
    'CellCertificateV1: a principal-signed certificate of an orchestrator cell',
  ),
  (c) => {
    if (c.not_after < c.not_before) return { path: '.not_after', reason: 'window ends before it begins' };
    for (let i = 1; i < c.allowed_roles.length; i++) {
      const prev = HOLON_ROLES.indexOf(c.allowed_roles[i - 1] as (typeof HOLON_ROLES)[number]);
      const cur = HOLON_ROLES.indexOf(c.allowed_roles[i] as (typeof HOLON_ROLES)[number]);
      if (cur === prev) return { path: `.allowed_roles[${i}]`, reason: 'role listed twice' };
      if (cur < prev) return { path: `.allowed_roles[${i}]`, reason: 'roles must follow the HolonRole order' };
    }
    if (c.principal_seal.key !== c.principal_key) return { path: '.principal_seal.key', reason: 'not sealed by principal_key' };
    return undefined;
  },
);
export type CellCertificateV1 = Infer<typeof CellCertificateV1Schema>;
export const CellCertificateV1 = defineSealedObject('CellCertificateV1', CellCertificateV1Schema, 'principal_seal', {
  maxBytes: 4096,
});
