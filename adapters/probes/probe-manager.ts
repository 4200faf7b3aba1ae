/**
 * Runs the probes concurrently, each under its own timeout, checks each
 * probe's facts against the wire schemas, merges them in probe-list order
 * (so the result never depends on which probe finished first), and builds
 * the validated PlatformReportV1 and ResourceCapacityV1.
 *
 * A failing, hanging or lying non-essential probe contributes its documented
 * defaults and a warning; an essential one (os, cpu, memory) stops the run
 * with ProbeError `HOLON_E_PROBE_FAILED` — `probes(<name>): …`.
 */
import { MalformedError } from '../../bus-schemas/errors.js';
import type { NetworkAddressV1 } from '../../bus-schemas/v1/network-address.js';
import type { PlatformReportV1 } from '../../bus-schemas/v1/platform-report.js';
import type { ResourceCapacityV1 } from '../../bus-schemas/v1/resource-capacity.js';
import { buildPlatformReport, buildResourceCapacity } from './build-report.js';
import type { HostSource } from './host-source.js';
import type { Probe, ProbeContext } from './probe.js';
import { resolveProbeConfig, type ProbeConfig, type ResolvedProbeConfig } from './probe-config.js';
import { describeFailure, ProbeError, ProbeTimeoutError } from './probe-error.js';
import { ProbeFactsSchema, type FactName, type ProbeFacts } from './probe-facts.js';

export interface ProbeWarning {
  probe: string;
  /** why, without the `probes(<name>): ` prefix */
  reason: string;
  timed_out: boolean;
  /** facts that took the probe's defaults (empty for a note from a probe that succeeded) */
  defaulted: FactName[];
}

export interface ProbeResult {
  report: PlatformReportV1;
  capacity: ResourceCapacityV1;
  /** for MachineAttestationV1.network_addresses: sorted, at most 64 */
  addresses: NetworkAddressV1[];
  interfaces: string[];
  /** everything the probes found, merged (includes data_mount, cpu_speed_mhz) */
  facts: ProbeFacts;
  warnings: ProbeWarning[];
  /** wall time per probe, in probe-list order */
  durations: { probe: string; ms: number }[];
}

export interface ProbeManagerOptions {
  probes: readonly Probe[];
  source: HostSource;
  config: ProbeConfig;
  /** monotonic milliseconds, for durations (default performance.now) */
  now?: () => number;
}

type Outcome = { probe: Probe; ms: number; notes: string[] } & ({ ok: true; facts: ProbeFacts } | { ok: false; error: unknown });

const PROBE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

function reasonOf(e: unknown, probe: string): string {
  const text = e instanceof MalformedError ? `${e.path}: ${e.reason}` : describeFailure(e);
  const prefix = `probes(${probe}): `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

export class ProbeManager {
  readonly config: ResolvedProbeConfig;
  private readonly probes: readonly Probe[];
  private readonly source: HostSource;
  private readonly now: () => number;

  constructor(options: ProbeManagerOptions) {
    this.config = resolveProbeConfig(options.config);
    const names = new Set<string>();
    for (const [i, p] of options.probes.entries()) {
      if (!PROBE_NAME.test(p.name)) throw new ProbeError('config', 'config', `probes[${i}].name: expected a lowercase probe name, got ${JSON.stringify(p.name)}`);
      if (names.has(p.name)) throw new ProbeError('config', 'config', `probes[${i}].name: "${p.name}" is listed twice`);
      if (p.timeoutMs !== undefined && (!Number.isSafeInteger(p.timeoutMs) || p.timeoutMs < 1)) {
        throw new ProbeError('config', 'config', `probes[${i}].timeoutMs: expected a positive integer, got ${String(p.timeoutMs)}`);
      }
      try {
        ProbeFactsSchema.parseAt(p.defaults, `probes[${i}].defaults`);
      } catch (e) {
        throw new ProbeError('config', 'config', reasonOf(e, 'config'), { field: e instanceof MalformedError ? e.path : undefined, cause: e });
      }
      names.add(p.name);
    }
    this.probes = [...options.probes];
    this.source = options.source;
    this.now = options.now ?? (() => performance.now());
  }

  private async runOne(probe: Probe): Promise<Outcome> {
    const controller = new AbortController();
    const notes: string[] = [];
    let open = true;
    const ctx: ProbeContext = {
      source: this.source,
      config: this.config,
      signal: controller.signal,
      warn: (reason) => {
        if (open) notes.push(reason);
      },
    };
    const limit = probe.timeoutMs ?? this.config.timeoutMs;
    const started = this.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new ProbeTimeoutError(probe.name, limit));
      }, limit);
    });
    try {
      const raw = await Promise.race([Promise.resolve().then(() => probe.run(ctx)), timeout]);
      const facts = ProbeFactsSchema.parseAt(raw, '$');
      return { probe, ms: this.now() - started, notes, ok: true, facts };
    } catch (error) {
      return { probe, ms: this.now() - started, notes, ok: false, error };
    } finally {
      open = false;
      clearTimeout(timer);
    }
  }

  /** Probe the host once. Throws ProbeError only for an essential probe or an invalid report. */
  async run(): Promise<ProbeResult> {
    const outcomes = await Promise.all(this.probes.map((p) => this.runOne(p)));
    const facts: ProbeFacts = {};
    const provenance = new Map<FactName, string>();
    const warnings: ProbeWarning[] = [];
    const merge = (from: ProbeFacts, by: string): void => {
      for (const [k, v] of Object.entries(structuredClone(from)) as [FactName, unknown][]) {
        (facts as Record<string, unknown>)[k] = v;
        provenance.set(k, by);
      }
    };
    for (const o of outcomes) {
      const name = o.probe.name;
      for (const note of o.notes) warnings.push({ probe: name, reason: note, timed_out: false, defaulted: [] });
      if (o.ok) {
        merge(o.facts, name);
        continue;
      }
      const timedOut = o.error instanceof ProbeTimeoutError;
      const reason = reasonOf(o.error, name);
      if (o.probe.essential) {
        const field = o.error instanceof MalformedError ? o.error.path : o.error instanceof ProbeError ? o.error.field : undefined;
        throw new ProbeError('failed', name, reason, { field, timedOut, cause: o.error });
      }
      warnings.push({ probe: name, reason, timed_out: timedOut, defaulted: Object.keys(o.probe.defaults) as FactName[] });
      merge(o.probe.defaults, name);
    }
    const report = buildPlatformReport(facts, this.config, provenance);
    const capacity = buildResourceCapacity(facts, this.config, provenance);
    return {
      report,
      capacity,
      addresses: facts.addresses ?? [],
      interfaces: facts.interfaces ?? [],
      facts,
      warnings,
      durations: outcomes.map((o) => ({ probe: o.probe.name, ms: Math.round(o.ms * 10) / 10 })),
    };
  }
}
