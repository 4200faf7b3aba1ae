/**
 * Benchmark helpers. A benchmark file `bench/<name>.bench.ts` default-exports
 * an async function returning BenchResult[]; `npm run bench` runs them all
 * and prints one JSON document. Results compare against a baseline measured
 * in the same run wherever there is one.
 */
import { performance } from 'node:perf_hooks';

export interface BenchValue {
  name: string;
  value: number;
  unit: string;
}

export interface BenchResult extends BenchValue {
  /** The same work done the plain way, measured in the same run. */
  baseline?: BenchValue;
  /** The goal from the issue, in words, e.g. "≥ 0.5 × baseline". */
  goal?: string;
  /** Whether the goal was met in this run (absent when there is no goal). */
  goal_met?: boolean;
  /** Anything else worth reporting (sample counts, percentiles, sizes). */
  meta?: Record<string, unknown>;
}

export type Benchmark = () => Promise<BenchResult[]>;

/**
 * Run `fn` repeatedly for about `ms` milliseconds (after a warm-up) and
 * return operations per second. `fn` may do `batch` operations per call.
 */
export function opsPerSecond(fn: () => void, opts: { ms?: number; batch?: number; warmup?: number } = {}): number {
  const ms = opts.ms ?? 1000;
  const batch = opts.batch ?? 1;
  const warmupUntil = performance.now() + (opts.warmup ?? 100);
  while (performance.now() < warmupUntil) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    ops += batch;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/** Async variant of opsPerSecond. */
export async function opsPerSecondAsync(
  fn: () => Promise<void>,
  opts: { ms?: number; batch?: number; warmup?: number } = {},
): Promise<number> {
  const ms = opts.ms ?? 1000;
  const batch = opts.batch ?? 1;
  const warmupUntil = performance.now() + (opts.warmup ?? 100);
  while (performance.now() < warmupUntil) await fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await fn();
    ops += batch;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/** Mean microseconds per call of `fn`. */
export function microsPerOp(fn: () => void, opts: { ms?: number; warmup?: number } = {}): number {
  return 1e6 / opsPerSecond(fn, opts);
}

export function percentile(sortedAscending: number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const i = Math.min(sortedAscending.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1));
  return sortedAscending[i] as number;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
