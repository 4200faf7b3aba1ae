/**
 * Merged facts + configuration → validated PlatformReportV1 and
 * ResourceCapacityV1, through the objects' own `parse` (and the report's
 * encoded-size limit). A refusal becomes ProbeError `HOLON_E_PROBE_REPORT`
 * naming the probe that supplied the field and the field's path, e.g.
 * `probes(cpu): ResourceCapacityV1 $.cpu_millis: more than cpu_cores × 1000 (2000)`.
 */
import { MalformedError } from '../../bus-schemas/errors.js';
import { PlatformReportV1 } from '../../bus-schemas/v1/platform-report.js';
import { ResourceCapacityV1 } from '../../bus-schemas/v1/resource-capacity.js';
import type { WireType } from '../../bus-schemas/wire.js';
import type { ResolvedProbeConfig } from './probe-config.js';
import { ProbeError } from './probe-error.js';
import type { FactName, ProbeFacts } from './probe-facts.js';

/** Which probe supplied each fact; `config` and `defaults` are named as such. */
export type Provenance = ReadonlyMap<FactName, string>;

const MIB = 1024 * 1024;
/** max_units default: at most 8 units per core and at least 256 MiB of memory per unit. */
export const UNIT_MEMORY_BYTES = 256 * MIB;
export const UNITS_PER_CORE = 8;

/** Which fact each wire field comes from, to name the probe when a field is refused. */
const SOURCE_FACT: Record<string, FactName | 'config'> = {
  os_family: 'os_family', os_release: 'os_release', kernel: 'kernel', arch: 'arch', hostname: 'hostname',
  cpu_model: 'cpu_model', virtualization: 'virtualization', tpm: 'tpm', installed_tools: 'installed_tools', labels: 'config',
  cpu_cores: 'cpu_cores', cpu_millis: 'cpu_cores', memory_bytes: 'memory_bytes', storage_bytes: 'storage_bytes',
  gpu_count: 'gpu_count', network_bandwidth_bps: 'network_bandwidth_bps', max_units: 'config',
};

function need<K extends FactName>(facts: ProbeFacts, name: K): NonNullable<ProbeFacts[K]> {
  const value = facts[name];
  if (value === undefined) throw new ProbeError('report', 'report', `no probe reported ${name}`, { field: `$.${name}` });
  return value;
}

function parseWith<T>(type: WireType<T>, value: unknown, provenance: Provenance): T {
  try {
    const parsed = type.parse(value);
    const size = type.encode(parsed).byteLength;
    if (size > type.maxBytes) throw new ProbeError('report', 'report', `${type.name} is ${size} bytes, over its limit of ${type.maxBytes}`);
    return parsed;
  } catch (e) {
    if (!(e instanceof MalformedError)) throw e;
    const top = /^\$\.([a-z_]+)/.exec(e.path)?.[1] ?? '';
    const fact = SOURCE_FACT[top];
    const probe = fact === undefined ? 'report' : fact === 'config' ? 'config' : (provenance.get(fact) ?? 'report');
    throw new ProbeError('report', probe, `${type.name} ${e.path}: ${e.reason}`, { field: e.path, cause: e });
  }
}

export function buildPlatformReport(facts: ProbeFacts, config: ResolvedProbeConfig, provenance: Provenance): PlatformReportV1 {
  const draft = {
    os_family: need(facts, 'os_family'),
    os_release: need(facts, 'os_release'),
    kernel: need(facts, 'kernel'),
    arch: need(facts, 'arch'),
    hostname: need(facts, 'hostname'),
    cpu_model: need(facts, 'cpu_model'),
    virtualization: need(facts, 'virtualization'),
    tpm: need(facts, 'tpm'),
    installed_tools: need(facts, 'installed_tools'),
    labels: config.labels.map((l) => ({ key: l.key, value: l.value })),
  };
  return parseWith(PlatformReportV1, draft, provenance);
}

function offered(what: string, option: string, total: number, reserve: number, field: string): number {
  const left = total - reserve;
  if (left < 1) {
    throw new ProbeError('config', 'config', `${option} (${reserve}) leaves no ${what} to offer (the host has ${total})`, { field });
  }
  return left;
}

export function buildResourceCapacity(facts: ProbeFacts, config: ResolvedProbeConfig, provenance: Provenance): ResourceCapacityV1 {
  const cores = need(facts, 'cpu_cores');
  const cpuMillis = offered('CPU', 'reserve.cpuMillis', cores * 1000, config.reserve.cpuMillis, '$.cpu_millis');
  const memory = offered('memory', 'reserve.memoryBytes', need(facts, 'memory_bytes'), config.reserve.memoryBytes, '$.memory_bytes');
  const storage = Math.max(0, need(facts, 'storage_bytes') - config.reserve.storageBytes);
  const maxUnits = config.maxUnits ?? Math.min(100_000, cores * UNITS_PER_CORE, Math.floor(memory / UNIT_MEMORY_BYTES));
  const draft = {
    cpu_cores: cores,
    cpu_millis: cpuMillis,
    memory_bytes: memory,
    storage_bytes: storage,
    gpu_count: need(facts, 'gpu_count'),
    network_bandwidth_bps: need(facts, 'network_bandwidth_bps'),
    max_units: maxUnits,
  };
  return parseWith(ResourceCapacityV1, draft, provenance);
}
