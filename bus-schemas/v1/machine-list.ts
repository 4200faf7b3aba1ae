/**
 * `api.machines.list`: the principal asks a cell for its machines
 * (MachineListRequestV1, sealed by the principal) and the cell answers with a
 * page of rows (MachineListV1, sealed by the cell). `holonctl machines` pages
 * through with `after`.
 *
 * These two wire objects belong in bus-schemas/v1/ (both cli/ and
 * orchestrator/ use them); they live here until that folder's owner moves
 * them. They import nothing but bus-schemas/.
 */
import { CellIdSchema, PublicKeyIdSchema } from '../ids.js';
import { array, boolean, enumeration, integer, nullable, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CasDigestSchema } from './cas-digest.js';
import { sameKey } from './holon-certificate.js';
import { NonceSchema } from './machine-attestation.js';
import { TimeEnvelopeRefSchema, UnixMsSchema } from './time-envelope.js';

/** Where a machine stands in a cell's registry (UNKNOWN: approved before its first hello). */
export const REGISTRY_STATES = ['UNKNOWN', 'CHALLENGED', 'ATTESTED', 'ENROLLED', 'REFUSED'] as const;

export const MAX_MACHINES_PER_PAGE = 500;

export const MachineListRequestV1Schema = object(
  {
    cell_id: CellIdSchema,
    /** exclusive cursor: the last machine id of the previous page */
    after: optional(PublicKeyIdSchema),
    limit: integer({ min: 1, max: MAX_MACHINES_PER_PAGE }),
    request_nonce: NonceSchema,
    sent_at: TimeEnvelopeRefSchema,
    principal_seal: AuthoritySealV1Schema,
  },
  'MachineListRequestV1: the principal asks a cell for its machines',
);
export type MachineListRequestV1 = Infer<typeof MachineListRequestV1Schema>;
export const MachineListRequestV1 = defineSealedObject('MachineListRequestV1', MachineListRequestV1Schema, 'principal_seal', { maxBytes: 2048 });

export const MachineRowV1Schema = object(
  {
    machine_id: PublicKeyIdSchema,
    state: enumeration(REGISTRY_STATES),
    /** null until the machine said hello */
    software_only: nullable(boolean()),
    ek_hash: optional(CasDigestSchema),
    ek_trusted_by: optional(enumeration(['certificate', 'allow-list'] as const)),
    approval: optional(object({ source: enumeration(['principal', 'policy'] as const), machine_class: optional(string({ min: 1, max: 64 })), expires_at: UnixMsSchema })),
    refusal: optional(object({ code: string({ min: 9, max: 64, pattern: /^HOLON_E_[A-Z0-9_]+$/ }), reason: string({ min: 1, max: 512 }), at: UnixMsSchema })),
    certificate_serial: optional(integer({ min: 1 })),
    since: UnixMsSchema,
    /** enrolled machines: heard from lately (heartbeats, metering), and when last */
    liveness: optional(object({ reachable: boolean(), last_seen: nullable(UnixMsSchema) })),
  },
  'one machine of a cell',
);
export type MachineRowV1 = Infer<typeof MachineRowV1Schema>;

export const MachineListV1Schema = refine(
  object(
    {
      cell_id: CellIdSchema,
      machines: array(MachineRowV1Schema, { max: MAX_MACHINES_PER_PAGE }),
      /** more rows follow the last one of this page */
      more: boolean(),
      total: integer({ min: 0 }),
      at: TimeEnvelopeRefSchema,
      cell_seal: AuthoritySealV1Schema,
    },
    'MachineListV1: a page of a cell’s machines, sealed by the cell',
  ),
  (l) => (!sameKey(l.cell_seal.key, l.cell_id) ? { path: '.cell_seal.key', reason: 'not sealed by cell_id' } : undefined),
);
export type MachineListV1 = Infer<typeof MachineListV1Schema>;
export const MachineListV1 = defineSealedObject('MachineListV1', MachineListV1Schema, 'cell_seal', { maxBytes: 512 * 1024 });
