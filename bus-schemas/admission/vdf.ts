/**
 * Wesolowski's verifiable delay function (eprint 2018/623) over the RSA-2048
 * challenge modulus, as the optional admission proof (DESIGN §3). Pure
 * TypeScript over BigInt.
 *
 *   x  = H_N("holonet-admission/vdf/v1" ‖ 0x00 ‖ epoch ‖ 0x00 ‖ machine key)   (hashed into Z_N)
 *   y  = x^(2^T) mod N                       T sequential squarings: the delay
 *   ℓ  = HashToPrime(T ‖ x ‖ y)              Fiat–Shamir: a 256-bit prime
 *   π  = x^⌊2^T / ℓ⌋ mod N                   the proof
 *   verify: r = 2^T mod ℓ,  π^ℓ · x^r ≡ y (mod N)   two short exponentiations
 *
 * N is the RSA Factoring Challenge's RSA-2048 (617 digits, never factored),
 * so nobody knows the group order and nobody can shortcut the squarings.
 * Unlike hashcash the work cannot be spread over many cores for one
 * identity; it costs ~T squarings of wall time per machine key and epoch.
 * The elements ±1 of known order are refused as y and π; an attacker who
 * swaps y for −y also changes ℓ, so that gains nothing.
 */
import { createHash } from 'node:crypto';
import { idPublicKey, type PublicKeyIdV1 } from '../ids.js';
import { AdmissionError, runSteps } from './hashcash.js';

/**
 * RSA-2048 from the RSA Factoring Challenge, decimal. Cross-checked (see
 * test/admission/vdf.test.ts) against independent published copies: the
 * decimal of cambrian/accumulator src/group/rsa.rs (taken from Wikipedia's
 * "RSA numbers") and the hex of eatthepie's VDFPietrzak.sol
 * (c7970ceedcc3b075…c6361cc7e5).
 */
export const RSA_2048_DECIMAL =
  '25195908475657893494027183240048398571429282126204032027777137836043662020707595' +
  '55626401852588078440691829064124951508218929855914917618450280848912007284499268' +
  '73928072877767359714183472702618963750149718246911650776133798590957000973304597' +
  '48808428401797429100642458691817195118746121515172654632282216869987549182422433' +
  '63725908514186546204357679842338718477444792073993423658482382428119816381501067' +
  '48104516603773060562016196762561338441436038339044149526344321901146575444541784' +
  '24020924616515723350778707749817125772467962926386356373289912154831438167899885' +
  '040445364023527381951378636564391212010397122822120720357';
export const VDF_MODULUS = BigInt(RSA_2048_DECIMAL);
/** y and π travel as fixed-width big-endian base64url: one encoding per value. */
export const VDF_ELEMENT_BYTES = 256;
/**
 * Below 2 × |ℓ| squarings ⌊2^T / ℓ⌋ is tiny (0 for T < 256: π = 1) and the
 * verifier would redo the whole evaluation; a delay that short means nothing.
 */
export const VDF_MIN_ITERATIONS = 512;
/** 2^28 squarings: most of an hour on one core (~100k squarings/s here); more is refused on the wire. */
export const VDF_MAX_ITERATIONS = 2 ** 28;
/** Bits of the Fiat–Shamir prime ℓ (2k for k = 128-bit security, as Wesolowski recommends). */
export const CHALLENGE_PRIME_BITS = 256;
/**
 * Miller–Rabin rounds. The candidate is a hash output and the bases are
 * hashed from it, so neither can be chosen: for a random 256-bit candidate
 * 20 rounds err with probability below 2^-100 (Damgård–Landrock–Pomerance).
 */
const MILLER_RABIN_ROUNDS = 20;
/** Squarings between two yields of the step generators. */
const SLICE = 4096;

const N = VDF_MODULUS;
const INPUT_PREFIX = new TextEncoder().encode('holonet-admission/vdf/v1\u0000');
const PRIME_PREFIX = new TextEncoder().encode('holonet-admission/vdf-prime/v1\u0000');
const WITNESS_PREFIX = new TextEncoder().encode('holonet-admission/vdf-mr/v1\u0000');

export interface VdfProof {
  kind: 'vdf';
  epoch: number;
  iterations: number;
  /** y = x^(2^T) mod N, 256 bytes big-endian, base64url */
  y: string;
  /** π, 256 bytes big-endian, base64url */
  pi: string;
}

// ── numbers ──────────────────────────────────────────────────────────

export function bigintFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

export function bigintToBytes(n: bigint, length: number): Uint8Array {
  if (n < 0n) throw new RangeError('negative');
  const hex = n.toString(16);
  if (hex.length > length * 2) throw new RangeError(`${hex.length * 4} bits do not fit in ${length} bytes`);
  return Buffer.from(hex.padStart(length * 2, '0'), 'hex');
}

