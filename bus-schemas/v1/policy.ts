import { ADMISSION_DEFAULTS } from '../admission/adaptive.js';
import { MAX_DIFFICULTY } from '../admission/hashcash.js';
import { ADMISSION_MODES } from '../admission/requirement.js';
import { VDF_MAX_ITERATIONS, VDF_MIN_ITERATIONS } from '../admission/vdf.js';
import { PublicKeyIdSchema } from '../ids.js';
import { array, enumeration, integer, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { HOLON_ROLES, HolonRoleSchema } from './holon-role.js';
import { JurisdictionCodeSchema } from './jurisdiction-attestation.js';
import { QuantitySchema } from './quantity.js';
import { UnixMsSchema } from './time-envelope.js';
import { MAX_PCR_INDEX, PCR_BANKS, PCR_DIGEST_HEX_LENGTH } from './tpm-quote.js';

/**
 * PolicyV1: the principal's signed enrollment policy for a cell (DESIGN §3,
 * §10). The orchestrator's bootstrap verifier reads it; agents never need it.
 * A newer policy has a higher `serial`; the verifier keeps the highest one it
 * has seen, so an old policy cannot be replayed to loosen the rules.
 *
 * Lists are sorted and duplicate-free, so one policy has exactly one encoding
 * and two principals' tools cannot produce different digests for it.
 * Sealed by `principal_key` (checked at parse time).
 */

export const TPM_MODES = ['required', 'optional'] as const;
export type TpmMode = (typeof TPM_MODES)[number];

/** A machine class: an operator-chosen label like `dell-r650-bios-2.19`. */
export const MACHINE_CLASS_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MachineClassSchema = string({
  min: 1,
  max: 64,
  pattern: MACHINE_CLASS_PATTERN,
  format: 'a machine class: lowercase letters, digits, . _ - (≤ 64)',
});

export const MAX_MACHINE_CLASSES = 32;
export const MAX_PREAPPROVED_EKS = 512;
export const MAX_DENIED_JURISDICTIONS = 64;
/** Nonces live between one second and ten minutes. */
export const MIN_NONCE_LIFETIME_MS = 1_000;
export const MAX_NONCE_LIFETIME_MS = 600_000;

const HEX_DIGEST = /^[0-9a-f]+$/;

export const PcrGoldenValueV1Schema = object(
  {
    index: integer({ min: 0, max: MAX_PCR_INDEX, description: 'PCR index' }),
    digest: string({ min: 40, max: 96, pattern: HEX_DIGEST, format: 'lowercase hex PCR digest' }),
  },
  'the expected value of one PCR',
);

export const PcrGoldenClassV1Schema = refine(
  object(
    {
      machine_class: MachineClassSchema,
      bank: enumeration(PCR_BANKS, 'PCR bank hash'),
      /** strictly ascending by index */
      pcrs: array(PcrGoldenValueV1Schema, { min: 1, max: MAX_PCR_INDEX + 1 }),
    },
    'golden PCR values of one machine class, in one bank',
  ),
  (c) => {
    const size = PCR_DIGEST_HEX_LENGTH[c.bank];
    for (let i = 0; i < c.pcrs.length; i++) {
      const p = c.pcrs[i] as { index: number; digest: string };
      if (i > 0 && p.index <= (c.pcrs[i - 1] as { index: number }).index) {
        return { path: `.pcrs[${i}].index`, reason: 'PCR indices must be strictly ascending' };
      }
      if (p.digest.length !== size) return { path: `.pcrs[${i}].digest`, reason: `expected ${size} hex digits for a ${c.bank} bank` };
    }
    return undefined;
  },
);
export type PcrGoldenClassV1 = Infer<typeof PcrGoldenClassV1Schema>;

export const PreapprovedEkV1Schema = object(
  {
    ek_sha256: string({ min: 64, max: 64, pattern: HEX_DIGEST, format: 'lowercase hex SHA-256 of the EK public area' }),
    /** the class whose golden PCR values this machine must match */
    machine_class: optional(MachineClassSchema),
  },
  'a TPM endorsement key the principal pre-approved for enrollment',
);
export type PreapprovedEkV1 = Infer<typeof PreapprovedEkV1Schema>;

/** `undefined` when `keys` is strictly ascending; else the first offending index and why. */
function firstUnsorted(keys: readonly string[], what: string): { index: number; reason: string } | undefined {
  for (let i = 1; i < keys.length; i++) {
    const prev = keys[i - 1] as string;
    const cur = keys[i] as string;
    if (cur === prev) return { index: i, reason: `${what} listed twice` };
    if (cur < prev) return { index: i, reason: `${what} out of order: the list must be sorted ascending` };
  }
  return undefined;
}

/**
 * One row of the principal's price table (DESIGN §7): what a unit's use costs on machines of
 * `machine_class` (the approval's class) at `location` (the machine's `location` label); a row without
 * either matches any. The first matching row applies. Prices in millionths of a US cent, so that a
 * cpu-second can cost less than a cent and every figure stays an integer.
 */
export const PriceRowV1Schema = object(
  {
    machine_class: optional(MachineClassSchema),
    location: optional(string({ min: 1, max: 64, pattern: /^[A-Za-z0-9._-]+$/, format: 'a location label value like fsn1' })),
    cpu_second_microcents: QuantitySchema,
    gpu_second_microcents: QuantitySchema,
    storage_gb_month_microcents: QuantitySchema,
    egress_gb_microcents: QuantitySchema,
  },
  'PriceRowV1: prices of use on a class of machines',
);
export type PriceRowV1 = Infer<typeof PriceRowV1Schema>;
export const MAX_PRICE_ROWS = 64;

export const PolicyV1Schema = refine(
  object(
    {
      /** increases with every new policy of this principal */
      serial: integer({ min: 1, description: 'policy serial; higher replaces lower' }),
      principal_key: PublicKeyIdSchema,
      issued_at: UnixMsSchema,
      /** `optional`: a machine without a TPM may enroll, its attestation marked software-only */
      tpm: enumeration(TPM_MODES, 'whether a machine must have a TPM to enroll'),
      /** roles that need a TPM-attested host even when `tpm` is optional; in HolonRole order */
      tpm_required_roles: array(HolonRoleSchema, { max: HOLON_ROLES.length }),
      /** sorted by machine_class, one entry per class */
      pcr_golden: array(PcrGoldenClassV1Schema, { max: MAX_MACHINE_CLASSES }),
      /** sorted by ek_sha256; a machine whose EK is listed enrolls without a separate approval */
      preapproved_eks: array(PreapprovedEkV1Schema, { max: MAX_PREAPPROVED_EKS }),
      /** sorted; machines attested in these jurisdictions never enroll */
      denied_jurisdictions: array(JurisdictionCodeSchema, { max: MAX_DENIED_JURISDICTIONS }),
      /** hashcash leading zero bits asked of a machine when the cell is quiet */
      admission_difficulty: integer({ min: 0, max: MAX_DIFFICULTY, description: 'base admission difficulty in bits' }),
      /**
       * Admission settings added after the first V1 policies, all optional
       * (bus-schemas/admission/adaptive.ts ADMISSION_DEFAULTS):
       * admitted hellos per minute that are normal; each doubling above it
       * adds a bit (default 60)
       */
      admission_normal_rate: optional(integer({ min: 1, max: 1_000_000, description: `admitted hellos per minute that are normal (default ${ADMISSION_DEFAULTS.normalRate})` })),
      /** the most bits the adaptive difficulty asks for (default admission_difficulty + 8, at most 40) */
      admission_max_difficulty: optional(integer({ min: 0, max: MAX_DIFFICULTY, description: 'adaptive difficulty cap in bits' })),
      /** which proof a hello must carry (default hashcash) */
      admission_mode: optional(enumeration(ADMISSION_MODES, 'the admission proof a hello must carry (default hashcash)')),
      /** VDF squarings asked for when the cell is quiet, in vdf mode; doubled per extra bit (default 131072) */
      admission_vdf_iterations: optional(
        integer({ min: VDF_MIN_ITERATIONS, max: VDF_MAX_ITERATIONS, description: `base VDF squarings (default ${ADMISSION_DEFAULTS.vdfIterations})` }),
      ),
      nonce_lifetime_ms: integer({ min: MIN_NONCE_LIFETIME_MS, max: MAX_NONCE_LIFETIME_MS, description: 'how long a bootstrap nonce is accepted' }),
      /** the price table (first matching row applies); absent: use costs nothing and cost budgets never run out */
      prices: optional(array(PriceRowV1Schema, { max: MAX_PRICE_ROWS })),
      /** the principal's fleet capital: the root budget, which the cost budgets of its own units may not exceed together */
      fleet_capital_cents: optional(QuantitySchema),
      principal_seal: AuthoritySealV1Schema,
    },
    'PolicyV1: the principal-signed enrollment policy of a cell',
  ),
  (p) => {
    for (let i = 1; i < p.tpm_required_roles.length; i++) {
      const prev = HOLON_ROLES.indexOf(p.tpm_required_roles[i - 1] as (typeof HOLON_ROLES)[number]);
      const cur = HOLON_ROLES.indexOf(p.tpm_required_roles[i] as (typeof HOLON_ROLES)[number]);
      if (cur === prev) return { path: `.tpm_required_roles[${i}]`, reason: 'role listed twice' };
      if (cur < prev) return { path: `.tpm_required_roles[${i}]`, reason: 'roles must follow the HolonRole order' };
    }
    const classes = p.pcr_golden.map((c) => c.machine_class);
    const badClass = firstUnsorted(classes, 'machine class');
    if (badClass) return { path: `.pcr_golden[${badClass.index}].machine_class`, reason: badClass.reason };
    const badEk = firstUnsorted(
      p.preapproved_eks.map((e) => e.ek_sha256),
      'EK hash',
    );
    if (badEk) return { path: `.preapproved_eks[${badEk.index}].ek_sha256`, reason: badEk.reason };
    const known = new Set(classes);
    for (let i = 0; i < p.preapproved_eks.length; i++) {
      const mc = (p.preapproved_eks[i] as PreapprovedEkV1).machine_class;
      if (mc !== undefined && !known.has(mc)) {
        return { path: `.preapproved_eks[${i}].machine_class`, reason: `no pcr_golden entry for machine class "${mc}"` };
      }
    }
    const badJ = firstUnsorted(p.denied_jurisdictions, 'jurisdiction');
    if (badJ) return { path: `.denied_jurisdictions[${badJ.index}]`, reason: badJ.reason };
    if (p.admission_max_difficulty !== undefined && p.admission_max_difficulty < p.admission_difficulty) {
      return { path: '.admission_max_difficulty', reason: `must be at least admission_difficulty (${p.admission_difficulty})` };
    }
    if (p.principal_seal.key !== p.principal_key) return { path: '.principal_seal.key', reason: 'not sealed by principal_key' };
    return undefined;
  },
);
export type PolicyV1 = Infer<typeof PolicyV1Schema>;
/** 512 pre-approved EKs with classes and 32 classes of 24 sha384 PCRs fit (checked by a test). */
export const PolicyV1 = defineSealedObject('PolicyV1', PolicyV1Schema, 'principal_seal', { maxBytes: 192 * 1024 });

/** The defaults `holonctl init` signs: no pre-approvals, no golden values, nothing deny-listed. */
export const DEFAULT_POLICY = {
  tpm: 'required' as TpmMode,
  admission_difficulty: 16,
  nonce_lifetime_ms: 60_000,
};
