import { MAX_DIFFICULTY } from '../admission/hashcash.js';
import { AdmissionEpochSchema } from '../admission/requirement.js';
import { VDF_ELEMENT_BYTES, VDF_MAX_ITERATIONS, VDF_MIN_ITERATIONS } from '../admission/vdf.js';
import { MalformedError } from '../errors.js';
import { PublicKeyIdSchema } from '../ids.js';
import { array, base64url, enumeration, integer, literal, object, optional, refine, string, type Infer, type Schema } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { NonceSchema } from './machine-attestation.js';
import { NetworkAddressV1Schema } from './network-address.js';
import { HOLON_ROLES, type HolonRole } from './holon-role.js';
import { InstalledToolV1Schema, OsFamilySchema, PlatformReportV1Schema, sortedUnique } from './platform-report.js';
import { ResourceCapacityV1Schema } from './resource-capacity.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';
import { TpmPublicSchema } from './tpm-quote.js';

/** A NATS user public nkey: 'U' + 55 base32 characters. */
export const NatsUserKeySchema = string({ min: 56, max: 56, pattern: /^U[A-Z2-7]{55}$/, format: 'a NATS user public nkey (U…)' });

export const HashcashProofV1Schema = object(
  {
    /** absent in the original V1 shape (and still absent as agents send it): hashcash is the default kind */
    kind: optional(literal('hashcash')),
    epoch: AdmissionEpochSchema,
    difficulty: integer({ min: 0, max: MAX_DIFFICULTY }),
    counter: integer(),
  },
  'Admission proof: hashcash bound to (epoch, machine key)',
);

export const VdfProofV1Schema = object(
  {
    kind: literal('vdf'),
    epoch: AdmissionEpochSchema,
    iterations: integer({ min: VDF_MIN_ITERATIONS, max: VDF_MAX_ITERATIONS, description: 'T: sequential squarings' }),
    y: base64url({ minBytes: VDF_ELEMENT_BYTES, maxBytes: VDF_ELEMENT_BYTES, description: 'y = x^(2^T) mod N, big-endian' }),
    pi: base64url({ minBytes: VDF_ELEMENT_BYTES, maxBytes: VDF_ELEMENT_BYTES, description: 'Wesolowski proof π, big-endian' }),
  },
  'Admission proof: Wesolowski VDF over RSA-2048 bound to (epoch, machine key)',
);

const ADMISSION_KINDS = ['hashcash', 'vdf'];

/**
 * Either proof. `kind` is the tag; a proof without one is hashcash, so
 * hellos made before VDF proofs existed keep their shape and digest.
 */
export const AdmissionProofV1Schema: Schema<Infer<typeof HashcashProofV1Schema> | Infer<typeof VdfProofV1Schema>> = {
  parseAt(input, path) {
    if (typeof input === 'object' && input !== null && !Array.isArray(input) && Object.prototype.hasOwnProperty.call(input, 'kind')) {
      const kind = (input as { kind: unknown }).kind;
      if (kind === 'vdf') return VdfProofV1Schema.parseAt(input, path);
      if (kind !== 'hashcash') throw new MalformedError(`${path}.kind`, `expected one of ${ADMISSION_KINDS.join(', ')}`);
    }
    return HashcashProofV1Schema.parseAt(input, path);
  },
  jsonSchema: () => ({ oneOf: [HashcashProofV1Schema.jsonSchema(), VdfProofV1Schema.jsonSchema()] }),
};

export const BootstrapTpmV1Schema = object(
  {
    /** EK certificate (DER) from NV, when the TPM has one. */
    ek_certificate: optional(base64url({ minBytes: 2, maxBytes: 4096, description: 'EK certificate, DER' })),
    ek_public: TpmPublicSchema,
    ak_public: TpmPublicSchema,
  },
  'The TPM keys a machine brings to bootstrap',
);

/** The roles a unit can have: every HolonRole but HOST (the machine's own). */
const UNIT_ROLES = HOLON_ROLES.filter((r): r is Exclude<HolonRole, 'HOST'> => r !== 'HOST');

/**
 * What the agent's isolation adapter says of itself (`capabilities` of the
 * isolation port, bus-schemas/units/port.ts): the OS family it isolates on,
 * the host tools it needs (installed_tools names, ascending) and the unit
 * roles it can host (in HolonRole order). Placement refuses a machine for a
 * role its adapter does not host, or when a tool it needs was not found.
 */
export const IsolationCapabilitiesV1Schema = refine(
  object(
    {
      os_family: OsFamilySchema,
      tools: sortedUnique(array(InstalledToolV1Schema.shape.name, { max: 64 }), (t) => t, 'tool name'),
      unit_roles: array(enumeration(UNIT_ROLES, 'a unit role (any HolonRole but HOST)'), { max: UNIT_ROLES.length }),
    },
    'what the isolation adapter can do: its OS family, the tools it needs, the unit roles it hosts',
  ),
  (c) => {
    for (let i = 1; i < c.unit_roles.length; i++) {
      const prev = UNIT_ROLES.indexOf(c.unit_roles[i - 1] as (typeof UNIT_ROLES)[number]);
      const cur = UNIT_ROLES.indexOf(c.unit_roles[i] as (typeof UNIT_ROLES)[number]);
      if (cur === prev) return { path: `.unit_roles[${i}]`, reason: 'role listed twice' };
      if (cur < prev) return { path: `.unit_roles[${i}]`, reason: 'roles must follow the HolonRole order' };
    }
    return undefined;
  },
);
export type IsolationCapabilitiesV1 = Infer<typeof IsolationCapabilitiesV1Schema>;

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
      /** absent in hellos of agents that do not describe their adapter: placement then goes by the cell's table per OS family */
      isolation: optional(IsolationCapabilitiesV1Schema),
      network_addresses: array(NetworkAddressV1Schema, { max: 64 }),
      admission: AdmissionProofV1Schema,
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
    if (h.isolation !== undefined && h.isolation.os_family !== h.platform_report.os_family) {
      return { path: '.isolation.os_family', reason: `the isolation adapter is for ${h.isolation.os_family}, the platform report says ${h.platform_report.os_family}` };
    }
    return undefined;
  },
);
export type BootstrapHelloV1 = Infer<typeof BootstrapHelloV1Schema>;
export const BootstrapHelloV1 = defineSealedObject('BootstrapHelloV1', BootstrapHelloV1Schema, 'machine_seal', {
  maxBytes: 96 * 1024,
});
