/**
 * Bit arithmetic on tree sizes and indices. JavaScript's bitwise operators
 * work on 32 bits, but a directory log is sized for 10^12 leaves, so every
 * helper here is exact for all safe integers (< 2^53): the high and low
 * 32-bit halves are handled separately and shifts are divisions.
 */

const TWO_32 = 2 ** 32;

function popcount32(v: number): number {
  let x = v >>> 0;
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function high(x: number): number {
  return Math.floor(x / TWO_32);
}

/** Bits needed to write x ≥ 0: bitLength(0) = 0, bitLength(1) = 1, bitLength(8) = 4. */
export function bitLength(x: number): number {
  if (x < TWO_32) return 32 - Math.clz32(x);
  return 32 + (32 - Math.clz32(high(x)));
}

/** Number of set bits. */
export function popcount(x: number): number {
  return popcount32(x % TWO_32) + popcount32(high(x));
}

/** a XOR b for non-negative safe integers. */
export function xorBits(a: number, b: number): number {
  const hi = (high(a) ^ high(b)) >>> 0;
  const lo = ((a % TWO_32) ^ (b % TWO_32)) >>> 0;
  return hi * TWO_32 + lo;
}

/** Number of trailing zero bits of x > 0. */
export function trailingZeros(x: number): number {
  const lo = x % TWO_32;
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  return 32 + (31 - Math.clz32(high(x) & -high(x)));
}

/** x >> k for non-negative safe integers. */
export function shiftRight(x: number, k: number): number {
  return Math.floor(x / 2 ** k);
}

export function isPowerOfTwo(x: number): boolean {
  return x > 0 && popcount(x) === 1;
}

/** RFC 6962's k for n ≥ 2: the largest power of two strictly smaller than n. */
export function splitPoint(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

/** True for a non-negative integer a double holds exactly. */
export function isTreeNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Hashes in the inclusion proof of leaf `index` in a tree of `size` leaves
 * (index < size): the levels below the point where the paths to `index` and
 * to the last leaf part, plus one left sibling for each set bit above it.
 * At most ⌈log2 size⌉; exactly 40 for any leaf of a 2^40-leaf tree.
 */
export function inclusionProofLength(index: number, size: number): number {
  const inner = bitLength(xorBits(index, size - 1));
  return inner + popcount(shiftRight(index, inner));
}

/**
 * Hashes in the consistency proof from `m` to `n` leaves (0 < m < n): the
 * inclusion path of leaf m-1 in the larger tree, less the levels inside the
 * rightmost perfect subtree of the smaller tree, plus that subtree's own root
 * unless the smaller tree is perfect (then the verifier already has it).
 */
export function consistencyProofLength(m: number, n: number): number {
  const fork = bitLength(xorBits(m - 1, n - 1));
  const border = popcount(shiftRight(m - 1, fork));
  const shift = trailingZeros(m);
  return (isPowerOfTwo(m) ? 0 : 1) + (fork - shift) + border;
}

/**
 * Stored-hash layout (as in Go's sumdb tlog): hashes are appended in the
 * order they become computable — leaf j's hash, then the hash of every
 * perfect subtree that leaf j completes, lowest level first. The number of
 * hashes stored for the first n leaves is Σ_l ⌊n / 2^l⌋ = 2n − popcount(n).
 */
export function storedHashCount(leaves: number): number {
  return 2 * leaves - popcount(leaves);
}

/** Position of the perfect subtree (level, index) — leaves [index·2^level, (index+1)·2^level) — in that layout. */
export function storedHashIndex(level: number, index: number): number {
  const last = (index + 1) * 2 ** level - 1;
  return storedHashCount(last) + level;
}

/** The leaf count n with storedHashCount(n) = count, or undefined if a leaf's hashes are torn. */
export function leavesForStoredCount(count: number): number | undefined {
  // 2n − popcount(n) = count and popcount(n) ≤ 53 put n in [count/2, (count+53)/2].
  for (let n = Math.floor(count / 2); n <= Math.ceil((count + 53) / 2); n++) {
    const c = storedHashCount(n);
    if (c === count) return n;
    if (c > count) return undefined;
  }
  return undefined;
}
