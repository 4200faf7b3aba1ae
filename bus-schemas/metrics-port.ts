/**
 * The metrics port: what the programs tell their operators through
 * Prometheus (docs/metrics.md), declared once here so that agent/,
 * orchestrator/ and adapters/ can all call it without importing an adapter.
 * adapters/metrics/ implements it with prom-client; NOOP_METRICS is the
 * default wherever nothing is wired (tests, tools).
 *
 * Calls never throw and never block: a sink that cannot record drops the
 * figure. Label values are bounded by the implementation (docs/metrics.md):
 * per-unit series up to a configured number of units, free-form labels
 * (`outcome`, `step`, `code`, `resource`) up to a fixed number of distinct
 * values, the rest folded into `other`.
 */

/** A unit's usage as the meter last read it: totals since the unit was created, and what it holds now. */
export interface UnitUsageFigures {
  /** CPU time used in all, in seconds */
  cpu_seconds: number;
  /** memory in use now */
  memory_bytes: number;
  /** bytes sent in all */
  egress_bytes: number;
  /** bytes held on the host's storage now */
  storage_bytes: number;
}

export interface MetricsPort {
  /** The latest usage of one unit (its holon id); exported while fewer than the cap of units are. */
  unitUsage(holonId: string, usage: UnitUsageFigures): void;
  /** The unit is gone: drop its series (and free its place under the cap). */
  unitGone(holonId: string): void;
  /** What is left of one of the unit's budgets (`resource`: e.g. cpu_seconds, egress_bytes). */
  budgetRemaining(holonId: string, resource: string, value: number): void;
  /** How far behind the unit counters the last metering pass was, in seconds. */
  meteringLag(seconds: number): void;
  /** A provisioning answered: `placed`, `running`, …, `refused`, `error` (docs/metrics.md). */
  provision(outcome: string): void;
  /** How long one step of provisioning took (`authorize_place`, `unit_create`, …). */
  step(step: string, seconds: number): void;
  /** A signed refusal sent on the bus, by its HOLON_E_* code. */
  refusal(code: string): void;
  /** How long one ledger entry's publication took, until the stream acknowledged it. */
  ledgerAppend(seconds: number): void;
}

const nothing = (): void => undefined;

/** Records nothing: the default of every optional `metrics` field. */
export const NOOP_METRICS: MetricsPort = Object.freeze({
  unitUsage: nothing,
  unitGone: nothing,
  budgetRemaining: nothing,
  meteringLag: nothing,
  provision: nothing,
  step: nothing,
  refusal: nothing,
  ledgerAppend: nothing,
});

/**
 * Run `fn`; if it succeeds, `record` how long it took by `now` (a monotonic
 * clock in seconds, injected: adapters/metrics' monotonicSeconds). Failures
 * are not timed: they are counted where they are refused.
 */
export async function timed<T>(now: () => number, record: (seconds: number) => void, fn: () => Promise<T>): Promise<T> {
  const start = now();
  const value = await fn();
  record(now() - start);
  return value;
}
