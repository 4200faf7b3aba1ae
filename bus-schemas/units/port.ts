/**
 * The isolation port (DESIGN §6): one interface, implemented by the Linux
 * adapter (namespaces + cgroups), the FreeBSD adapter (Bastille + rctl) and
 * a no-op adapter for control-plane benchmarks. Declared here, in the pure
 * core, so that adapters/ can implement it without importing agent/ and the
 * agent can depend on it without importing adapters/ (DESIGN §12).
 *
 * Every mutating method is idempotent: create-if-absent, destroy-if-present.
 * The agent's state machine may call any of them again after a crash.
 */
import type { HolonRole } from '../v1/holon-role.js';
import type { OsFamily } from '../v1/platform-report.js';

/** Unit names: a DNS label that also fits FreeBSD jail names and derived Linux link names. */
export const UNIT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/** The kernel-enforced limits of a unit, resolved from its role template by the orchestrator. */
export interface UnitLimits {
  /** CPU bandwidth in millicores (1000 = one core); cpu.max / cpu.cfs_quota_us / rctl pcpu. */
  cpuMillicores: number;
  /** memory.max / memory.limit_in_bytes / rctl memoryuse:deny */
  memoryBytes: number;
  /** pids.max / rctl maxproc:deny */
  pids: number;
}

/**
 * - `none`: no network at all beyond loopback (PENTEST_SANDBOX).
 * - `egress`: a veth/epair link to the host; the host side counts bytes.
 */
export type UnitNetwork = 'none' | 'egress';

export interface UnitSpec {
  /** matches UNIT_NAME_PATTERN; derived from the holon id by the agent */
  name: string;
  role: Exclude<HolonRole, 'HOST'>;
  limits: UnitLimits;
  network: UnitNetwork;
}

export type UnitStatus = 'running' | 'frozen' | 'stopped';

/** What exists for a unit, as read back from the system (never from memory alone). */
export interface UnitInfo {
  name: string;
  status: UnitStatus;
  /** absolute, canonical path of the unit's private root directory on the host */
  root: string;
  /** the unprivileged unit user and group, as numeric ids on the host */
  uid: number;
  gid: number;
  /** pid (host namespace) of the unit's init process, when running */
  initPid?: number;
  /** host-side name of the unit's network link, when network = egress */
  hostLink?: string;
}

/**
 * Usage sampled from outside the unit (metering, DESIGN §7), as the host's
 * own counters say it. Counters (cpu, egress, ingress, gpu, oomKills) only
 * grow while the unit's cgroup/jail/link exists; the agent's meter turns
 * them into monotonic totals across restarts and counter resets.
 */
export interface UnitUsage {
  cpuUsageUsec: number;
  memoryBytes: number;
  /** highest memory use the kernel recorded (memory.peak / max_usage_in_bytes); memoryBytes where none is kept */
  memoryPeakBytes: number;
  pids: number;
  /** bytes the unit sent (host side of its link: received there); 0 without a link */
  egressBytes: number;
  ingressBytes: number;
  /** bytes the unit's root (and volumes) hold on the host's storage */
  storageBytes: number;
  /** GPU time of the unit's processes, in milliseconds; 0 with `gpuNote` saying why where there is none */
  gpuMs: number;
  gpuNote?: string;
  /** times the kernel's memory limit killed a process of the unit */
  oomKills: number;
}

/** A usage with nothing used: what a unit that exists but has not run reads as. */
export const ZERO_USAGE: Readonly<UnitUsage> = Object.freeze({
  cpuUsageUsec: 0,
  memoryBytes: 0,
  memoryPeakBytes: 0,
  pids: 0,
  egressBytes: 0,
  ingressBytes: 0,
  storageBytes: 0,
  gpuMs: 0,
  oomKills: 0,
});

export interface ExecOptions {
  /** environment of the process; nothing of the agent's own environment is inherited */
  env?: Record<string, string>;
  /** working directory inside the unit (default: the unit user's home, "/home/unit") */
  cwd?: string;
  /** run as root inside the unit instead of the unit user (agent's own housekeeping only) */
  asRoot?: boolean;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** SIGKILL the process after this long */
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
}

/** Typed refusal of an adapter: a unit name, path or state that cannot be honoured. */
export interface UnitFile {
  /** path relative to the unit root; canonicalized and contained by the adapter */
  path: string;
  content: Uint8Array | string;
  mode: number;
  /** `unit`: owned by the unit user; `root`: owned by root */
  owner: 'unit' | 'root';
}

/**
 * What an adapter says of itself, sent in the agent's hello (BootstrapHelloV1.isolation) so that placement
 * routes on it: the OS family it isolates on, the host tools it needs (as PlatformReportV1.installed_tools
 * names, so the cell can check the probes found them) and the unit roles it can host.
 */
export interface IsolationCapabilities {
  readonly os_family: OsFamily;
  readonly tools: readonly string[];
  readonly unit_roles: readonly Exclude<HolonRole, 'HOST'>[];
}

export interface IsolationPort {
  readonly kind: 'linux' | 'bastille' | 'noop';
  readonly capabilities: IsolationCapabilities;
  /** How many processes a unit has with nothing running in it (its init, if any); default 0. */
  readonly idleProcesses?: number;
  /** Create (if absent) and start the unit; returns what exists. */
  create(spec: UnitSpec): Promise<UnitInfo>;
  /** What exists for `name`, read from the system; undefined when nothing does. */
  inspect(name: string): Promise<UnitInfo | undefined>;
  /** Names of every unit this adapter manages on this host (for recovery after a restart). */
  list(): Promise<string[]>;
  /** Run argv inside the unit (its namespaces/jail, its cgroup/rctl limits, as the unit user). */
  exec(name: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Write a file inside the unit root (atomically, no symlink followed out of the root). */
  writeFile(name: string, file: UnitFile): Promise<void>;
  freeze(name: string): Promise<void>;
  thaw(name: string): Promise<void>;
  /**
   * SIGTERM every process of the unit but its own init, from the host side (the start of a graceful stop: the
   * processes decide how to end; kill() or destroy() follows). Optional: an adapter without it gets no grace.
   */
  terminate?(name: string): Promise<void>;
  /** Kill every process of the unit (the unit still exists; status becomes stopped). */
  kill(name: string): Promise<void>;
  usage(name: string): Promise<UnitUsage>;
  /** Stop and remove everything of the unit; a no-op when nothing is left. */
  destroy(name: string): Promise<void>;
}
