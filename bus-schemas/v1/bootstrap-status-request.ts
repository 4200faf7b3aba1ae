import { PublicKeyIdSchema } from '../ids.js';
import { object, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { NonceSchema } from './machine-attestation.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * BootstrapStatusRequestV1: an attested machine asks where it stands (agent →
 * `api.bootstrap.status`, sealed by the machine key). Answered with a
 * BootstrapStatusV1; once ENROLLED, with the same enrollment every time.
 */
export const BootstrapStatusRequestV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      request_nonce: NonceSchema,
      sent_at: TimeEnvelopeRefSchema,
      machine_seal: AuthoritySealV1Schema,
    },
    'BootstrapStatusRequestV1: a machine asks for its bootstrap status',
  ),
  (r) => (r.machine_seal.key !== r.machine_id ? { path: '.machine_seal.key', reason: 'not sealed by machine_id' } : undefined),
);
export type BootstrapStatusRequestV1 = Infer<typeof BootstrapStatusRequestV1Schema>;
export const BootstrapStatusRequestV1 = defineSealedObject('BootstrapStatusRequestV1', BootstrapStatusRequestV1Schema, 'machine_seal', {
  maxBytes: 1024,
});
