/**
 * Probe manager options, validated once at construction (pino-style): a bad
 * value throws ProbeError `HOLON_E_PROBE_CONFIG` naming the option and what
 * was expected. Defaults are listed in docs/adapters/probes.md.
 */
import { isAbsolute } from 'node:path';
import { MalformedError } from '../../bus-schemas/errors.js';
import { DnsNameSchema } from '../../bus-schemas/v1/network-address.js';
import { InstalledToolV1Schema, LabelV1Schema, type LabelV1 } from '../../bus-schemas/v1/platform-report.js';
import { ProbeError } from './probe-error.js';

export interface ToolSpec {
  /** the name reported in PlatformReportV1.installed_tools: the package's name (`tpm2-tools` for `tpm2_quote`) */
  readonly name: string;
  /** the executable looked up on the search path */
  readonly executable: string;
  /** arguments that make it print its version, or `os` for base-system tools versioned with the kernel (`uname -r`) */
  readonly version: readonly string[] | 'os';
}

/** What the isolation adapters (Bastille + rctl, netns + cgroups), the attestor and the embedded bus rely on. */
export const DEFAULT_TOOLS: readonly ToolSpec[] = [
  { name: 'bastille', executable: 'bastille', version: ['--version'] },
  { name: 'ip', executable: 'ip', version: ['-V'] },
  { name: 'jls', executable: 'jls', version: 'os' },
  { name: 'nats-server', executable: 'nats-server', version: ['--version'] },
  { name: 'nsenter', executable: 'nsenter', version: ['--version'] },
  { name: 'rctl', executable: 'rctl', version: 'os' },
  { name: 'swtpm', executable: 'swtpm', version: ['--version'] },
  { name: 'tpm2-tools', executable: 'tpm2_quote', version: ['--version'] },
  { name: 'unshare', executable: 'unshare', version: ['--version'] },
  { name: 'zfs', executable: 'zfs', version: ['version'] },
];

/** Where daemons find tools even under a minimal service PATH (rc.d lacks /usr/local, where pkg installs bastille). */
export const STANDARD_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'] as const;

export interface ProbeConfig {
  /** absolute path of the agent's data directory; its filesystem's free space is the storage offered */
  dataDir: string;
  /** labels passed through to PlatformReportV1.labels (sorted by key) */
  labels?: Readonly<Record<string, string>>;
  tools?: readonly ToolSpec[];
  /** directories searched for tools; default $PATH then STANDARD_BIN_DIRS */
  searchPath?: readonly string[];
  includeLoopback?: boolean;
  includeLinkLocal?: boolean;
  /** per probe, ms (default 5000) */
  timeoutMs?: number;
  /** per tool version command, ms (default 2000) */
  toolTimeoutMs?: number;
  /** held back from what the host offers */
  reserve?: { cpuMillis?: number; memoryBytes?: number; storageBytes?: number };
  /** most concurrent units; default min(cores × 8, offered memory / 256 MiB) */
  maxUnits?: number;
  /** egress bandwidth offered; default the fastest link speed the bandwidth probe finds, 0 when unknown */
  networkBandwidthBps?: number;
  /** reported instead of the kernel's host name */
  hostname?: string;
}

export interface ResolvedProbeConfig {
  readonly dataDir: string;
  readonly labels: readonly LabelV1[];
  readonly tools: readonly ToolSpec[];
  readonly searchPath: readonly string[];
  readonly includeLoopback: boolean;
  readonly includeLinkLocal: boolean;
  readonly timeoutMs: number;
  readonly toolTimeoutMs: number;
  readonly reserve: { readonly cpuMillis: number; readonly memoryBytes: number; readonly storageBytes: number };
  readonly maxUnits: number | undefined;
  readonly networkBandwidthBps: number | undefined;
  readonly hostname: string | undefined;
}

function refuse(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  throw new ProbeError('config', 'config', `${option}: expected ${expected}, got ${shown}`, { field: option });
}

function count(option: string, value: number | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) refuse(option, `an integer from ${min} to ${max}`, value);
  return value;
}

/** Re-throw a schema refusal as a config error naming the option. */
function checkWith(option: string, parse: () => unknown): void {
  try {
    parse();
  } catch (e) {
    if (!(e instanceof MalformedError)) throw e;
    throw new ProbeError('config', 'config', `${e.path}: ${e.reason}`, { field: option, cause: e });
  }
}

function resolveTools(tools: readonly ToolSpec[]): ToolSpec[] {
  if (tools.length > 64) refuse('tools', 'at most 64 tools', tools.length);
  const names = new Set<string>();
  for (const [i, t] of tools.entries()) {
    checkWith(`tools[${i}].name`, () => InstalledToolV1Schema.shape.name.parseAt(t.name, `tools[${i}].name`));
    if (names.has(t.name)) refuse(`tools[${i}].name`, 'a name not listed before', t.name);
    names.add(t.name);
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(t.executable)) refuse(`tools[${i}].executable`, 'a bare executable name', t.executable);
  }
  return [...tools].sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function resolveProbeConfig(config: ProbeConfig, env: NodeJS.ProcessEnv = process.env): ResolvedProbeConfig {
  if (typeof config.dataDir !== 'string' || !isAbsolute(config.dataDir)) refuse('dataDir', 'an absolute path', config.dataDir);
  const labels: LabelV1[] = Object.entries(config.labels ?? {})
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (labels.length > 64) refuse('labels', 'at most 64 labels', labels.length);
  for (const l of labels) checkWith(`labels.${l.key}`, () => LabelV1Schema.parseAt(l, `labels.${l.key}`));
  if (config.hostname !== undefined) checkWith('hostname', () => DnsNameSchema.parseAt(config.hostname, 'hostname'));
  const fromEnv = (env.PATH ?? '').split(':').filter((d) => isAbsolute(d));
  const searchPath = [...new Set(config.searchPath ?? [...fromEnv, ...STANDARD_BIN_DIRS])];
  for (const [i, d] of searchPath.entries()) if (!isAbsolute(d)) refuse(`searchPath[${i}]`, 'an absolute directory', d);
  const reserve = config.reserve ?? {};
  return {
    dataDir: config.dataDir,
    labels,
    tools: resolveTools(config.tools ?? DEFAULT_TOOLS),
    searchPath,
    includeLoopback: config.includeLoopback ?? false,
    includeLinkLocal: config.includeLinkLocal ?? false,
    timeoutMs: count('timeoutMs', config.timeoutMs, 5000, 1, 600_000),
    toolTimeoutMs: count('toolTimeoutMs', config.toolTimeoutMs, 2000, 1, 600_000),
    reserve: {
      cpuMillis: count('reserve.cpuMillis', reserve.cpuMillis, 0),
      memoryBytes: count('reserve.memoryBytes', reserve.memoryBytes, 0),
      storageBytes: count('reserve.storageBytes', reserve.storageBytes, 0),
    },
    maxUnits: config.maxUnits === undefined ? undefined : count('maxUnits', config.maxUnits, 0, 0, 100_000),
    networkBandwidthBps: config.networkBandwidthBps === undefined ? undefined : count('networkBandwidthBps', config.networkBandwidthBps, 0),
    hostname: config.hostname,
  };
}
