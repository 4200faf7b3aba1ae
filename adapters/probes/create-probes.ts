/**
 * The default wiring: the ten probes of docs/adapters/probes.md over the
 * real machine (systeminformation). Composition roots call
 * `createProbeManager({ dataDir, labels })`; tests pass their own `source`.
 */
import { bandwidthProbe } from './bandwidth-probe.js';
import { cpuProbe } from './cpu-probe.js';
import { diskProbe } from './disk-probe.js';
import { gpuProbe } from './gpu-probe.js';
import type { HostSource } from './host-source.js';
import { memoryProbe } from './memory-probe.js';
import { networkProbe } from './network-probe.js';
import { osProbe } from './os-probe.js';
import type { Probe } from './probe.js';
import type { ProbeConfig } from './probe-config.js';
import { ProbeManager } from './probe-manager.js';
import { createSystemSource } from './system-source.js';
import { toolsProbe } from './tools-probe.js';
import { tpmProbe } from './tpm-probe.js';
import { virtualizationProbe } from './virtualization-probe.js';

/** os, cpu, memory (essential), then disks, network, bandwidth, virtualization, tpm, tools, gpu. */
export function createDefaultProbes(): Probe[] {
  return [osProbe, cpuProbe, memoryProbe, diskProbe, networkProbe, bandwidthProbe, virtualizationProbe, tpmProbe, toolsProbe, gpuProbe];
}

export interface CreateProbeManagerOptions {
  /** default: the real machine through systeminformation */
  source?: HostSource;
  /** default: createDefaultProbes() */
  probes?: readonly Probe[];
  now?: () => number;
}

export function createProbeManager(config: ProbeConfig, options: CreateProbeManagerOptions = {}): ProbeManager {
  return new ProbeManager({
    config,
    source: options.source ?? createSystemSource(),
    probes: options.probes ?? createDefaultProbes(),
    now: options.now,
  });
}
