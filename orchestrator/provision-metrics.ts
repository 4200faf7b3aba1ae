/**
 * The orchestrator's figures for docs/metrics.md, taken around its ports and
 * request handlers (main.ts wires them), so the services themselves carry
 * no metrics code:
 *
 *   provision requests   holonet_provisions_total{outcome}: the state the answer
 *                        names (placed, running, …), refused, or error; step
 *                        authorize_place
 *   unit reports         steps unit_report and, for a unit reported PROVISIONED,
 *                        placed_to_running (from the placing answer, when this
 *                        process gave it)
 *   teardown requests    step teardown
 *   agent commands       step command_publish
 *   ledger               holonet_ledger_append_duration_seconds per entry published
 *
 * Durations come from an injected monotonic clock in seconds.
 */
import { HolonError } from '../bus-schemas/errors.js';
import { timed, type MetricsPort } from '../bus-schemas/metrics-port.js';
import type { UnitReportV1 } from '../bus-schemas/v1/unit-flow.js';
import type { CommandQueue } from './provisioning/provisioning-service.js';
import type { StepLedger } from './step-writer.js';

/** Placements whose PROVISIONED report is awaited, oldest dropped first beyond this. */
const PENDING_MAX = 10_000;

/** The ledger port, each publication timed. */
export function measuredLedger(ledger: StepLedger, metrics: MetricsPort, now: () => number): StepLedger {
  return {
    prepare: (owner, kind, body, at) => ledger.prepare(owner, kind, body, at),
    commit: (text) => timed(now, (s) => metrics.ledgerAppend(s), () => ledger.commit(text)),
  };
}

/** The agents' command queues, each publication timed. */
export function measuredQueue(queue: CommandQueue, metrics: MetricsPort, now: () => number): CommandQueue {
  return {
    ensure: (machineId) => queue.ensure(machineId),
    publish: (machineId, msgId, bytes) => timed(now, (s) => metrics.step('command_publish', s), () => queue.publish(machineId, msgId, bytes)),
  };
}

export class ProvisionMeter {
  readonly #metrics: MetricsPort;
  readonly #now: () => number;
  /** request digest → when its placement was answered */
  readonly #placedAt = new Map<string, number>();

  constructor(metrics: MetricsPort, now: () => number) {
    this.#metrics = metrics;
    this.#now = now;
  }

  /** Answer a provision request with `handle`, counting the outcome. */
  async provision<R extends { holon: { state: string; request_digest: string } }>(handle: () => Promise<R>): Promise<R> {
    let reply: R;
    try {
      reply = await timed(this.#now, (s) => this.#metrics.step('authorize_place', s), handle);
    } catch (e) {
      this.#metrics.provision(e instanceof HolonError ? 'refused' : 'error');
      throw e;
    }
    const state = reply.holon.state.toLowerCase();
    this.#metrics.provision(state);
    if (state === 'placed' && !this.#placedAt.has(reply.holon.request_digest)) {
      if (this.#placedAt.size >= PENDING_MAX) this.#placedAt.delete(this.#placedAt.keys().next().value as string);
      this.#placedAt.set(reply.holon.request_digest, this.#now());
    }
    return reply;
  }

  /** Answer a unit report with `handle`; a PROVISIONED one ends the placed → running wait. */
  async unitReport<R>(report: Pick<UnitReportV1, 'event' | 'request_digest'>, handle: () => Promise<R>): Promise<R> {
    const reply = await timed(this.#now, (s) => this.#metrics.step('unit_report', s), handle);
    const placedAt = this.#placedAt.get(report.request_digest);
    if (report.event === 'PROVISIONED' && placedAt !== undefined) {
      this.#placedAt.delete(report.request_digest);
      this.#metrics.step('placed_to_running', this.#now() - placedAt);
    }
    return reply;
  }

  /** Answer a teardown request with `handle`. */
  teardown<R>(handle: () => Promise<R>): Promise<R> {
    return timed(this.#now, (s) => this.#metrics.step('teardown', s), handle);
  }
}
