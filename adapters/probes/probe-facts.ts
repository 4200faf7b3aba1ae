/**
 * The facts probes return, each checked with the very schemas the wire
 * objects use (PlatformReportV1's fields, NetworkAddressV1, the capacity
 * bounds), so a probe bug is caught at the probe that made it and named by
 * field (`$.cpu_cores: integer below minimum 1`), never discovered later as
 * a bad message on the bus.
 */
import { array, integer, object, optional, type Infer, type Schema } from '../../bus-schemas/schema.js';
import { InterfaceNameSchema, NetworkAddressV1Schema, type NetworkAddressV1 } from '../../bus-schemas/v1/network-address.js';
import { PlatformReportV1Schema, printable, sortedUnique } from '../../bus-schemas/v1/platform-report.js';
import { QuantitySchema } from '../../bus-schemas/v1/quantity.js';

/** MachineAttestationV1 carries at most 64 network addresses. */
export const MAX_ADDRESSES = 64;

const report = PlatformReportV1Schema.shape;

/** The sort key of an address: kind, address text, interface (strictly ascending in every result). */
export function addressKey(a: NetworkAddressV1): string {
  return `${a.kind} ${a.address} ${a.interface ?? ''}`;
}

const FACT_SCHEMAS = {
  os_family: report.os_family,
  os_release: report.os_release,
  kernel: report.kernel,
  arch: report.arch,
  hostname: report.hostname,
  cpu_model: report.cpu_model,
  /** the bounds of ResourceCapacityV1.cpu_cores */
  cpu_cores: integer({ min: 1, max: 65_536, description: 'logical CPU cores' }),
  /** informational; 0 when the host does not tell */
  cpu_speed_mhz: integer({ min: 0, max: 1_000_000, description: 'CPU clock in MHz' }),
  memory_bytes: integer({ min: 1, max: Number.MAX_SAFE_INTEGER, description: 'physical memory in bytes' }),
  storage_bytes: QuantitySchema,
  /** the mount point holding the data directory */
  data_mount: printable(4096, 'mount point of the data directory'),
  addresses: sortedUnique(array(NetworkAddressV1Schema, { max: MAX_ADDRESSES }), addressKey, 'address'),
  interfaces: sortedUnique(array(InterfaceNameSchema, { max: 1024 }), (n) => n, 'interface'),
  network_bandwidth_bps: QuantitySchema,
  virtualization: report.virtualization,
  tpm: report.tpm,
  installed_tools: report.installed_tools,
  gpu_count: integer({ min: 0, max: 1024, description: 'GPUs' }),
} as const;

type FactSchemas = typeof FACT_SCHEMAS;
export type FactName = keyof FactSchemas;
export type HostFacts = { [K in FactName]: Infer<FactSchemas[K]> };
/** What one probe contributes: any subset of the host facts. */
export type ProbeFacts = Partial<HostFacts>;

export const FACT_NAMES = Object.keys(FACT_SCHEMAS) as FactName[];

/** Every fact optional, unknown facts refused. */
export const ProbeFactsSchema = object(
  Object.fromEntries(FACT_NAMES.map((k) => [k, optional(FACT_SCHEMAS[k] as Schema<unknown>)])),
  'facts returned by a host probe',
) as unknown as Schema<ProbeFacts>;
