/**
 * Admission (bus-schemas/admission), what an attacker pays and what the cell pays:
 *  - the hashcash difficulty the cell demands at 10× the normal hello rate
 *    (the real AdmissionRateWindow driven by a fake clock, default policy),
 *    next to the difficulty at the normal rate;
 *  - the attacker's CPU-seconds per admitted identity at each of those
 *    difficulties, MEASURED by solving a few proofs for fresh machine keys
 *    (process.cpuUsage); the expected cost from the measured hash rate is
 *    given beside it and labelled as an extrapolation;
 *  - VDF verification time next to evaluation time in the same run, for a T
 *    calibrated so that evaluation takes about one second.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AdmissionRateWindow, admissionSettings, requirementAt } from '../bus-schemas/admission/adaptive.js';
import { hashcashSteps, runSteps, solveHashcash } from '../bus-schemas/admission/hashcash.js';
import {
  vdfEvaluateSteps,
  vdfInput,
  vdfProveSteps,
  verifyVdf,
  VDF_ELEMENT_BYTES,
  bigintToBytes,
  type VdfProof,
} from '../bus-schemas/admission/vdf.js';
import { encodeId, idPublicKey, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { DEFAULT_POLICY } from '../bus-schemas/v1/policy.js';
import { percentile, round, type BenchResult } from './measure.js';

const MINUTE = 60_000;
const SOLVES_AT_NORMAL = 24;
const SOLVES_AT_FLOOD = 12;

const freshMachine = (): PublicKeyIdV1 => encodeId('key', randomBytes(32));
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The difficulty the cell asks of the next hello after `minutes` of `perMinute` distinct admitted hellos. */
function demandedAt(perMinute: number, minutes: number): { difficulty: number; rate: number } {
  const settings = admissionSettings({ admission_difficulty: DEFAULT_POLICY.admission_difficulty });
  const window = new AdmissionRateWindow();
  let now = 1_700_000_000_000;
  const step = MINUTE / perMinute;
  for (let i = 0; i < perMinute * minutes; i++) {
    window.admit(`m${i}`, now);
    now += step;
  }
  const rate = window.rate(now);
  const r = requirementAt(settings, 0, rate);
  return { difficulty: r.kind === 'hashcash' ? r.difficulty : Number.NaN, rate };
}

/** Solve `n` proofs at `difficulty` for fresh machine keys; CPU-seconds of each. */
function solveCosts(difficulty: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const machine = freshMachine();
    const c0 = cpuSeconds();
    solveHashcash(machine, 1, difficulty);
    out.push(cpuSeconds() - c0);
  }
  return out;
}

/** Admission hashes per CPU-second, measured at difficulty 40 for ~0.5 CPU-s (it never finds one there). */
function hashRate(): number {
  const steps = hashcashSteps(freshMachine(), 1, 40); // yields every 4096 hashes
  const c0 = cpuSeconds();
  let hashes = 0;
  while (cpuSeconds() - c0 < 0.5) {
    steps.next();
    hashes += 4096;
  }
  return hashes / (cpuSeconds() - c0);
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const summary = (xs: number[]): Record<string, number> => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { n: xs.length, min_s: round(sorted[0] ?? Number.NaN, 3), median_s: round(percentile(sorted, 50), 3), max_s: round(sorted[sorted.length - 1] ?? Number.NaN, 3) };
};

