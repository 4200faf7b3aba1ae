/**
 * metrics(prom): the MetricsPort (bus-schemas/metrics-port.ts) over
 * prom-client, one Registry per process with prom-client's default process
 * metrics. Every metric is listed in docs/metrics.md (a test compares the
 * two).
 *
 * Cardinality is bounded whatever the callers pass: per-unit series exist
 * for at most `maxUnits` units at a time (the first ones seen; a slot frees
 * when `unitGone` is called), the others are counted in
 * `holonet_units_not_exported_total`; each free-form label (`outcome`,
 * `step`, `code`, `resource`) takes at most LABEL_VALUES_MAX distinct values,
 * the rest are folded into `other`. Non-finite figures are dropped.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsPort, UnitUsageFigures } from '../../bus-schemas/metrics-port.js';

export const LABEL_VALUES_MAX = 64;
const LABEL_VALUE_MAX_LENGTH = 64;

export const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const LEDGER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const LAG_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

/** A label's values: the first LABEL_VALUES_MAX distinct ones as given (shortened, restricted to safe characters), then `other`. */
class BoundedValues {
  readonly #seen = new Set<string>();
  of(raw: string): string {
    const v = raw.slice(0, LABEL_VALUE_MAX_LENGTH).replace(/[^A-Za-z0-9_.:-]/g, '_') || 'empty';
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= LABEL_VALUES_MAX) return 'other';
    this.#seen.add(v);
    return v;
  }
}

export interface PromMetricsOptions {
  daemon: 'holon-orchestrator' | 'holon-agent';
  version: string;
  /** per-unit series for at most this many units */
  maxUnits: number;
}

export interface PromMetrics extends MetricsPort {
  readonly registry: Registry;
  /** What `holonet_ready` reports at each scrape (the same check as /readyz). */
  setReadiness(check: () => Promise<boolean>): void;
}

const UNIT_GAUGES = [
  ['cpu_seconds', 'holonet_unit_cpu_seconds', "CPU time the unit used in all, in seconds (the meter's total)"],
  ['memory_bytes', 'holonet_unit_memory_bytes', 'memory the unit uses now'],
  ['egress_bytes', 'holonet_unit_egress_bytes', 'bytes the unit sent in all'],
  ['storage_bytes', 'holonet_unit_storage_bytes', "bytes the unit holds on the host's storage"],
] as const satisfies readonly (readonly [keyof UnitUsageFigures, string, string])[];

export function createPromMetrics(opts: PromMetricsOptions): PromMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let readiness: () => Promise<boolean> = () => Promise.resolve(false);

  new Gauge({ name: 'holonet_build_info', help: 'always 1: the daemon and its release', labelNames: ['daemon', 'version'], registers }).set({ daemon: opts.daemon, version: opts.version }, 1);
  new Gauge({
    name: 'holonet_ready',
    help: '1 when /readyz answers 200 (connected to NATS, and projections loaded or the machine enrolled), else 0',
    registers,
    async collect() {
      this.set((await readiness()) ? 1 : 0);
    },
  });
  const provisions = new Counter({ name: 'holonet_provisions_total', help: 'provisioning requests answered, by outcome', labelNames: ['outcome'], registers });
  const steps = new Histogram({ name: 'holonet_provision_step_duration_seconds', help: 'how long each provisioning step took when it succeeded', labelNames: ['step'], buckets: STEP_BUCKETS, registers });
  const refusals = new Counter({ name: 'holonet_bus_refusals_total', help: 'signed refusals sent on the bus, by error code', labelNames: ['code'], registers });
  const ledger = new Histogram({ name: 'holonet_ledger_append_duration_seconds', help: "one ledger entry's publication, until the stream acknowledged it", buckets: LEDGER_BUCKETS, registers });
  const lag = new Histogram({ name: 'holonet_metering_lag_seconds', help: 'how far behind the unit counters each metering pass was', buckets: LAG_BUCKETS, registers });
  const lagLast = new Gauge({ name: 'holonet_metering_lag_last_seconds', help: 'the metering lag of the last pass', registers });
  const usage = UNIT_GAUGES.map(([field, name, help]) => ({ field, gauge: new Gauge({ name, help, labelNames: ['holon'], registers }) }));
  const budget = new Gauge({ name: 'holonet_unit_budget_remaining', help: "what is left of one of a unit's budgets, in the resource's unit", labelNames: ['holon', 'resource'], registers });
  const exportedGauge = new Gauge({ name: 'holonet_units_exported', help: 'units that have per-unit series now (at most metrics.max_units)', registers });
  const notExported = new Counter({ name: 'holonet_units_not_exported_total', help: 'units refused per-unit series because metrics.max_units were exported already', registers });

  const labels = { outcome: new BoundedValues(), step: new BoundedValues(), code: new BoundedValues(), resource: new BoundedValues() };
  /** exported unit → the budget resources it has series for */
  const exported = new Map<string, Set<string>>();
  /** units refused a slot (each counted once); bounded, forgotten wholesale when it outgrows 10 × the cap */
  const refused = new Set<string>();
  const admit = (holon: string): Set<string> | undefined => {
    const known = exported.get(holon);
    if (known !== undefined) return known;
    if (exported.size >= opts.maxUnits) {
      if (!refused.has(holon)) {
        if (refused.size >= 10 * opts.maxUnits) refused.clear();
        refused.add(holon);
        notExported.inc();
      }
      return undefined;
    }
    const fresh = new Set<string>();
    exported.set(holon, fresh);
    refused.delete(holon);
    exportedGauge.set(exported.size);
    return fresh;
  };
  const finite = (n: number): boolean => typeof n === 'number' && Number.isFinite(n);

  return {
    registry,
    setReadiness(check) {
      readiness = check;
    },
    unitUsage(holonId, u) {
      if (admit(holonId) === undefined) return;
      for (const { field, gauge } of usage) if (finite(u[field])) gauge.set({ holon: holonId }, u[field]);
    },
    unitGone(holonId) {
      refused.delete(holonId);
      const resources = exported.get(holonId);
      if (resources === undefined) return;
      for (const { gauge } of usage) gauge.remove({ holon: holonId });
      for (const resource of resources) budget.remove({ holon: holonId, resource });
      exported.delete(holonId);
      exportedGauge.set(exported.size);
    },
    budgetRemaining(holonId, resource, value) {
      if (!finite(value)) return;
      const resources = admit(holonId);
      if (resources === undefined) return;
      const r = labels.resource.of(resource);
      resources.add(r);
      budget.set({ holon: holonId, resource: r }, value);
    },
    meteringLag(seconds) {
      if (!finite(seconds)) return;
      lag.observe(seconds);
      lagLast.set(seconds);
    },
    provision: (outcome) => provisions.inc({ outcome: labels.outcome.of(outcome) }),
    step(step, seconds) {
      if (finite(seconds)) steps.observe({ step: labels.step.of(step) }, seconds);
    },
    refusal: (code) => refusals.inc({ code: labels.code.of(code) }),
    ledgerAppend(seconds) {
      if (finite(seconds)) ledger.observe(seconds);
    },
  };
}

/** A monotonic clock in seconds, for the durations the port records. */
export const monotonicSeconds = (): number => performance.now() / 1000;
