/**
 * A probe finds out one thing about the host (Nomad-style fingerprinting):
 * small, independent, run concurrently by the ProbeManager, each with its
 * own timeout. Essential probes (os, cpu, memory) must succeed; any other
 * probe that fails degrades to its `defaults` and becomes a warning.
 */
import type { HostSource } from './host-source.js';
import type { ProbeFacts } from './probe-facts.js';
import type { ResolvedProbeConfig } from './probe-config.js';

export interface ProbeContext {
  readonly source: HostSource;
  readonly config: ResolvedProbeConfig;
  /** Aborted when the probe's time is up; pass it to `source.run` so child processes die with it. */
  readonly signal: AbortSignal;
  /** Note something odd that did not stop the probe (an unreportable interface, a dropped address). */
  warn(reason: string): void;
}

export interface Probe {
  /** lowercase name, used in warnings and in `probes(<name>): …` errors */
  readonly name: string;
  /** failure of an essential probe stops the agent; others degrade to `defaults` */
  readonly essential: boolean;
  /** what a failed non-essential probe contributes instead (documented in docs/adapters/probes.md) */
  readonly defaults: ProbeFacts;
  /** overrides the manager's per-probe timeout */
  readonly timeoutMs?: number;
  run(ctx: ProbeContext): Promise<ProbeFacts>;
}
