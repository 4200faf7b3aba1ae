import { PublicKeyIdSchema } from '../ids.js';
import { object, optional, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { JurisdictionAttestationV1Schema } from './jurisdiction-attestation.js';
import { NonceSchema } from './machine-attestation.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';
import { TpmQuoteV1Schema } from './tpm-quote.js';

/**
 * BootstrapAttestV1 — step 3, agent → `api.bootstrap.attest`, sealed by the
 * machine key. With a TPM, the quote's extraData is
 * H(Nb ‖ machine key ‖ activated secret) (see tpm/quoteQualifyingData): the
 * quote proves at once that the AK is on the TPM holding the EK (only that TPM
 * could activate the secret), that the quote is fresh (Nb), and that it is
 * bound to this machine key. The secret itself never travels back.
 */
export const BootstrapAttestV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      agent_nonce: NonceSchema,
      cell_nonce: NonceSchema,
      tpm_quote: optional(TpmQuoteV1Schema),
      jurisdiction_attestation: optional(JurisdictionAttestationV1Schema),
      sent_at: TimeEnvelopeRefSchema,
      machine_seal: AuthoritySealV1Schema,
    },
    'BootstrapAttestV1: the machine answers the challenge',
  ),
  (a) => {
    if (a.machine_seal.key !== a.machine_id) return { path: '.machine_seal.key', reason: 'not sealed by machine_id' };
    if (a.jurisdiction_attestation !== undefined && a.jurisdiction_attestation.machine_id !== a.machine_id) {
      return { path: '.jurisdiction_attestation.machine_id', reason: 'attests a different machine' };
    }
    return undefined;
  },
);
export type BootstrapAttestV1 = Infer<typeof BootstrapAttestV1Schema>;
export const BootstrapAttestV1 = defineSealedObject('BootstrapAttestV1', BootstrapAttestV1Schema, 'machine_seal', {
  maxBytes: 64 * 1024,
});
