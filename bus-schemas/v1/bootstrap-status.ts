import { CellIdSchema, PublicKeyIdSchema } from '../ids.js';
import { boolean, enumeration, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { HolonCertificateV1Schema, sameKey } from './holon-certificate.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

export const MACHINE_STATES = ['CHALLENGED', 'ATTESTED', 'ENROLLED', 'REFUSED'] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/**
 * BootstrapStatusV1: the cell's signed answer to an attest or a status
 * request: where the machine stands. ENROLLED carries the machine's
 * HolonCertificateV1 (role HOST) and a NATS user JWT for the agent's own
 * nkey, limited to its own subjects. REFUSED carries the typed reason, which
 * is also in the ledger. The same enrollment is returned every time it is
 * asked for: enrollment happens once.
 */
export const BootstrapStatusV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      cell_id: CellIdSchema,
      state: enumeration(MACHINE_STATES),
      software_only: boolean(),
      refusal: optional(
        object({
          code: string({ min: 1, max: 64, pattern: /^HOLON_E_[A-Z0-9_]+$/, format: 'a HOLON_E_… code' }),
          reason: string({ min: 1, max: 512 }),
        }),
      ),
      holon_certificate: optional(HolonCertificateV1Schema),
      nats_user_jwt: optional(string({ min: 16, max: 8192, pattern: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, format: 'a JWT' })),
      at: TimeEnvelopeRefSchema,
      cell_seal: AuthoritySealV1Schema,
    },
    'BootstrapStatusV1: the cell says where a machine stands',
  ),
  (s) => {
    if (!sameKey(s.cell_seal.key, s.cell_id)) return { path: '.cell_seal.key', reason: 'not sealed by cell_id' };
    if ((s.state === 'REFUSED') !== (s.refusal !== undefined)) {
      return { path: '.refusal', reason: 'a refusal is given exactly when the state is REFUSED' };
    }
    const enrolled = s.state === 'ENROLLED';
    if (enrolled !== (s.holon_certificate !== undefined)) {
      return { path: '.holon_certificate', reason: 'a certificate is given exactly when the state is ENROLLED' };
    }
    if (enrolled !== (s.nats_user_jwt !== undefined)) {
      return { path: '.nats_user_jwt', reason: 'credentials are given exactly when the state is ENROLLED' };
    }
    return undefined;
  },
);
export type BootstrapStatusV1 = Infer<typeof BootstrapStatusV1Schema>;
export const BootstrapStatusV1 = defineSealedObject('BootstrapStatusV1', BootstrapStatusV1Schema, 'cell_seal', {
  maxBytes: 32 * 1024,
});