function hashcashResults(): BenchResult[] {
  const normalRate = 60; // the default admission_normal_rate (hellos per minute)
  const quiet = demandedAt(normalRate, 3);
  const flood = demandedAt(10 * normalRate, 3);
  const rate = hashRate();
  const atNormal = solveCosts(quiet.difficulty, SOLVES_AT_NORMAL);
  const atFlood = solveCosts(flood.difficulty, SOLVES_AT_FLOOD);
  const costNormal = mean(atNormal);
  const costFlood = mean(atFlood);
  return [
    {
      name: 'hashcash difficulty the cell demands at 10× the normal hello rate (default policy)',
      value: flood.difficulty,
      unit: 'bits',
      baseline: { name: 'at the normal rate (60 admitted hellos/min)', value: quiet.difficulty, unit: 'bits' },
      goal: '= base + floor(log2 10) = base + 3 bits',
      goal_met: flood.difficulty === quiet.difficulty + 3,
      meta: { simulated_rate_per_min: round(flood.rate, 1), normal_rate_per_min: normalRate, window_ms: MINUTE, simulated_minutes: 3 },
    },
    {
      name: `attacker cost per admitted identity at 10× rate (hashcash ${flood.difficulty} bits), measured`,
      value: round(costFlood, 3),
      unit: 'CPU-s/identity (mean)',
      baseline: { name: `at the normal rate (${quiet.difficulty} bits), measured`, value: round(costNormal, 3), unit: 'CPU-s/identity (mean)' },
      meta: {
        solves_flood: summary(atFlood),
        solves_normal: summary(atNormal),
        ratio_measured: round(costFlood / costNormal, 2),
        hashes_per_cpu_second: Math.round(rate),
        extrapolated_expected_flood_s: round(2 ** flood.difficulty / rate, 3),
        extrapolated_expected_normal_s: round(2 ** quiet.difficulty / rate, 3),
        extrapolated_attacker_cpu_s_per_minute_at_10x: round((10 * normalRate * 2 ** flood.difficulty) / rate, 1),
        note: 'solving time is geometric (mean 2^d hashes): few samples scatter; extrapolated_* use the measured hash rate, not a solve',
      },
    },
  ];
}

function vdfResults(): BenchResult {
  const machine = freshMachine();
  const x = vdfInput(idPublicKey(machine, 'key'), 1);
  // Calibrate: squarings per second over ~0.5 s, then T for ~1 s of evaluation.
  const probe = vdfEvaluateSteps(x, Number.MAX_SAFE_INTEGER);
  const t0 = performance.now();
  let done = 0;
  while (performance.now() - t0 < 500) {
    probe.next();
    done += 4096;
  }
  const perSecond = done / ((performance.now() - t0) / 1000);
  const T = Math.max(1024, Math.round(perSecond / 1024) * 1024);

  const e0 = performance.now();
  const y = runSteps(vdfEvaluateSteps(x, T));
  const evalMs = performance.now() - e0;
  const p0 = performance.now();
  const pi = runSteps(vdfProveSteps(x, y, T));
  const proveMs = performance.now() - p0;
  const b64 = (v: bigint): string => Buffer.from(bigintToBytes(v, VDF_ELEMENT_BYTES)).toString('base64url');
  const proof: VdfProof = { kind: 'vdf', epoch: 1, iterations: T, y: b64(y), pi: b64(pi) };
  const verifies: number[] = [];
  for (let i = 0; i < 15; i++) {
    const v0 = performance.now();
    verifyVdf(machine, proof, { epoch: 1, iterations: T });
    verifies.push(performance.now() - v0);
  }
  verifies.sort((a, b) => a - b);
  const verifyMs = percentile(verifies, 50);
  return {
    name: `VDF verify (Wesolowski, RSA-2048, T = ${T})`,
    value: round(verifyMs, 2),
    unit: 'ms (median of 15)',
    baseline: { name: `VDF eval, T = ${T} sequential squarings`, value: round(evalMs, 1), unit: 'ms' },
    meta: {
      T,
      squarings_per_second: Math.round(perSecond),
      prove_ms: round(proveMs, 1),
      prover_total_ms: round(evalMs + proveMs, 1),
      verify_p99_ms: round(percentile(verifies, 99), 2),
      verify_over_eval: round(verifyMs / evalMs, 5),
    },
  };
}

export default async function bench(): Promise<BenchResult[]> {
  return [...hashcashResults(), vdfResults()];
}
