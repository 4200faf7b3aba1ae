/**
 * A HostSource fed with fixed facts, faithful to what the real sources
 * answer: systeminformation's shapes (on FreeBSD: osInfo.release cut at the
 * first `-`, graphics null), node:os shapes, and the documented output of
 * the FreeBSD and Linux tools the probes run. Every call is recorded so
 * tests can assert what was (not) asked.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandResult, HostSource, RunOptions, SiCpu, SiFsSize, SiGraphics, SiMem, SiOsInfo, SiSystem } from '../../adapters/probes/index.js';

export type CommandAnswer = CommandResult | ((options: RunOptions) => Promise<CommandResult>);

export interface FakeHostSpec {
  platform: string;
  osInfo: SiOsInfo;
  cpu: SiCpu;
  mem: SiMem;
  fsSize: SiFsSize[];
  system: SiSystem;
  graphics: SiGraphics | null;
  machine: string;
  kernelRelease: string;
  kernelVersion: string;
  interfaces: Record<string, NetworkInterfaceInfo[]>;
  /** regular files and device nodes: path → content */
  files: Record<string, string>;
  /** existing directories (their parents exist too) */
  dirs: string[];
  /** symlinks: path → target */
  links: Record<string, string>;
  /** mount point → device number, for mounts df does not list (tmpfs …); df's rows get 1, 2, … in order */
  hiddenMounts?: Record<string, { dev: number; available: number }>;
  /** executable paths */
  executables: string[];
  /** `${file} ${args.join(' ')}` → answer */
  commands: Record<string, CommandAnswer>;
}

export interface FakeHost extends HostSource {
  readonly calls: string[];
  readonly spec: FakeHostSpec;
}

const ok = (stdout: string, code: number | null = 0, stderr = ''): CommandResult => ({ code, stdout, stderr });

function v4(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '58:9c:fc:01:02:03', internal, cidr: `${address}/24` };
}
function v6(address: string, internal = false, scopeid = 0): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '58:9c:fc:01:02:03', internal, cidr: `${address}/64`, scopeid };
}
export const addr = { v4, v6, ok };

export function fakeHost(spec: FakeHostSpec, overrides: Partial<HostSource> = {}): FakeHost {
  const calls: string[] = [];
  const rec = <T>(name: string, value: T): T => {
    calls.push(name);
    return value;
  };
  const dirSet = new Set<string>(['/']);
  for (const d of spec.dirs) for (let p = d; p !== '/'; p = dirname(p)) dirSet.add(p);
  const resolve = (path: string): string => {
    let p = path;
    for (const [from, to] of Object.entries(spec.links)) if (p === from || p.startsWith(`${from}/`)) p = to + p.slice(from.length);
    return p;
  };
  const devices = new Map<string, { dev: number; available: number }>(spec.fsSize.map((r, i) => [r.mount, { dev: i + 1, available: r.available }]));
  for (const [mount, d] of Object.entries(spec.hiddenMounts ?? {})) devices.set(mount, d);
  /** the mount a path lives on: the longest mount point containing it */
  const mountOf = (path: string): { dev: number; available: number } => {
    const holding = [...devices.keys()].filter((m) => m === '/' || path === m || path.startsWith(`${m}/`));
    const best = holding.sort((a, b) => b.length - a.length)[0];
    return best === undefined ? { dev: 0, available: 0 } : (devices.get(best) as { dev: number; available: number });
  };
  const base: FakeHost = {
    calls,
    spec,
    platform: spec.platform,
    osInfo: async () => rec('si.osInfo', structuredClone(spec.osInfo)),
    cpu: async () => rec('si.cpu', structuredClone(spec.cpu)),
    mem: async () => rec('si.mem', structuredClone(spec.mem)),
    fsSize: async () => rec('si.fsSize', structuredClone(spec.fsSize)),
    system: async () => rec('si.system', structuredClone(spec.system)),
    graphics: async () => rec('si.graphics', structuredClone(spec.graphics)),
    machine: () => rec('os.machine', spec.machine),
    kernelRelease: () => rec('os.release', spec.kernelRelease),
    kernelVersion: () => rec('os.version', spec.kernelVersion),
    interfaceAddresses: () => rec('os.networkInterfaces', structuredClone(spec.interfaces)),
    realpath: async (path) => {
      calls.push(`realpath ${path}`);
      const p = resolve(path);
      return dirSet.has(p) || p in spec.files ? p : undefined;
    },
    exists: async (path) => rec(`exists ${path}`, path in spec.files || dirSet.has(path)),
    readText: async (path) => rec(`read ${path}`, spec.files[path]),
    deviceOf: async (path) => rec(`stat ${path}`, dirSet.has(path) || path in spec.files || devices.has(path) ? mountOf(path).dev : undefined),
    statfsAvailable: async (path) => rec(`statfs ${path}`, mountOf(path).available),
    findExecutable: async (name, dirs) => rec(`which ${name}`, dirs.map((d) => join(d, name)).find((p) => spec.executables.includes(p))),
    run: async (file, args, options) => {
      const key = [file, ...args].join(' ');
      calls.push(`run ${key}`);
      if (!spec.executables.includes(file)) return undefined;
      const answer = spec.commands[key];
      if (answer === undefined) return ok('', 1, `${file}: unknown arguments ${args.join(' ')}`);
      return typeof answer === 'function' ? answer(options) : structuredClone(answer);
    },
  };
  return Object.assign(base, overrides);
}

/** A command that never answers until aborted (like a `df` stuck on a dead NFS mount). */
export function hangingCommand(seen: { aborted: boolean }): CommandAnswer {
  return (options) =>
    new Promise((_, reject) => {
      options.signal?.addEventListener('abort', () => {
        seen.aborted = true;
        reject(new Error('killed on abort'));
      });
    });
}
