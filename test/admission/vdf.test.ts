/**
 * The Wesolowski VDF over RSA-2048 (bus-schemas/admission/vdf.ts): the
 * modulus is the published challenge number, ℓ is prime, eval + prove then
 * verify succeeds for small T, and every tampered field fails.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import {
  bigintFromBytes,
  bigintToBytes,
  challengePrime,
  CHALLENGE_PRIME_BITS,
  isProbablePrime,
  modPow,
  RSA_2048_DECIMAL,
  solveVdf,
  vdfEvaluateSteps,
  vdfInput,
  vdfProveSteps,
  VDF_MODULUS,
  verifyVdf,
  verifyWesolowski,
  type VdfProof,
} from '../../bus-schemas/admission/vdf.js';
import { runSteps } from '../../bus-schemas/admission/hashcash.js';
import { encodeId, idPublicKey } from '../../bus-schemas/ids.js';
import { refuses } from '../helpers/refuses.js';

const machine = encodeId('key', new Uint8Array(32).fill(1));
const other = encodeId('key', new Uint8Array(32).fill(2));
const N = VDF_MODULUS;
const T = 600;

/**
 * RSA-2048 in hex as published independently of the decimal we use: the
 * `nBytes` constant of eatthepie's VDFPietrzak.sol ("VDF params - using 2048
 * RSA Factoring Challenge as N modulus"), identical in the to_bytes_be
 * snapshot test of a Rust VDF crate that asserts decimal == hex.
 */
const PUBLISHED_HEX =
  'c7970ceedcc3b0754490201a7aa613cd73911081c790f5f1a8726f463550bb5b7ff0db8e1ea1189ec72f93d1650011bd721aeeacc2acde32a04107f0648c2813' +
  'a31f5b0b7765ff8b44b4b6ffc93384b646eb09c7cf5e8592d40ea33c80039f35b4f14a04b51f7bfd781be4d1673164ba8eb991c2c4d730bbbe35f592bdef524a' +
  'f7e8daefd26c66fc02c479af89d64d373f442709439de66ceb955f3ea37d5159f6135809f85334b5cb1813addc80cd05609f10ac6a95ad65872c909525bdad32' +
  'bc729592642920f24c61dc5b3c3b7923e56b16a4d9d373d8721f24a3fc0f1b3131f55615172866bccc30f95054c824e733a5eb6817f7bc16399d48c6361cc7e5';

void t.test('N is RSA-2048: 617 digits, 2048 bits, the published digits', async (t) => {
  t.equal(RSA_2048_DECIMAL.length, 617);
  t.match(RSA_2048_DECIMAL, /^[0-9]+$/);
  t.equal(N.toString(2).length, 2048);
  t.ok(RSA_2048_DECIMAL.startsWith('25195908475657893494027183240048398571429282126204'), 'published prefix');
  t.ok(RSA_2048_DECIMAL.endsWith('391212010397122822120720357'), 'published suffix');
  t.equal(N.toString(16), PUBLISHED_HEX, 'equals the independently published hex');
  t.equal(N % 2n, 1n);
  // Our own fingerprint, so a change to the constant cannot slip through unnoticed.
  t.equal(createHash('sha256').update(RSA_2048_DECIMAL).digest('hex'), 'b3c2468add10e2a0c4a251d9d2bac4ba04d4b3527156ceead43a1305e03f1fc0');
});

void t.test('modPow and the primality test', async (t) => {
  t.equal(modPow(3n, 0n, 7n), 1n);
  t.equal(modPow(3n, 5n, 7n), 5n);
  t.equal(modPow(-2n, 3n, 7n), 6n);
  t.equal(modPow(5n, 10n, 1n), 0n);
  const big = (1n << 700n) + 12345n; // > 512 hex digits: the 8-bit window path
  let naive = 1n;
  let b = 7n;
  for (let e = big; e > 0n; e >>= 1n) {
    if ((e & 1n) === 1n) naive = (naive * b) % 1000000007n;
    b = (b * b) % 1000000007n;
  }
  t.equal(modPow(7n, big, 1000000007n), naive);
  for (const p of [2n, 3n, 1999n, 2003n, 1000000007n, (1n << 127n) - 1n, (1n << 255n) - 19n]) t.ok(isProbablePrime(p), `${p} is prime`);
  const composites = [0n, 1n, 561n, 3_999_999n, 1000000007n * 998244353n, (1n << 128n) + 1n, 149491n * 747451n * 34233211n /* strong pseudoprime to the prime bases 2 … 31, no factor below 2000 */];
  for (const c of composites) t.notOk(isProbablePrime(c), `${c} is composite`);
  t.equal(bigintFromBytes(bigintToBytes(N, 256)), N);
  t.throws(() => bigintToBytes(N, 255));
});

