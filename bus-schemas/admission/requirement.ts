/**
 * What a cell asks of a hello's admission proof right now: the kind
 * (hashcash by default, or the Wesolowski VDF when its policy says so), the
 * epoch the proof must be bound to, and the work (leading zero bits, or
 * squarings). The cell names it in its refusal of a hello whose proof falls
 * short (RefusalV1.admission_required), so an agent learns the epoch rule and
 * the current difficulty from the cell instead of guessing them.
 */
import { integer, literal, object, tagged, type Infer } from '../schema.js';
import { MAX_DIFFICULTY } from './hashcash.js';
import { VDF_MAX_ITERATIONS, VDF_MIN_ITERATIONS } from './vdf.js';

export const ADMISSION_MODES = ['hashcash', 'vdf'] as const;
export type AdmissionMode = (typeof ADMISSION_MODES)[number];

/** Epochs are floor(unix ms / epoch length ≥ 1 min): below 10^9 for the next 1,900 years. */
export const AdmissionEpochSchema = integer({ min: 0, max: 1_000_000_000, description: 'admission epoch' });

export const AdmissionRequirementV1Schema = tagged('kind', {
  hashcash: object(
    {
      kind: literal('hashcash'),
      epoch: AdmissionEpochSchema,
      difficulty: integer({ min: 0, max: MAX_DIFFICULTY, description: 'leading zero bits required' }),
    },
    'a hashcash proof over this epoch with at least this many leading zero bits',
  ),
  vdf: object(
    {
      kind: literal('vdf'),
      epoch: AdmissionEpochSchema,
      iterations: integer({ min: VDF_MIN_ITERATIONS, max: VDF_MAX_ITERATIONS, description: 'sequential squarings required' }),
    },
    'a Wesolowski VDF proof over this epoch with at least this many squarings',
  ),
});
export type AdmissionRequirement = Infer<typeof AdmissionRequirementV1Schema>;

/** Callers may still pass the hashcash-only form `{ epoch, difficulty }`. */
export type AdmissionRequirementInput = AdmissionRequirement | { kind?: undefined; epoch: number; difficulty: number };

export function normalizeRequirement(r: AdmissionRequirementInput): AdmissionRequirement {
  if (r.kind === 'vdf') return { kind: 'vdf', epoch: r.epoch, iterations: r.iterations };
  return { kind: 'hashcash', epoch: r.epoch, difficulty: r.difficulty };
}

/** "hashcash of 19 bits over epoch 482345" — for logs and refusals. */
export function describeRequirement(r: AdmissionRequirement): string {
  return r.kind === 'vdf' ? `a VDF of ${r.iterations} squarings over epoch ${r.epoch}` : `hashcash of ${r.difficulty} bits over epoch ${r.epoch}`;
}
