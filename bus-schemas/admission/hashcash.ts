/**
 * Sybil rate limiting for bootstrap (DESIGN §3): an admission proof bound to
 * (epoch, machine key). The prover searches a counter such that
 *
 *   SHA-256("holonet-admission/v1" ‖ 0x00 ‖ epoch ‖ 0x00 ‖ machine key ‖ counter_be64)
 *
 * has at least `difficulty` leading zero bits. Expected cost 2^difficulty
 * hashes to make, one hash to check. Binding to the machine key means a proof
 * cannot be reused by another machine; binding to the epoch bounds its life.
 * The difficulty the cell asks for adapts to the hello rate (adaptive.ts).
 */
import { createHash } from 'node:crypto';
import { HolonError } from '../errors.js';
import { idPublicKey, type PublicKeyIdV1 } from '../ids.js';

export const MAX_DIFFICULTY = 40;
const PREFIX = new TextEncoder().encode('holonet-admission/v1\u0000');
/** Hashes tried between two yields of hashcashSteps. */
const SLICE = 4096;

export class AdmissionError extends HolonError {
  static readonly CODE = 'HOLON_E_ADMISSION';
  readonly reason: string;
  /** The proof field at fault, relative to the proof (`.epoch`, `.kind`, `.y` …), when one is. */
  readonly path: string | undefined;
  constructor(reason: string, path?: string) {
    super(AdmissionError.CODE, `admission: ${reason}`);
    this.reason = reason;
    this.path = path;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason, ...(this.path !== undefined ? { path: this.path } : {}) };
  }
}

export interface HashcashProof {
  /** Absent on the wire for hashcash (the V1 shape before VDF proofs existed); 'vdf' marks the other kind. */
  kind?: 'hashcash';
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

/**
 * The search as a generator that yields every few thousand hashes, so a
 * caller can pause between slices (the agent stays responsive to SIGTERM).
 */
export function* hashcashSteps(machine: PublicKeyIdV1, epoch: number, difficulty: number): Generator<void, HashcashProof> {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_DIFFICULTY) {
    throw new AdmissionError(`difficulty must be an integer in 0..${MAX_DIFFICULTY}`);
  }
  const key = idPublicKey(machine, 'key');
  for (let counter = 0; counter < Number.MAX_SAFE_INTEGER; counter++) {
    if (leadingZeroBits(proofHash(epoch, key, counter)) >= difficulty) return { epoch, difficulty, counter };
    if (counter % SLICE === SLICE - 1) yield;
  }
  throw new AdmissionError('no proof found');
}

/** Run a step generator to its end without pausing. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** Search for a proof. Deterministic for its inputs; cost ~2^difficulty hashes. */
export function solveHashcash(machine: PublicKeyIdV1, epoch: number, difficulty: number): HashcashProof {
  return runSteps(hashcashSteps(machine, epoch, difficulty));
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
    throw new AdmissionError(`proof is for epoch ${proof.epoch}, current epoch is ${expected.epoch}`, '.epoch');
  }
  if (proof.difficulty < expected.difficulty) {
    throw new AdmissionError(`proof difficulty ${proof.difficulty} is below the required ${expected.difficulty}`, '.difficulty');
  }
  if (!Number.isSafeInteger(proof.counter) || proof.counter < 0) throw new AdmissionError('counter out of range', '.counter');
  const bits = leadingZeroBits(proofHash(proof.epoch, idPublicKey(machine, 'key'), proof.counter));
  if (bits < proof.difficulty) throw new AdmissionError(`proof has ${bits} leading zero bits, claims ${proof.difficulty}`, '.counter');
}
