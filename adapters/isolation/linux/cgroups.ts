/**
 * The unit's cgroup, on whichever hierarchy the host offers (DESIGN §6):
 * - v2 when the unified hierarchy has the cpu, memory and pids controllers:
 *   one directory, cpu.max / memory.max / pids.max, cgroup.freeze, cgroup.kill;
 * - otherwise v1 (hybrid hosts): one directory in each of the cpu, cpuacct,
 *   memory, pids and freezer hierarchies (co-mounted controllers share one),
 *   cpu.cfs_quota_us / memory.limit_in_bytes / pids.max, freezer.state, and
 *   kill as "freeze, SIGKILL every pid in cgroup.procs, thaw" until empty.
 * On v1 hosts the unit also gets a (controller-less) directory in the unified
 * cgroup2 hierarchy and in the `name=systemd` one when they are mounted, so
 * that its processes leave the agent's own service cgroup everywhere (a
 * `systemctl restart` of the agent must not kill the units).
 * Detected at construction from /proc/self/mountinfo; every file is read and
 * written from Node (no cgroup-tools, no spawn).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UnitLimits } from '../../../bus-schemas/units/port.js';
import { IsolationError, errnoOf } from './isolation-error.js';
import { sleep } from './wait.js';

export type CgroupVersion = 'v1' | 'v2';
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];
const V2_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
export const CFS_PERIOD_US = 100_000;

export interface CgroupLayout {
  version: CgroupVersion;
  /** v2: the cgroup2 mount point; v1: the mount point of each needed controller */
  unified?: string;
  v1?: Record<V1Controller, string>;
  /** v1 only: mount points of hierarchies joined for process tracking only (cgroup2, name=systemd) */
  tracking?: string[];
}

/** Decode the octal escapes (\040 …) of a mountinfo field. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    const root = left[3];
    const mountPoint = left[4];
    const fsType = right[0];
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue;
    out.push({
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      fsType,
      source: unescapeMountField(right[1] ?? ''),
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/**
 * Pick v2 when the unified hierarchy has cpu, memory and pids; otherwise v1
 * when all of cpu, cpuacct, memory, pids and freezer are mounted; otherwise
 * the host cannot hold a unit and construction fails with what is missing.
 */
export function detectCgroupLayout(mountinfo: string, readControllers: (mountPoint: string) => string = readV2Controllers): CgroupLayout {
  const mounts = parseMountinfo(mountinfo).filter((m) => m.root === '/');
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2 !== undefined) {
    const have = readControllers(v2.mountPoint).split(/\s+/);
    if (V2_CONTROLLERS.every((c) => have.includes(c))) return { version: 'v2', unified: v2.mountPoint };
  }
  const v1: Partial<Record<V1Controller, string>> = {};
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const c of V1_CONTROLLERS) if (m.superOptions.includes(c) && v1[c] === undefined) v1[c] = m.mountPoint;
  }
  const missing = V1_CONTROLLERS.filter((c) => v1[c] === undefined);
  if (missing.length === 0) {
    const tracking = mounts.filter((m) => m.fsType === 'cgroup2' || (m.fsType === 'cgroup' && m.superOptions.includes('name=systemd'))).map((m) => m.mountPoint);
    return { version: 'v1', v1: v1 as Record<V1Controller, string>, tracking: [...new Set(tracking)] };
  }
  throw new IsolationError(
    'config',
    '-',
    'construct/cgroups',
    `no usable cgroup hierarchy: cgroup2 ${v2 === undefined ? 'is not mounted' : `at ${v2.mountPoint} lacks one of ${V2_CONTROLLERS.join(', ')}`}, and cgroup v1 lacks ${missing.join(', ')}`,
  );
}

function readV2Controllers(mountPoint: string): string {
  try {
    return readFileSync(join(mountPoint, 'cgroup.controllers'), 'utf8');
  } catch {
    return '';
  }
}

export interface CgroupUsage {
  cpuUsageUsec: number;
  memoryBytes: number;
  /** memory.peak (v2, Linux ≥ 5.19) / memory.max_usage_in_bytes (v1); memoryBytes where the kernel keeps none */
  memoryPeakBytes: number;
  pids: number;
  oomKills: number;
}

const PAGE = 4096;

