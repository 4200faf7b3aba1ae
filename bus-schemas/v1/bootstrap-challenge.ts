import { PublicKeyIdSchema } from '../ids.js';
import { base64url, object, optional, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CellCertificateV1Schema } from './cell-certificate.js';
import { sameKey } from './holon-certificate.js';
import { NonceSchema } from './machine-attestation.js';
import { UnixMsSchema } from './time-envelope.js';
import { PcrSelectionV1Schema } from './tpm-quote.js';

export const CredentialBlobV1Schema = object(
  {
    /** TPM2B_ID_OBJECT from MakeCredential(EK, AK name, secret) */
    id_object: base64url({ minBytes: 4, maxBytes: 1024, description: 'TPM2B_ID_OBJECT' }),
    /** TPM2B_ENCRYPTED_SECRET: the seed, encrypted to the EK */
    encrypted_secret: base64url({ minBytes: 4, maxBytes: 1024, description: 'TPM2B_ENCRYPTED_SECRET' }),
  },
  'A TPM2 credential blob only the TPM holding the EK (and the AK named) can activate',
);

/**
 * BootstrapChallengeV1 — step 2, the cell's reply to a hello, sealed by the
 * cell key. The cell proves its authority: its certificate must chain to the
 * principal root pinned in the agent, and its seal covers the agent's nonce
 * Na, the machine key and a fresh nonce Nb, binding the two directions to each
 * other. With a TPM it also carries a credential for (EK, AK name) and the PCR
 * selection the quote must cover. The agent refuses to continue otherwise.
 */
export const BootstrapChallengeV1Schema = refine(
  object(
    {
      cell_certificate: CellCertificateV1Schema,
      machine_id: PublicKeyIdSchema,
      agent_nonce: NonceSchema,
      cell_nonce: NonceSchema,
      credential: optional(CredentialBlobV1Schema),
      pcr_selection: optional(PcrSelectionV1Schema),
      expires_at: UnixMsSchema,
      cell_seal: AuthoritySealV1Schema,
    },
    'BootstrapChallengeV1: the cell proves its authority and challenges the machine',
  ),
  (c) => {
    if (!sameKey(c.cell_seal.key, c.cell_certificate.cell_id)) {
      return { path: '.cell_seal.key', reason: 'not sealed by the certified cell key' };
    }
    if ((c.credential === undefined) !== (c.pcr_selection === undefined)) {
      return { path: '.pcr_selection', reason: 'a TPM challenge needs both credential and pcr_selection' };
    }
    if (c.agent_nonce === c.cell_nonce) return { path: '.cell_nonce', reason: 'must differ from agent_nonce' };
    return undefined;
  },
);
export type BootstrapChallengeV1 = Infer<typeof BootstrapChallengeV1Schema>;
export const BootstrapChallengeV1 = defineSealedObject('BootstrapChallengeV1', BootstrapChallengeV1Schema, 'cell_seal', {
  maxBytes: 16 * 1024,
});
