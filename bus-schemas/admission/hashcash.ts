/**
 * Sybil rate limiting for bootstrap (DESIGN §3): an admission proof bound to
 * (epoch, machine key). The prover searches a counter such that
 *
 *   SHA-256("holonet-admission/v1" ‖ 0x00 ‖ epoch ‖ 0x00 ‖ machine key ‖ counter_be64)
 *
 * has at least `difficulty` leading zero bits. Expected cost 2^difficulty
 * hashes to make, one hash to check. Binding to the machine key means a proof
 * cannot be reused by another machine; binding to the epoch bounds its life.
 */
import { createHash } from 'node:crypto';
import { HolonError } from '../errors.js';
import { idPublicKey, type PublicKeyIdV1 } from '../ids.js';

export const MAX_DIFFICULTY = 40;
const PREFIX = new TextEncoder().encode('holonet-admission/v1\u0000');

export class AdmissionError extends HolonError {
  static readonly CODE = 'HOLON_E_ADMISSION';
  readonly reason: string;
  constructor(reason: string) {
    super(AdmissionError.CODE, `admission: ${reason}`);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}

export interface HashcashProof {
  epoch: number;
  difficulty: number;
  counter: number;
}

function proofHash(epoch: number, machineKey: Uint8Array, counter: number): Buffer {
  const c = Buffer.alloc(8);
  c.writeBigUInt64BE(BigInt(counter));
  return createHash('sha256')
    .update(PREFIX)
    .update(`${epoch}\u0000`)
    .update(machineKey)
    .update(c)
    .digest();
}

export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Search for a proof. Deterministic for its inputs; cost ~2^difficulty hashes. */
export function solveHashcash(machine: PublicKeyIdV1, epoch: number, difficulty: number): HashcashProof {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_DIFFICULTY) {
    throw new AdmissionError(`difficulty must be an integer in 0..${MAX_DIFFICULTY}`);
  }
  const key = idPublicKey(machine, 'key');
  for (let counter = 0; counter < Number.MAX_SAFE_INTEGER; counter++) {
    if (leadingZeroBits(proofHash(epoch, key, counter)) >= difficulty) return { epoch, difficulty, counter };
  }
  throw new AdmissionError('no proof found');
}

/**
 * Check a proof for `machine` against the verifier's current epoch and
 * required difficulty. A proof from the previous epoch is accepted so a
 * proof made just before a boundary still counts.
 */
export function verifyHashcash(
  machine: PublicKeyIdV1,
  proof: HashcashProof,
  expected: { epoch: number; difficulty: number },
): void {
  if (proof.epoch !== expected.epoch && proof.epoch !== expected.epoch - 1) {
    throw new AdmissionError(`proof is for epoch ${proof.epoch}, current epoch is ${expected.epoch}`);
  }
  if (proof.difficulty < expected.difficulty) {
    throw new AdmissionError(`proof difficulty ${proof.difficulty} is below the required ${expected.difficulty}`);
  }
  if (!Number.isSafeInteger(proof.counter) || proof.counter < 0) throw new AdmissionError('counter out of range');
  const bits = leadingZeroBits(proofHash(proof.epoch, idPublicKey(machine, 'key'), proof.counter));
  if (bits < proof.difficulty) throw new AdmissionError(`proof has ${bits} leading zero bits, claims ${proof.difficulty}`);
}

/**
 * Adaptive difficulty: start at `base`; add one bit (doubling the cost) for
 * every doubling of recent hello attempts over the expected rate.
 */
export function adaptiveDifficulty(opts: { base: number; recentAttempts: number; expectedAttempts: number; max?: number }): number {
  const max = Math.min(opts.max ?? 28, MAX_DIFFICULTY);
  if (opts.recentAttempts <= opts.expectedAttempts || opts.expectedAttempts <= 0) return Math.min(opts.base, max);
  const extra = Math.floor(Math.log2(opts.recentAttempts / opts.expectedAttempts));
  return Math.min(opts.base + extra, max);
}