export class UnitCgroups {
  constructor(
    readonly layout: CgroupLayout,
    /** path below each hierarchy's root, e.g. `holonet` */
    readonly parent: string,
  ) {}

  /** Directory of `name` for a v1 controller (or the v2 directory). */
  dir(name: string, controller: V1Controller = 'memory'): string {
    if (this.layout.version === 'v2') return join(this.layout.unified as string, this.parent, name);
    return join((this.layout.v1 as Record<V1Controller, string>)[controller], this.parent, name);
  }

  /** Every distinct directory of the unit, one per hierarchy. */
  dirs(name: string): string[] {
    if (this.layout.version === 'v2') return [this.dir(name)];
    const tracking = (this.layout.tracking ?? []).map((m) => join(m, this.parent, name));
    return [...new Set([...V1_CONTROLLERS.map((c) => this.dir(name, c)), ...tracking])];
  }

  /** The `cgroup.procs` files a process writes its pid into to join the unit (before it execs). */
  procsFiles(name: string): string[] {
    return this.dirs(name).map((d) => join(d, 'cgroup.procs'));
  }

  /** The path of the unit's cgroup as /proc/<pid>/cgroup shows it. */
  cgroupPath(name: string): string {
    return `/${this.parent}/${name}`;
  }

  /** Create-if-absent, then (re)apply the limits and read them back. */
  async create(name: string, limits: UnitLimits): Promise<void> {
    const step = 'create/cgroup';
    try {
      if (this.layout.version === 'v2') await this.enableV2Controllers();
      for (const d of this.dirs(name)) await mkdir(d, { recursive: true });
      if (this.layout.version === 'v2') await this.applyV2(name, limits);
      else await this.applyV1(name, limits);
    } catch (e) {
      if (e instanceof IsolationError) throw e;
      throw new IsolationError('system', name, step, `cgroup setup failed: ${(e as Error).message}`, { cause: e });
    }
  }

