import { PublicKeyIdSchema } from '../ids.js';
import { array, base64url, object, optional, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { JurisdictionAttestationV1Schema } from './jurisdiction-attestation.js';
import { NetworkAddressV1Schema } from './network-address.js';
import { PlatformReportV1Schema } from './platform-report.js';
import { ResourceCapacityV1Schema } from './resource-capacity.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';
import { TpmQuoteV1Schema } from './tpm-quote.js';

/** Bootstrap nonces are 32 random bytes. */
export const NonceSchema = base64url({ minBytes: 32, maxBytes: 32, description: '32 random bytes' });

/**
 * MachineAttestationV1 (OBJ-ARP-01): what a machine proves about itself in
 * step 3 of the bilateral bootstrap, sealed by its machine key.
 *
 * Beyond the RFC fields it carries both bootstrap nonces so it cannot be
 * replayed into another bootstrap: `agent_nonce` (Na, from the agent's hello)
 * and `orchestrator_nonce` (Nb, from the cell's reply; the TPM quote's
 * extraData is H(Nb ‖ machine key ‖ secret)). The verifier compares both with
 * the bootstrap it is running and refuses a mismatch or a reuse.
 *
 * Parse-time consistency: the seal is by `machine_id`; the jurisdiction
 * attestation is about `machine_id`; a TPM quote is only given when the
 * platform report says a TPM 2.0 is present. Check the seal with
 * `MachineAttestationV1.verify(att, att.machine_id)`. Without a quote the
 * attestation is software-only, and policy decides whether that is enough.
 */
export const MachineAttestationV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      platform_report: PlatformReportV1Schema,
      tpm_quote: optional(TpmQuoteV1Schema),
      jurisdiction_attestation: JurisdictionAttestationV1Schema,
      network_addresses: array(NetworkAddressV1Schema, { max: 64 }),
      resource_capacity: ResourceCapacityV1Schema,
      agent_nonce: NonceSchema,
      orchestrator_nonce: NonceSchema,
      attested_at: TimeEnvelopeRefSchema,
      attestation_seal: AuthoritySealV1Schema,
    },
    'MachineAttestationV1: a machine-signed account of what the machine is, bound to one bootstrap',
  ),
  (a) => {
    if (a.jurisdiction_attestation.machine_id !== a.machine_id) {
      return { path: '.jurisdiction_attestation.machine_id', reason: 'attests a different machine' };
    }
    if (a.tpm_quote !== undefined && a.platform_report.tpm.version !== '2.0') {
      return { path: '.tpm_quote', reason: 'quote given but the platform report has no TPM 2.0' };
    }
    if (a.agent_nonce === a.orchestrator_nonce) {
      return { path: '.orchestrator_nonce', reason: 'must differ from agent_nonce' };
    }
    if (a.attestation_seal.key !== a.machine_id) return { path: '.attestation_seal.key', reason: 'not sealed by machine_id' };
    return undefined;
  },
);
export type MachineAttestationV1 = Infer<typeof MachineAttestationV1Schema>;
export const MachineAttestationV1 = defineSealedObject(
  'MachineAttestationV1',
  MachineAttestationV1Schema,
  'attestation_seal',
  { maxBytes: 128 * 1024 },
);