void t.test('ℓ is a deterministic 256-bit prime bound to (T, x, y)', async (t) => {
  const x = vdfInput(idPublicKey(machine, 'key'), 5);
  const y = runSteps(vdfEvaluateSteps(x, T));
  const l = challengePrime(x, y, T);
  t.equal(l.toString(2).length, CHALLENGE_PRIME_BITS);
  t.ok(isProbablePrime(l, 64), 'prime under 64 more rounds');
  t.equal(challengePrime(x, y, T), l, 'deterministic');
  t.not(challengePrime(x, y, T + 1), l, 'T changes ℓ');
  t.not(challengePrime(x, y + 1n, T), l, 'y changes ℓ');
  t.not(challengePrime(x + 1n, y, T), l, 'x changes ℓ');
});

void t.test('evaluate + prove, then verify; y is x^(2^T)', async (t) => {
  const x = vdfInput(idPublicKey(machine, 'key'), 5);
  const y = runSteps(vdfEvaluateSteps(x, T));
  t.equal(y, modPow(x, 1n << BigInt(T), N), 'T squarings = x^(2^T) mod N');
  const pi = runSteps(vdfProveSteps(x, y, T));
  verifyWesolowski(x, y, pi, T);
  t.pass('the raw proof verifies');

  const proof = solveVdf(machine, 5, T);
  t.match(proof, { kind: 'vdf', epoch: 5, iterations: T });
  t.equal(Buffer.from(proof.y, 'base64url').length, 256);
  t.equal(bigintFromBytes(Buffer.from(proof.y, 'base64url')), y);
  verifyVdf(machine, proof, { epoch: 5, iterations: T });
  verifyVdf(machine, proof, { epoch: 6, iterations: T }); // the previous epoch still counts
  verifyVdf(machine, proof, { epoch: 5, iterations: T - 1 }); // more squarings than asked is fine
  t.pass('the wire proof verifies');
});

void t.test('every tampered field fails', async (t) => {
  const proof = solveVdf(machine, 5, T);
  const expected = { epoch: 5, iterations: T };
  const y = bigintFromBytes(Buffer.from(proof.y, 'base64url'));
  const pi = bigintFromBytes(Buffer.from(proof.pi, 'base64url'));
  const enc = (v: bigint): string => Buffer.from(bigintToBytes(v, 256)).toString('base64url');
  const fails = (p: VdfProof, e: { epoch: number; iterations: number }, match: Record<string, unknown>, what: string): void => {
    refuses(t, () => verifyVdf(machine, p, e), { code: 'HOLON_E_ADMISSION', ...match }, what);
  };
  const bad = { reason: /does not verify/ };
  fails({ ...proof, y: enc(y + 1n) }, expected, bad, 'y + 1');
  fails({ ...proof, y: enc((y * 2n) % N) }, expected, bad, 'another y');
  fails({ ...proof, pi: enc(pi + 1n) }, expected, bad, 'π + 1');
  fails({ ...proof, y: enc(N - y), pi: enc(N - pi) }, expected, bad, '(−y, −π): the sign trick changes ℓ');
  fails({ ...proof, iterations: T + 1 }, expected, bad, 'T + 1 with the same y and π');
  fails({ ...proof, iterations: T - 1 }, { epoch: 5, iterations: T - 1 }, bad, 'T − 1 with the same y and π');
  fails(proof, { epoch: 5, iterations: T + 1 }, { path: '.iterations', reason: `proof has ${T} iterations, below the required ${T + 1}` }, 'fewer squarings than asked');
  fails({ ...proof, epoch: 6 }, { epoch: 6, iterations: T }, bad, 'another epoch (x changes)');
  fails(proof, { epoch: 7, iterations: T }, { path: '.epoch', reason: 'proof is for epoch 5, current epoch is 7' }, 'a stale epoch');
  refuses(t, () => verifyVdf(other, proof, expected), { reason: /does not verify/ }, 'another machine key (x changes)');
  for (const [v, name] of [
    [0n, '0'],
    [1n, '1'],
    [N - 1n, 'N−1'],
  ] as const) {
    fails({ ...proof, y: enc(v) }, expected, { path: '.y', reason: /must be in \[2, N-2\]/ }, `y = ${name}`);
    fails({ ...proof, pi: enc(v) }, expected, { path: '.pi', reason: /must be in \[2, N-2\]/ }, `π = ${name}`);
  }
  fails({ ...proof, y: Buffer.from(bigintToBytes(y, 256)).subarray(1).toString('base64url') }, expected, { path: '.y', reason: /256 bytes/ }, 'short y');
  fails({ ...proof, y: Buffer.alloc(256, 0xff).toString('base64url') }, expected, { path: '.y' }, 'y ≥ N');
  fails({ ...proof, iterations: 2 ** 40 }, expected, { path: '.iterations' }, 'absurd T');
  refuses(t, () => verifyWesolowski(1n, y, pi, T), { path: '.epoch', reason: /x must be/ }, 'x = 1');
  refuses(t, () => verifyWesolowski(N - 1n, y, pi, T), { path: '.epoch' }, 'x = N−1');
  t.throws(() => solveVdf(machine, 5, 3), { code: 'HOLON_E_ADMISSION' }, 'T below the minimum is not solved');
});
