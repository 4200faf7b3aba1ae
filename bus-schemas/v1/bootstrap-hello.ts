import { PublicKeyIdSchema } from '../ids.js';
import { array, base64url, integer, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { NonceSchema } from './machine-attestation.js';
import { NetworkAddressV1Schema } from './network-address.js';
import { PlatformReportV1Schema } from './platform-report.js';
import { ResourceCapacityV1Schema } from './resource-capacity.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';
import { TpmPublicSchema } from './tpm-quote.js';

/** A NATS user public nkey: 'U' + 55 base32 characters. */
export const NatsUserKeySchema = string({ min: 56, max: 56, pattern: /^U[A-Z2-7]{55}$/, format: 'a NATS user public nkey (U…)' });

export const HashcashProofV1Schema = object(
  {
    epoch: integer({ min: 0, max: 1_000_000_000 }),
    difficulty: integer({ min: 0, max: 40 }),
    counter: integer(),
  },
  'Admission proof: hashcash bound to (epoch, machine key)',
);

export const BootstrapTpmV1Schema = object(
  {
    /** EK certificate (DER) from NV, when the TPM has one. */
    ek_certificate: optional(base64url({ minBytes: 2, maxBytes: 4096, description: 'EK certificate, DER' })),
    ek_public: TpmPublicSchema,
    ak_public: TpmPublicSchema,
  },
  'The TPM keys a machine brings to bootstrap',
);

/**
 * BootstrapHelloV1 — step 1 of the bilateral bootstrap (DESIGN §3), agent →
 * `api.bootstrap.hello`, sealed by the machine key. Carries the agent's fresh
 * nonce Na, the TPM's EK and AK (absent on a machine without a TPM, which
 * policy may allow as software-only), what the machine is, and an admission
 * proof. `nats_user_key` is the public half of the agent's own NATS user key:
 * the cell later signs a user JWT for it; the seed never leaves the machine.
 */
export const BootstrapHelloV1Schema = refine(
  object(
    {
      machine_id: PublicKeyIdSchema,
      agent_nonce: NonceSchema,
      nats_user_key: NatsUserKeySchema,
      tpm: optional(BootstrapTpmV1Schema),
      platform_report: PlatformReportV1Schema,
      resource_capacity: ResourceCapacityV1Schema,
      network_addresses: array(NetworkAddressV1Schema, { max: 64 }),
      admission: HashcashProofV1Schema,
      sent_at: TimeEnvelopeRefSchema,
      machine_seal: AuthoritySealV1Schema,
    },
    'BootstrapHelloV1: a machine introduces itself',
  ),
  (h) => {
    if (h.machine_seal.key !== h.machine_id) return { path: '.machine_seal.key', reason: 'not sealed by machine_id' };
    if (h.tpm !== undefined && h.platform_report.tpm.version !== '2.0') {
      return { path: '.tpm', reason: 'TPM keys given but the platform report has no TPM 2.0' };
    }
    return undefined;
  },
);
export type BootstrapHelloV1 = Infer<typeof BootstrapHelloV1Schema>;
export const BootstrapHelloV1 = defineSealedObject('BootstrapHelloV1', BootstrapHelloV1Schema, 'machine_seal', {
  maxBytes: 96 * 1024,
});
