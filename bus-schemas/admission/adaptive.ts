/**
 * Adaptive admission difficulty (DESIGN §3): the cell counts the hellos it
 * admits and, when they come faster than the policy's normal rate, asks for
 * one more bit of hashcash (or twice the VDF squarings) per doubling of the
 * rate, up to a cap; when it is quiet again it falls back to the base.
 *
 * The only input taken from the outside is the COUNT of admitted hellos:
 * each from a distinct machine key that carried a valid proof at the
 * difficulty asked for at the time. So raising the difficulty costs an
 * attacker real work per counted hello, and junk hellos raise nothing.
 * Time comes from the caller (`now`); nothing here reads a clock.
 */
import { MAX_DIFFICULTY } from './hashcash.js';
import type { AdmissionMode, AdmissionRequirement } from './requirement.js';
import { VDF_MAX_ITERATIONS } from './vdf.js';

/** The rate is admitted hellos per minute, over a sliding one-minute window. */
export const ADMISSION_RATE_WINDOW_MS = 60_000;

/** What a policy without the optional admission fields gets. */
export const ADMISSION_DEFAULTS = {
  mode: 'hashcash' as AdmissionMode,
  /** admitted hellos per minute that count as normal */
  normalRate: 60,
  /** the cap is the base difficulty plus this many bits (2^8 = 256 × the base cost) */
  extraBits: 8,
  /** ~1 s of squarings on a 2020s core in BigInt */
  vdfIterations: 131_072,
} as const;

/** The admission fields of PolicyV1 (structural, so policy.ts can import this file). */
export interface AdmissionPolicyFields {
  admission_difficulty: number;
  admission_normal_rate?: number;
  admission_max_difficulty?: number;
  admission_mode?: AdmissionMode;
  admission_vdf_iterations?: number;
}

export interface AdmissionSettings {
  mode: AdmissionMode;
  baseDifficulty: number;
  maxDifficulty: number;
  normalRate: number;
  vdfIterations: number;
}

export function admissionSettings(p: AdmissionPolicyFields): AdmissionSettings {
  const base = p.admission_difficulty;
  return {
    mode: p.admission_mode ?? ADMISSION_DEFAULTS.mode,
    baseDifficulty: base,
    maxDifficulty: Math.max(base, p.admission_max_difficulty ?? Math.min(MAX_DIFFICULTY, base + ADMISSION_DEFAULTS.extraBits)),
    normalRate: p.admission_normal_rate ?? ADMISSION_DEFAULTS.normalRate,
    vdfIterations: p.admission_vdf_iterations ?? ADMISSION_DEFAULTS.vdfIterations,
  };
}

/** floor(log2(rate / normal)) when the rate is at least twice the normal, else 0. Exact at powers of two. */
export function extraBits(rate: number, normalRate: number): number {
  if (!(normalRate > 0) || !(rate >= 2 * normalRate)) return 0;
  let bits = 0;
  while (bits < 64 && normalRate * 2 ** (bits + 1) <= rate) bits++;
  return bits;
}

/** The base difficulty plus one bit per doubling of `recentAttempts` over `expectedAttempts`, capped at `max` (default 28). */
export function adaptiveDifficulty(opts: { base: number; recentAttempts: number; expectedAttempts: number; max?: number }): number {
  const max = Math.min(opts.max ?? 28, MAX_DIFFICULTY);
  return Math.min(opts.base + extraBits(opts.recentAttempts, opts.expectedAttempts), max);
}

/** What the cell asks of a hello in `epoch` when it has admitted `rate` hellos in the last minute. */
export function requirementAt(s: AdmissionSettings, epoch: number, rate: number): AdmissionRequirement {
  const extra = Math.min(extraBits(rate, s.normalRate), s.maxDifficulty - s.baseDifficulty);
  if (s.mode === 'vdf') return { kind: 'vdf', epoch, iterations: Math.min(VDF_MAX_ITERATIONS, s.vdfIterations * 2 ** extra) };
  return { kind: 'hashcash', epoch, difficulty: s.baseDifficulty + extra };
}

/**
 * Admitted hellos per window, as a sliding-window counter: the current
 * fixed window's count plus the previous window's count weighted by how much
 * of it still overlaps the last `windowMs`. A machine key is counted once per
 * two windows. Memory is bounded: past `maxTracked` keys a window counts
 * without remembering (each of those hellos still paid for its proof).
 */
export class AdmissionRateWindow {
  readonly windowMs: number;
  readonly maxTracked: number;
  #start = Number.NEGATIVE_INFINITY;
  #current = new Set<string>();
  #currentUntracked = 0;
  #previous = new Set<string>();
  #previousUntracked = 0;

  constructor(opts: { windowMs?: number; maxTracked?: number } = {}) {
    this.windowMs = opts.windowMs ?? ADMISSION_RATE_WINDOW_MS;
    this.maxTracked = opts.maxTracked ?? 100_000;
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be positive');
  }

  #roll(now: number): void {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start <= this.#start) return; // same window (or a clock that went back: stay in it)
    const adjacent = start - this.#start === this.windowMs;
    this.#previous = adjacent ? this.#current : new Set();
    this.#previousUntracked = adjacent ? this.#currentUntracked : 0;
    this.#current = new Set();
    this.#currentUntracked = 0;
    this.#start = start;
  }

  /** Count an admitted hello from `machineId`; false when that key was already counted recently. */
  admit(machineId: string, now: number): boolean {
    this.#roll(now);
    if (this.#current.has(machineId) || this.#previous.has(machineId)) return false;
    if (this.#current.size < this.maxTracked) this.#current.add(machineId);
    else this.#currentUntracked += 1;
    return true;
  }

  /** Admitted hellos over the last window (a sliding estimate). */
  rate(now: number): number {
    this.#roll(now);
    const into = Math.min(1, Math.max(0, (now - this.#start) / this.windowMs));
    const previous = this.#previous.size + this.#previousUntracked;
    const current = this.#current.size + this.#currentUntracked;
    return previous * (1 - into) + current;
  }
}
