/**
 * The port every probe reads the host through: a subset of
 * `systeminformation`'s answers (same names, same shapes, so the real
 * library satisfies it unchanged) plus the few node:os / file / process
 * reads that systeminformation does not cover portably. Tests inject a fake
 * (for example FreeBSD-shaped facts); `createSystemSource()` wires the real
 * machine.
 */
import type { NetworkInterfaceInfo } from 'node:os';

/** `si.osInfo()` fields the probes use. On FreeBSD `release` is `kern.osrelease` cut at the first `-` (`14.1`). */
export interface SiOsInfo {
  platform: string;
  distro: string;
  release: string;
  codename: string;
  /** `os.release()`: Linux `6.1.0-21-amd64`, FreeBSD `14.1-RELEASE-p3` */
  kernel: string;
  hostname: string;
}

/** `si.cpu()` fields the probes use. `speed` is GHz (0 when unknown); `cores` counts logical CPUs. */
export interface SiCpu {
  manufacturer: string;
  brand: string;
  cores: number;
  physicalCores: number;
  speed: number;
}

export interface SiMem {
  /** bytes of physical memory (Linux MemTotal, FreeBSD hw.physmem) */
  total: number;
}

/** One `si.fsSize()` row (df -kPT, ZFS datasets corrected from `zfs list`). Bytes. */
export interface SiFsSize {
  fs: string;
  type: string;
  size: number;
  used: number;
  available: number;
  mount: string;
}

export interface SiSystem {
  manufacturer: string;
  model: string;
  virtual: boolean;
  virtualHost?: string;
}

export interface SiGraphicsController {
  vendor: string;
  vendorId?: string;
  model: string;
}

/** `si.graphics()`; systeminformation resolves `null` on FreeBSD (it has no BSD implementation). */
export interface SiGraphics {
  controllers: SiGraphicsController[];
}

/** What a finished command printed. `code` is null when it was killed by a signal. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HostSource {
  /** `os.platform()`: `linux`, `freebsd`, … */
  readonly platform: string;
  osInfo(): Promise<SiOsInfo>;
  cpu(): Promise<SiCpu>;
  mem(): Promise<SiMem>;
  fsSize(): Promise<SiFsSize[]>;
  system(): Promise<SiSystem>;
  graphics(): Promise<SiGraphics | null>;
  /** `os.machine()`: `x86_64`, `aarch64` (Linux), `amd64`, `arm64` (FreeBSD) */
  machine(): string;
  /** `os.release()` (`uname -r`): Linux `6.1.0-21-amd64`, FreeBSD `14.1-RELEASE-p3` */
  kernelRelease(): string;
  /** `os.version()`: Linux `#1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1`, FreeBSD `FreeBSD 14.1-RELEASE-p3 GENERIC` */
  kernelVersion(): string;
  /** `os.networkInterfaces()`: every address of every interface (systeminformation keeps one per family). */
  interfaceAddresses(): Record<string, NetworkInterfaceInfo[] | undefined>;
  /** The canonical path (symlinks resolved), or undefined when nothing exists there. */
  realpath(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  /** `stat(path).dev`: the filesystem a path lives on; undefined when nothing exists there. */
  deviceOf(path: string): Promise<number | undefined>;
  /** Bytes available to unprivileged users on the filesystem holding `path` (statfs f_bavail × f_bsize). */
  statfsAvailable(path: string): Promise<number>;
  /** A small text file's content, or undefined when it does not exist or cannot be read. */
  readText(path: string): Promise<string | undefined>;
  /** The first `dir/name` that is an executable regular file, in `dirs` order. */
  findExecutable(name: string, dirs: readonly string[]): Promise<string | undefined>;
  /**
   * Run `file args…` without a shell. Resolves with the output whatever the
   * exit code; undefined when `file` does not exist. Rejects on a timeout or abort.
   */
  run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult | undefined>;
}