  private async enableV2Controllers(): Promise<void> {
    const root = this.layout.unified as string;
    await mkdir(join(root, this.parent), { recursive: true });
    const chain = [root];
    let p = root;
    for (const part of this.parent.split('/')) {
      p = join(p, part);
      chain.push(p);
    }
    // every ancestor must delegate the controllers to its children (the unit dir itself need not)
    for (const dir of chain) {
      const enabled = (await readFile(join(dir, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
      const want = V2_CONTROLLERS.filter((c) => !enabled.includes(c));
      if (want.length > 0) await writeFile(join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
    }
  }

  private async applyV2(name: string, limits: UnitLimits): Promise<void> {
    const d = this.dir(name);
    const quota = cfsQuota(limits.cpuMillicores);
    await writeFile(join(d, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
    await writeFile(join(d, 'memory.max'), String(limits.memoryBytes));
    await writeOptional(join(d, 'memory.swap.max'), '0');
    await writeFile(join(d, 'pids.max'), String(limits.pids));
    await expectValue(name, join(d, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
    await expectValue(name, join(d, 'memory.max'), String(Math.floor(limits.memoryBytes / PAGE) * PAGE));
    await expectValue(name, join(d, 'pids.max'), String(limits.pids));
  }

  private async applyV1(name: string, limits: UnitLimits): Promise<void> {
    const cpu = this.dir(name, 'cpu');
    const mem = this.dir(name, 'memory');
    const pids = this.dir(name, 'pids');
    const quota = cfsQuota(limits.cpuMillicores);
    await writeFile(join(cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    await writeFile(join(cpu, 'cpu.cfs_quota_us'), String(quota));
    // memory.limit_in_bytes ≤ memory.memsw.limit_in_bytes at all times: order depends on the direction
    const memsw = join(mem, 'memory.memsw.limit_in_bytes');
    const hasMemsw = await exists(memsw);
    try {
      await writeFile(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      if (hasMemsw) await writeFile(memsw, String(limits.memoryBytes));
    } catch (e) {
      if (!hasMemsw || errnoOf(e) !== 'EINVAL') throw e;
      await writeFile(memsw, String(limits.memoryBytes));
      await writeFile(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    }
    await writeFile(join(pids, 'pids.max'), String(limits.pids));
    await expectValue(name, join(cpu, 'cpu.cfs_quota_us'), String(quota));
    await expectValue(name, join(mem, 'memory.limit_in_bytes'), String(Math.floor(limits.memoryBytes / PAGE) * PAGE));
    await expectValue(name, join(pids, 'pids.max'), String(limits.pids));
  }

  /** Which of the unit's directories exist. */
  async existing(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const d of this.dirs(name)) if (await exists(d)) out.push(d);
    return out;
  }

  /** Pids (host namespace) of every process of the unit, over all its hierarchies. */
  async pids(name: string): Promise<number[]> {
    const all = new Set<number>();
    for (const d of this.dirs(name)) {
      for (const p of await readPids(join(d, 'cgroup.procs'))) all.add(p);
    }
    return [...all];
  }

  /** Whether /proc/<pid>/cgroup places `pid` in the unit's cgroup (every hierarchy we use). */
  async contains(name: string, pid: number): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return false;
    }
    const want = this.cgroupPath(name);
    const lines = text.split('\n').map((l) => l.split(':'));
    if (this.layout.version === 'v2') return lines.some((l) => l[0] === '0' && l[2] === want);
    return V1_CONTROLLERS.every((c) => lines.some((l) => (l[1] ?? '').split(',').includes(c) && l[2] === want));
  }

  async frozen(name: string): Promise<boolean> {
    if (this.layout.version === 'v2') return /^frozen 1$/m.test(await readOr(join(this.dir(name), 'cgroup.events'), ''));
    return (await readOr(join(this.dir(name, 'freezer'), 'freezer.state'), '')).trim() === 'FROZEN';
  }

  /**
   * Freeze (or thaw) and wait until the kernel reports the state reached. On v1 a freeze can stay FREEZING
   * when a task is busy at the moment (e.g. between fork and exec); the v1 freezer documentation before
   * kernel commit ef9fe980c6fc said userspace should then retry or thaw, and runc's v1 freezer does both.
   * So FROZEN is written again every 100 ms, and every second a still-FREEZING cgroup is thawed and frozen
   * afresh, until the deadline.
   */
  async setFrozen(name: string, frozen: boolean, timeoutMs = 5000): Promise<void> {
    const step = frozen ? 'freeze' : 'thaw';
    const write = async (value: boolean): Promise<void> => {
      try {
        if (this.layout.version === 'v2') await writeFile(join(this.dir(name), 'cgroup.freeze'), value ? '1' : '0');
        else await writeFile(join(this.dir(name, 'freezer'), 'freezer.state'), value ? 'FROZEN' : 'THAWED');
      } catch (e) {
        throw new IsolationError('system', name, `${step}/write`, `cannot ${step}: ${(e as Error).message}`, { cause: e });
      }
    };
    await write(frozen);
    const start = Date.now();
    let lastWrite = start;
    for (let i = 0; ; i++) {
      if ((await this.frozen(name)) === frozen) return;
      const now = Date.now();
      if (now - start > timeoutMs) throw new IsolationError('state', name, `${step}/verify`, `the kernel did not report the cgroup ${frozen ? 'FROZEN' : 'THAWED'} within ${timeoutMs} ms`);
      if (this.layout.version === 'v1' && frozen && now - lastWrite >= 100) {
        if (Math.floor((now - start) / 1000) > Math.floor((lastWrite - start) / 1000)) await write(false); // a stuck FREEZING: thaw, then again
        await write(true);
        lastWrite = now;
      }
      await sleep(Math.min(1 + i, 20));
    }
  }

  /**
   * SIGKILL every process of the unit and wait until none is left. v2: cgroup.kill.
   * v1: freeze (no fork can race the kill), SIGKILL every listed pid, thaw so
   * the signals are delivered; repeat until cgroup.procs is empty.
   */
  async killAll(name: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const dirs = await this.existing(name);
    if (dirs.length === 0) return;
    for (let round = 0; ; round++) {
      let left = await this.pids(name);
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new IsolationError('state', name, 'kill/verify', `${left.length} process(es) still in the cgroup after ${timeoutMs} ms: ${left.slice(0, 10).join(' ')}`);
      if (this.layout.version === 'v2') {
        await writeFile(join(this.dir(name), 'cgroup.kill'), '1');
      } else {
        const freezer = join(this.dir(name, 'freezer'), 'freezer.state');
        await writeFile(freezer, 'FROZEN');
        const frozenBy = Date.now() + 500;
        while ((await readOr(freezer, '')).trim() === 'FREEZING' && Date.now() < frozenBy) await sleep(1);
        left = await this.pids(name);
        for (const pid of left) signalKill(pid);
        await writeFile(freezer, 'THAWED');
      }
      const slice = Date.now() + 100 + round * 100;
      for (let i = 0; Date.now() < slice; i++) {
        if ((await this.pids(name)).length === 0) return;
        await sleep(Math.min(1 + i, 10));
      }
    }
  }

  /**
   * The unit's counters. Read synchronously: these are kernel pseudo-files answered from memory (no disk, no
   * blocking), and metering reads five per unit every second — fs/promises would cost several times the
   * reads themselves (bench/metering.bench.ts).
   */
  usage(name: string): Promise<CgroupUsage> {
    return Promise.resolve(this.usageNow(name));
  }

  private usageNow(name: string): CgroupUsage {
    if (this.layout.version === 'v2') {
      const d = this.dir(name);
      const cpu = /^usage_usec (\d+)$/m.exec(readSyncOr(join(d, 'cpu.stat')));
      const memoryBytes = numberOf(readSyncOr(join(d, 'memory.current')));
      const peak = readSyncOr(join(d, 'memory.peak')).trim();
      return {
        cpuUsageUsec: Number(cpu?.[1] ?? 0),
        memoryBytes,
        memoryPeakBytes: /^\d+$/.test(peak) ? Math.max(Number(peak), memoryBytes) : memoryBytes,
        pids: numberOf(readSyncOr(join(d, 'pids.current'))),
        oomKills: Number(/^oom_kill (\d+)$/m.exec(readSyncOr(join(d, 'memory.events')))?.[1] ?? 0),
      };
    }
    const cpuNs = numberOf(readSyncOr(join(this.dir(name, 'cpuacct'), 'cpuacct.usage')));
    const mem = this.dir(name, 'memory');
    const memoryBytes = numberOf(readSyncOr(join(mem, 'memory.usage_in_bytes')));
    return {
      cpuUsageUsec: Math.floor(cpuNs / 1000),
      memoryBytes,
      memoryPeakBytes: Math.max(memoryBytes, numberOf(readSyncOr(join(mem, 'memory.max_usage_in_bytes')))),
      pids: numberOf(readSyncOr(join(this.dir(name, 'pids'), 'pids.current'))),
      oomKills: Number(/^oom_kill (\d+)$/m.exec(readSyncOr(join(mem, 'memory.oom_control')))?.[1] ?? 0),
    };
  }

  /** rmdir every directory of the unit (after killAll); retries while the kernel still reports it busy. */
  async remove(name: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const d of this.dirs(name)) {
      for (let i = 0; ; i++) {
        try {
          await rmdir(d);
          break;
        } catch (e) {
          const code = errnoOf(e);
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) {
            throw new IsolationError('system', name, 'destroy/cgroup', `cannot remove ${d}: ${(e as Error).message}`, { cause: e });
          }
          await sleep(Math.min(1 + i, 20));
        }
      }
    }
  }
}

/** CFS quota for a bandwidth in millicores over a 100 ms period (the kernel's minimum quota is 1 ms). */
export function cfsQuota(millicores: number): number {
  return Math.max(1000, Math.round(millicores * (CFS_PERIOD_US / 1000)));
}

function signalKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeOptional(p: string, v: string): Promise<void> {
  if (await exists(p)) await writeFile(p, v);
}

async function readOr(p: string, fallback: string): Promise<string> {
  try {
    return await readFile(p, 'utf8');
  } catch {
    return fallback;
  }
}

/** A kernel pseudo-file's text, or '' when it is absent (a controller the kernel lacks, a cgroup just removed). */
function readSyncOr(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function numberOf(text: string): number {
  const n = Number(text.trim() || '0');
  return Number.isFinite(n) ? n : 0;
}

async function readPids(p: string): Promise<number[]> {
  return (await readOr(p, ''))
    .split('\n')
    .filter((l) => l !== '')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

async function expectValue(name: string, file: string, want: string): Promise<void> {
  const got = (await readOr(file, '')).trim();
  if (got !== want) throw new IsolationError('state', name, 'create/cgroup', `${file} reads ${JSON.stringify(got)} after writing ${JSON.stringify(want)}`);
}