function hexDigit(code: number): number {
  return code <= 57 ? code - 48 : code - 87; // '0'..'9', 'a'..'f' (toString(16) is lowercase)
}

/** base^exp mod m with a fixed window; yields every few thousand squarings. */
export function* modPowSteps(base: bigint, exp: bigint, m: bigint): Generator<void, bigint> {
  if (m <= 0n) throw new RangeError('modulus must be positive');
  if (exp < 0n) throw new RangeError('exponent must not be negative');
  if (m === 1n) return 0n;
  const hex = exp.toString(16);
  const digits = hex.length > 512 ? 2 : 1; // 8-bit windows for the prover's huge exponent, 4-bit otherwise
  const w = digits * 4;
  const table: bigint[] = [1n, ((base % m) + m) % m];
  for (let i = 2; i < 1 << w; i++) table.push(((table[i - 1] as bigint) * (table[1] as bigint)) % m);
  const padded = hex.padStart(Math.ceil(hex.length / digits) * digits, '0');
  let acc = 1n;
  let started = false;
  let since = 0;
  for (let i = 0; i < padded.length; i += digits) {
    if (started) {
      for (let k = 0; k < w; k++) acc = (acc * acc) % m;
      since += w;
    }
    let d = hexDigit(padded.charCodeAt(i));
    if (digits === 2) d = (d << 4) | hexDigit(padded.charCodeAt(i + 1));
    if (d !== 0) {
      acc = started ? (acc * (table[d] as bigint)) % m : (table[d] as bigint);
      started = true;
    }
    if (since >= SLICE) {
      since = 0;
      yield;
    }
  }
  return acc % m;
}

export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  return runSteps(modPowSteps(base, exp, m));
}

const SMALL_PRIMES: number[] = (() => {
  const limit = 2000;
  const sieve = new Uint8Array(limit);
  const out: number[] = [];
  for (let i = 2; i < limit; i++) {
    if (sieve[i] === 1) continue;
    out.push(i);
    for (let j = i * i; j < limit; j += i) sieve[j] = 1;
  }
  return out;
})();

/** The small primes in groups whose product stays below 2^53, so one BigInt remainder serves a group. */
const SMALL_PRIME_GROUPS: { product: bigint; primes: number[] }[] = (() => {
  const groups: { product: bigint; primes: number[] }[] = [];
  let primes: number[] = [];
  let product = 1;
  for (const p of SMALL_PRIMES) {
    if (product * p > Number.MAX_SAFE_INTEGER) {
      groups.push({ product: BigInt(product), primes });
      primes = [];
      product = 1;
    }
    primes.push(p);
    product *= p;
  }
  groups.push({ product: BigInt(product), primes });
  return groups;
})();

function witness(n: bigint, round: number): bigint {
  const bytes = Math.ceil(n.toString(16).length / 2) + 16;
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < bytes; i++) {
    out.push(
      createHash('sha256')
        .update(WITNESS_PREFIX)
        .update(n.toString(16))
        .update(`\u0000${round}\u0000${i}`)
        .digest(),
    );
  }
  return 2n + (bigintFromBytes(Buffer.concat(out).subarray(0, bytes)) % (n - 3n)); // in [2, n-2]
}

/**
 * Probable-prime test: trial division by the primes below 2000, then
 * `rounds` Miller–Rabin rounds whose bases are hashed from n (a chosen
 * composite cannot pick its witnesses).
 */
