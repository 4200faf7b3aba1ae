/** Public names of the host probes adapter. Only composition roots (the main.ts files) import it. */
export { createDefaultProbes, createProbeManager, type CreateProbeManagerOptions } from './create-probes.js';
export type {
  CommandResult,
  HostSource,
  RunOptions,
  SiCpu,
  SiFsSize,
  SiGraphics,
  SiGraphicsController,
  SiMem,
  SiOsInfo,
  SiSystem,
} from './host-source.js';
export type { Probe, ProbeContext } from './probe.js';
export { DEFAULT_TOOLS, STANDARD_BIN_DIRS, resolveProbeConfig, type ProbeConfig, type ResolvedProbeConfig, type ToolSpec } from './probe-config.js';
export { PROBE_ERROR_CODES, ProbeError, ProbeTimeoutError, type ProbeErrorKind } from './probe-error.js';
export { FACT_NAMES, MAX_ADDRESSES, ProbeFactsSchema, type FactName, type HostFacts, type ProbeFacts } from './probe-facts.js';
export { ProbeManager, type ProbeManagerOptions, type ProbeResult, type ProbeWarning } from './probe-manager.js';
export { createSystemSource } from './system-source.js';
export { bandwidthProbe } from './bandwidth-probe.js';
export { cpuProbe } from './cpu-probe.js';
export { diskProbe } from './disk-probe.js';
export { gpuProbe } from './gpu-probe.js';
export { memoryProbe } from './memory-probe.js';
export { networkProbe } from './network-probe.js';
export { osProbe } from './os-probe.js';
export { toolsProbe } from './tools-probe.js';
export { tpmProbe } from './tpm-probe.js';
export { virtualizationProbe } from './virtualization-probe.js';