export function isProbablePrime(n: bigint, rounds = MILLER_RABIN_ROUNDS): boolean {
  if (n < 2n) return false;
  for (const g of SMALL_PRIME_GROUPS) {
    const rem = Number(n % g.product);
    for (const p of g.primes) {
      if (rem % p === 0) return n === BigInt(p);
    }
  }
  if (n < 4_000_000n) return true; // no factor below 2000 and below 2000²
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  for (let round = 0; round < rounds; round++) {
    let x = modPow(witness(n, round), d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

// ── the VDF ──────────────────────────────────────────────────────────

/** x = the hash of (epoch, machine key) into Z_N: 2304 hashed bits reduced mod N (bias < 2^-255). */
export function vdfInput(machineKey: Uint8Array, epoch: number): bigint {
  const blocks: Buffer[] = [];
  for (let i = 0; i < 9; i++) {
    blocks.push(createHash('sha256').update(INPUT_PREFIX).update(`${epoch}\u0000`).update(machineKey).update(Uint8Array.of(i)).digest());
  }
  const x = bigintFromBytes(Buffer.concat(blocks)) % N;
  checkElement(x, 'x', '.epoch');
  return x;
}

function checkElement(v: bigint, name: string, path: string): void {
  if (v <= 1n || v >= N - 1n) throw new AdmissionError(`${name} must be in [2, N-2] (0, 1 and N-1 are refused)`, path);
}

/** The Fiat–Shamir challenge: the first probable prime of 256 bits in a hash chain over (T, x, y). */
export function challengePrime(x: bigint, y: bigint, iterations: number): bigint {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(iterations));
  const xb = bigintToBytes(x, VDF_ELEMENT_BYTES);
  const yb = bigintToBytes(y, VDF_ELEMENT_BYTES);
  const top = 1n << BigInt(CHALLENGE_PRIME_BITS - 1);
  for (let counter = 0; counter < 1 << 16; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const h = createHash('sha256').update(PRIME_PREFIX).update(t).update(xb).update(yb).update(c).digest();
    const candidate = bigintFromBytes(h) | top | 1n;
    if (isProbablePrime(candidate)) return candidate;
  }
  // 2^16 odd 256-bit candidates without a prime: probability below 2^-1000.
  throw new AdmissionError('no challenge prime found');
}

/** y = x^(2^T) mod N by T sequential squarings; yields every few thousand. */
export function* vdfEvaluateSteps(x: bigint, iterations: number): Generator<void, bigint> {
  let y = x;
  for (let i = 1; i <= iterations; i++) {
    y = (y * y) % N;
    if (i % SLICE === 0) yield;
  }
  return y;
}

/** π = x^⌊2^T / ℓ⌋ mod N (about T more squarings and T/8 multiplications). */
export function* vdfProveSteps(x: bigint, y: bigint, iterations: number): Generator<void, bigint> {
  const l = challengePrime(x, y, iterations);
  return yield* modPowSteps(x, (1n << BigInt(iterations)) / l, N);
}

/** Check π^ℓ · x^r ≡ y (mod N) with r = 2^T mod ℓ. Throws AdmissionError. */
export function verifyWesolowski(x: bigint, y: bigint, pi: bigint, iterations: number): void {
  checkElement(x, 'x', '.epoch');
  checkElement(y, 'y', '.y');
  checkElement(pi, 'π', '.pi');
  const l = challengePrime(x, y, iterations);
  const r = modPow(2n, BigInt(iterations), l);
  if ((modPow(pi, l, N) * modPow(x, r, N)) % N !== y) {
    throw new AdmissionError(`VDF proof does not verify: π^ℓ · x^r ≠ y for T = ${iterations}`);
  }
}

// ── the admission proof ──────────────────────────────────────────────

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < VDF_MIN_ITERATIONS || iterations > VDF_MAX_ITERATIONS) {
    throw new AdmissionError(`iterations must be an integer in ${VDF_MIN_ITERATIONS}..${VDF_MAX_ITERATIONS}`, '.iterations');
  }
}

/** Evaluate and prove for (machine, epoch) as a step generator (yields every few thousand squarings). */
export function* vdfSteps(machine: PublicKeyIdV1, epoch: number, iterations: number): Generator<void, VdfProof> {
  checkIterations(iterations);
  const x = vdfInput(idPublicKey(machine, 'key'), epoch);
  const y = yield* vdfEvaluateSteps(x, iterations);
  const pi = yield* vdfProveSteps(x, y, iterations);
  const b64 = (v: bigint): string => Buffer.from(bigintToBytes(v, VDF_ELEMENT_BYTES)).toString('base64url');
  return { kind: 'vdf', epoch, iterations, y: b64(y), pi: b64(pi) };
}

export function solveVdf(machine: PublicKeyIdV1, epoch: number, iterations: number): VdfProof {
  return runSteps(vdfSteps(machine, epoch, iterations));
}

function element(value: string, name: string, path: string): bigint {
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length !== VDF_ELEMENT_BYTES || bytes.toString('base64url') !== value) {
    throw new AdmissionError(`${name} must be ${VDF_ELEMENT_BYTES} bytes of canonical base64url`, path);
  }
  return bigintFromBytes(bytes);
}

/**
 * Check a VDF proof for `machine` against the cell's epoch (this one or the
 * previous) and required iterations (a proof with more is accepted). Cheap
 * checks first; then one hash-to-prime and two exponentiations.
 */
export function verifyVdf(machine: PublicKeyIdV1, proof: VdfProof, expected: { epoch: number; iterations: number }): void {
  if (proof.epoch !== expected.epoch && proof.epoch !== expected.epoch - 1) {
    throw new AdmissionError(`proof is for epoch ${proof.epoch}, current epoch is ${expected.epoch}`, '.epoch');
  }
  checkIterations(proof.iterations);
  if (proof.iterations < expected.iterations) {
    throw new AdmissionError(`proof has ${proof.iterations} iterations, below the required ${expected.iterations}`, '.iterations');
  }
  const y = element(proof.y, 'y', '.y');
  const pi = element(proof.pi, 'π', '.pi');
  verifyWesolowski(vdfInput(idPublicKey(machine, 'key'), proof.epoch), y, pi, proof.iterations);
}
