/**
 * The Linux isolation adapter (DESIGN §6): a unit is a named network
 * namespace (+ a metered veth for `egress`), new pid/mount/uts/ipc namespaces
 * held by a detached unit init, a cgroup (v2, or v1 on hybrid hosts) joined
 * before exec with the spec's cpu/memory/pids limits, a private root and a
 * non-root unit user. State lives under `${stateDir}/units/<name>/`; every
 * answer is read back from the system (procfs, cgroupfs, sysfs, /run/netns),
 * never from memory, so a fresh instance recovers the units of a previous one.
 * Mutating calls are idempotent, serialized per unit and re-checked.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UNIT_NAME_PATTERN, type ExecOptions, type ExecResult, type IsolationCapabilities, type IsolationPort, type UnitFile, type UnitInfo, type UnitSpec, type UnitUsage } from '../../../bus-schemas/units/port.js';
import { ROLE_TEMPLATES, type UnitRole } from '../../../bus-schemas/units/roles.js';
import { UnitCgroups, detectCgroupLayout, parseMountinfo } from './cgroups.js';
import { DiskUsageCache } from './disk-usage.js';
import { execInUnit, validateExec } from './exec.js';
import { launchInit } from './init-process.js';
import { IsolationError, errnoOf } from './isolation-error.js';
import {
  chooseSubnet,
  hostLinkName,
  linkCounters,
  linkExists,
  netnsPath,
  parsePool,
  pathExists,
  setupHostNetwork,
  subnetAt,
  subnetConflict,
  teardownNetwork,
  unitNetworkBatch,
  type Ipv4Pool,
} from './network.js';
import { safeWrite } from './safe-write.js';
import { findHostTools, type HostTools } from './tools.js';
import { listUnitDirs, processStart, readState, unitDir, writeState, type UnitState } from './unit-state.js';
import { prepareRoot, probeSystemDirs, unitFstab, type SystemDirs } from './unit-root.js';
import { sleep } from './wait.js';

/** The part of a pino Logger the adapter uses (a pino Logger fits). */
export interface IsolationLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LinuxIsolationOptions {
  /** Absolute directory for unit state and roots (`units/<name>/`); created 0700. Characters: A-Z a-z 0-9 . _ - / */
  stateDir: string;
  /** First host uid/gid of unit users; unit user = uidBase + slot (default 600000, 65536 slots). */
  uidBase?: number;
  log?: IsolationLogger;
  /** Path below each cgroup hierarchy's root holding the unit cgroups (default `holonet`). */
  cgroupParent?: string;
  /** IPv4 pool the per-unit /30s are taken from (default 10.222.0.0/16). */
  egressPool?: string;
  /** How long create() waits for the unit init to report ready (default 10 s). */
  initTimeoutMs?: number;
  /** How long a walk of a unit's root for its storage bytes is reused (default 5 s). */
  storageMaxAgeMs?: number;
}

const SLOTS = 65536;
const DEFAULT_UID_BASE = 600_000;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const MiB = 1024 * 1024;

function checkName(name: unknown, op: string): asserts name is string {
  if (typeof name !== 'string' || !UNIT_NAME_PATTERN.test(name)) {
    throw new IsolationError('refused', String(name), `${op}/name`, `unit names must match ${UNIT_NAME_PATTERN.source}`);
  }
}

function checkSpec(spec: UnitSpec): void {
  checkName(spec?.name, 'create');
  const bad = (why: string): never => {
    throw new IsolationError('refused', spec.name, 'create/spec', why);
  };
  if (!Object.hasOwn(ROLE_TEMPLATES, spec.role)) bad(`role ${JSON.stringify(spec.role)} is not a unit role (${Object.keys(ROLE_TEMPLATES).join(', ')})`);
  if (spec.network !== 'none' && spec.network !== 'egress') bad(`network must be 'none' or 'egress', got ${JSON.stringify(spec.network)}`);
  const l = spec.limits;
  if (typeof l !== 'object' || l === null) return bad('limits are missing');
  if (!Number.isInteger(l.cpuMillicores) || l.cpuMillicores < 10 || l.cpuMillicores > 1_000_000) bad(`limits.cpuMillicores must be an integer in [10, 1000000], got ${String(l.cpuMillicores)}`);
  if (!Number.isSafeInteger(l.memoryBytes) || l.memoryBytes < 8 * MiB) bad(`limits.memoryBytes must be an integer ≥ 8 MiB, got ${String(l.memoryBytes)}`);
  if (!Number.isInteger(l.pids) || l.pids < 4 || l.pids > 4_194_304) bad(`limits.pids must be an integer in [4, 4194304], got ${String(l.pids)}`);
}

export class LinuxIsolation implements IsolationPort {
  readonly kind = 'linux' as const;
  /** Every role; the tools (iproute2, util-linux) by their names in the probes' report. */
  readonly capabilities: IsolationCapabilities = { os_family: 'linux', tools: ['ip', 'nsenter', 'unshare'], unit_roles: Object.keys(ROLE_TEMPLATES) as UnitRole[] };
  /** the unit init (a shell) and the sleep it waits on: what the unit's cgroup holds when nothing else runs */
  readonly idleProcesses = 2;
  readonly stateDir: string;
  readonly uidBase: number;
  readonly cgroups: UnitCgroups;
  private readonly tools: HostTools;
  private readonly pool: Ipv4Pool;
  private readonly systemDirs: SystemDirs[];
  private readonly log: IsolationLogger | undefined;
  private readonly initTimeoutMs: number;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly disk: DiskUsageCache;

  constructor(opts: LinuxIsolationOptions) {
    const bad = (option: string, why: string): never => {
      throw new IsolationError('config', '-', `construct/${option}`, why);
    };
    if (process.platform !== 'linux') bad('platform', `the Linux adapter runs on Linux, not ${process.platform}`);
    if (process.getuid?.() !== 0) bad('uid', 'the Linux adapter needs root (namespaces, cgroups, mounts)');
    const sd = opts?.stateDir;
    if (typeof sd !== 'string' || !SAFE_PATH.test(sd) || sd.split('/').some((p) => p === '..' || p === '.') || sd.length > 200) {
      bad('stateDir', `stateDir must be an absolute path of at most 200 characters from [A-Za-z0-9._/-] without '.' or '..' segments, got ${JSON.stringify(sd)}`);
    }
    this.stateDir = sd.length > 1 ? sd.replace(/\/+$/, '') : sd;
    this.uidBase = opts.uidBase ?? DEFAULT_UID_BASE;
    if (!Number.isInteger(this.uidBase) || this.uidBase < 1000 || this.uidBase + SLOTS > 2 ** 32 - 2) {
      bad('uidBase', `uidBase must be an integer in [1000, ${2 ** 32 - 2 - SLOTS}], got ${String(opts.uidBase)}`);
    }
    this.disk = new DiskUsageCache(opts.storageMaxAgeMs ?? 5000);
    const parent = opts.cgroupParent ?? 'holonet';
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(parent)) bad('cgroupParent', `cgroupParent must be a relative path of [A-Za-z0-9_-] segments, got ${JSON.stringify(parent)}`);
    this.initTimeoutMs = opts.initTimeoutMs ?? 10_000;
    this.pool = parsePool(opts.egressPool ?? '10.222.0.0/16');
    this.tools = findHostTools();
    let mountinfo = '';
    try {
      mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch (e) {
      bad('cgroups', `cannot read /proc/self/mountinfo: ${(e as Error).message}`);
    }
    this.cgroups = new UnitCgroups(detectCgroupLayout(mountinfo), parent);
    this.systemDirs = probeSystemDirs();
    this.log = opts.log;
  }

  /** Which cgroup hierarchy this host gave the adapter. */
  get cgroupVersion(): 'v1' | 'v2' {
    return this.cgroups.layout.version;
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.locks.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private dirOf(name: string): string {
    return unitDir(this.stateDir, name);
  }

  private rootOf(name: string): string {
    return join(this.dirOf(name), 'root');
  }

  /** The recorded init is alive only if its pid has the recorded start time and sits in the unit's cgroup. */
  private async initAlive(name: string, st: UnitState | undefined): Promise<boolean> {
    if (st?.initPid === undefined || st.initStart === undefined) return false;
    if ((await processStart(st.initPid)) !== st.initStart) return false;
    return this.cgroups.contains(name, st.initPid);
  }

  async create(spec: UnitSpec): Promise<UnitInfo> {
    checkSpec(spec);
    const name = spec.name;
    return this.withLock(name, async () => {
      const started = Date.now();
      const dir = this.dirOf(name);
      await this.step(name, 'create/dirs', async () => {
        await mkdir(join(this.stateDir, 'units'), { recursive: true, mode: 0o700 });
        await mkdir(dir, { mode: 0o700 }).catch((e: unknown) => {
          if (errnoOf(e) !== 'EEXIST') throw e;
        });
      });
      const st = await this.withLock('#allocate', () => this.recordSpec(spec));
      const subnet = st.subnetIndex === undefined ? undefined : subnetAt(this.pool, st.subnetIndex);
      const root = this.rootOf(name);
      await this.step(name, 'create/root', async () => {
        await prepareRoot({ name, rootDir: root, uid: st.uid, gid: st.gid, systemDirs: this.systemDirs });
        await writeFile(join(dir, 'fstab'), unitFstab(root, this.systemDirs, spec.limits.memoryBytes), { mode: 0o600 });
        await writeFile(join(dir, 'net.batch'), unitNetworkBatch(subnet), { mode: 0o600 });
      });
      await this.cgroups.create(name, spec.limits);
      await setupHostNetwork(this.tools.ip, name, subnet);
      if (subnet !== undefined) {
        const other = await subnetConflict(name, subnet.network);
        if (other !== undefined) {
          throw new IsolationError('state', name, 'create/network', `the unit's /30 ${subnet.hostAddr}/30 is also routed on ${other}; destroy and create again to pick another`);
        }
      }
      if (!(await this.initAlive(name, st))) {
        const launched = await launchInit({
          name,
          unitDir: dir,
          rootDir: root,
          netns: netnsPath(name),
          procsFiles: this.cgroups.procsFiles(name),
          tools: this.tools,
          timeoutMs: this.initTimeoutMs,
        });
        const start = await processStart(launched.initPid);
        if (start === undefined) throw new IsolationError('state', name, 'create/init', `the unit init (pid ${launched.initPid}) exited right after reporting ready`);
        st.initPid = launched.initPid;
        st.initStart = start;
        st.launcherPid = launched.launcherPid;
        st.launcherStart = await processStart(launched.launcherPid);
        await this.step(name, 'create/state', () => writeState(this.stateDir, st));
      }
      const info = await this.inspectUnlocked(name);
      if (info === undefined || info.status === 'stopped') {
        throw new IsolationError('state', name, 'create/verify', `the unit is ${info?.status ?? 'absent'} right after create (init ${st.initPid ?? '?'} not alive in its cgroup)`);
      }
      this.log?.info({ unit: name, role: spec.role, network: spec.network, init_pid: info.initPid, host_link: info.hostLink, ms: Date.now() - started }, 'isolation(linux): unit created');
      return info;
    });
  }

  /** Read or create the unit's state file with the spec, a unit user slot and a subnet (under the adapter-wide lock). */
  private async recordSpec(spec: UnitSpec): Promise<UnitState> {
    const name = spec.name;
    return this.step(name, 'create/state', async () => {
      const existing = await readState(this.stateDir, name);
      if (existing !== undefined) {
        if (existing.network !== spec.network) {
          throw new IsolationError('refused', name, 'create/spec', `the unit exists with network '${existing.network}', not '${spec.network}'; destroy it first`);
        }
        const st: UnitState = { ...existing, role: spec.role, limits: { ...spec.limits } };
        await writeState(this.stateDir, st);
        return st;
      }
      const others = await Promise.all((await listUnitDirs(this.stateDir)).filter((n) => n !== name).map((n) => readState(this.stateDir, n)));
      const slots = new Set(others.map((o) => o?.slot));
      const subnets = new Set(others.map((o) => o?.subnetIndex).filter((i): i is number => i !== undefined));
      let slot = 0;
      while (slots.has(slot)) slot++;
      if (slot >= SLOTS) throw new IsolationError('state', name, 'create/state', `all ${SLOTS} unit user slots are in use`);
      const st: UnitState = { v: 1, name, role: spec.role, network: spec.network, limits: { ...spec.limits }, slot, uid: this.uidBase + slot, gid: this.uidBase + slot };
      if (spec.network === 'egress') st.subnetIndex = (await chooseSubnet(name, this.pool, subnets)).index;
      await writeState(this.stateDir, st);
      return st;
    });
  }

  /** Run `fn`; a non-IsolationError becomes a `system` error naming the unit and step. */
  private async step<T>(name: string, step: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof IsolationError) throw e;
      throw new IsolationError('system', name, step, (e as Error).message, { cause: e });
    }
  }

  async inspect(name: string): Promise<UnitInfo | undefined> {
    checkName(name, 'inspect');
    return this.inspectUnlocked(name);
  }

  private async inspectUnlocked(name: string): Promise<UnitInfo | undefined> {
    const st = await this.step(name, 'inspect/state', () => readState(this.stateDir, name));
    const dirExists = await pathExists(this.dirOf(name));
    const link = hostLinkName(name);
    const hasLink = await linkExists(link);
    const hasNetns = await pathExists(netnsPath(name));
    const cg = await this.cgroups.existing(name);
    if (st === undefined && !dirExists && !hasLink && !hasNetns && cg.length === 0) return undefined;
    const alive = await this.initAlive(name, st);
    const frozen = cg.length > 0 && (await this.cgroups.frozen(name));
    let root = this.rootOf(name);
    try {
      root = await realpath(root);
    } catch {
      // root not (yet, or no longer) there: report where it would be
    }
    const info: UnitInfo = {
      name,
      status: !alive ? 'stopped' : frozen ? 'frozen' : 'running',
      root,
      // -1: the state file is gone but system resources remain (destroy() removes them)
      uid: st?.uid ?? -1,
      gid: st?.gid ?? -1,
    };
    if (alive) info.initPid = st?.initPid;
    if (st?.network === 'egress' || hasLink) info.hostLink = link;
    return info;
  }

  async list(): Promise<string[]> {
    return this.step('-', 'list/state', () => listUnitDirs(this.stateDir));
  }

  private async requireState(name: string, op: string): Promise<UnitState> {
    const st = await this.step(name, `${op}/state`, () => readState(this.stateDir, name));
    if (st === undefined) throw new IsolationError('not-found', name, `${op}/state`, `no such unit under ${this.stateDir}`);
    return st;
  }

  async exec(name: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    checkName(name, 'exec');
    validateExec(name, argv, opts);
    const st = await this.requireState(name, 'exec');
    if (!(await this.initAlive(name, st))) throw new IsolationError('state', name, 'exec/state', 'the unit is stopped (no live init); create() it again to restart it');
    if (await this.cgroups.frozen(name)) throw new IsolationError('state', name, 'exec/state', 'the unit is frozen; thaw() it first');
    return execInUnit(
      { name, initPid: st.initPid as number, uid: st.uid, gid: st.gid, procsFiles: this.cgroups.procsFiles(name), tools: this.tools },
      argv,
      opts,
    );
  }

  async writeFile(name: string, file: UnitFile): Promise<void> {
    checkName(name, 'writeFile');
    const st = await this.requireState(name, 'writeFile');
    await safeWrite(name, this.rootOf(name), file, { uid: st.uid, gid: st.gid });
  }

  private async requireCgroup(name: string, op: string): Promise<void> {
    await this.requireState(name, op);
    if ((await this.cgroups.existing(name)).length === 0) throw new IsolationError('state', name, `${op}/cgroup`, 'the unit has no cgroup; create() it again');
  }

  async freeze(name: string): Promise<void> {
    checkName(name, 'freeze');
    await this.withLock(name, async () => {
      await this.requireCgroup(name, 'freeze');
      await this.cgroups.setFrozen(name, true);
      this.log?.info({ unit: name }, 'isolation(linux): unit frozen');
    });
  }

  async thaw(name: string): Promise<void> {
    checkName(name, 'thaw');
    await this.withLock(name, async () => {
      await this.requireCgroup(name, 'thaw');
      await this.cgroups.setFrozen(name, false);
      this.log?.info({ unit: name }, 'isolation(linux): unit thawed');
    });
  }

  /** SIGTERM every process in the unit's cgroup but its init (which would only restart its sleeper). */
  async terminate(name: string): Promise<void> {
    checkName(name, 'terminate');
    const st = await this.requireState(name, 'terminate');
    for (const pid of await this.cgroups.pids(name)) {
      if (pid === st.initPid) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // exited meanwhile
      }
    }
  }

  async kill(name: string): Promise<void> {
    checkName(name, 'kill');
    await this.withLock(name, async () => {
      const st = await this.requireState(name, 'kill');
      await this.killEverything(name, st, 'kill');
      if (st.initPid !== undefined || st.launcherPid !== undefined) {
        delete st.initPid;
        delete st.initStart;
        delete st.launcherPid;
        delete st.launcherStart;
        await this.step(name, 'kill/state', () => writeState(this.stateDir, st));
      }
      this.log?.info({ unit: name }, 'isolation(linux): unit killed');
    });
  }

  private async killEverything(name: string, st: UnitState | undefined, op: string): Promise<void> {
    // the recorded init, even if someone moved it out of the cgroup
    if (st?.initPid !== undefined && (await processStart(st.initPid)) === st.initStart) {
      try {
        process.kill(st.initPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await this.step(name, `${op}/cgroup`, () => this.cgroups.killAll(name));
    // the launcher reaps the init and exits on its own; it is outside the cgroup, so wait for it here
    if (st?.launcherPid !== undefined && st.launcherStart !== undefined) {
      const deadline = Date.now() + 2000;
      for (let i = 0; (await processStart(st.launcherPid)) === st.launcherStart; i++) {
        if (Date.now() > deadline) {
          try {
            process.kill(st.launcherPid, 'SIGKILL');
          } catch {
            // gone
          }
        }
        if (Date.now() > deadline + 2000) throw new IsolationError('state', name, `${op}/verify`, `the unit launcher (pid ${st.launcherPid}) does not exit`);
        await sleep(Math.min(1 + i, 20));
      }
    }
    const left = await this.cgroups.pids(name);
    if (left.length > 0 || (await this.initAlive(name, st))) {
      throw new IsolationError('state', name, `${op}/verify`, `processes remain after the kill: ${left.slice(0, 10).join(' ') || `init ${st?.initPid}`}`);
    }
  }

  async usage(name: string): Promise<UnitUsage> {
    checkName(name, 'usage');
    const st = await this.requireState(name, 'usage');
    const cg = await this.step(name, 'usage/cgroup', () => this.cgroups.usage(name));
    const link = hostLinkName(name);
    const net = st.network === 'egress' && (await linkExists(link)) ? await linkCounters(link) : { rxBytes: 0, txBytes: 0 };
    const storageBytes = await this.disk.bytes(this.rootOf(name));
    return { ...cg, egressBytes: net.rxBytes, ingressBytes: net.txBytes, storageBytes, gpuMs: 0, gpuNote: 'no GPU is assigned to Linux units' };
  }

  async destroy(name: string): Promise<void> {
    checkName(name, 'destroy');
    await this.withLock(name, async () => {
      const started = Date.now();
      const st = await this.step(name, 'destroy/state', () => readState(this.stateDir, name));
      await this.killEverything(name, st, 'destroy');
      await teardownNetwork(this.tools.ip, name);
      await this.cgroups.remove(name);
      const dir = this.dirOf(name);
      const mounted = await this.mountsUnder(name);
      if (mounted.length > 0) {
        // never rm -r through a mount (a bind of /usr would be emptied)
        throw new IsolationError('state', name, 'destroy/mounts', `mounts remain on the host under the unit: ${mounted.slice(0, 5).join(', ')}; unmount them, then destroy again`);
      }
      await this.step(name, 'destroy/dir', () => rm(dir, { recursive: true, force: true }));
      this.disk.forget(this.rootOf(name));
      const left = await this.leftovers(name);
      if (left.length > 0) throw new IsolationError('state', name, 'destroy/verify', `still present after destroy: ${left.join(', ')}`);
      if (st !== undefined) this.log?.info({ unit: name, ms: Date.now() - started }, 'isolation(linux): unit destroyed');
    });
  }

  /** Host mount points inside the unit dir, or the unit's netns file. */
  private async mountsUnder(name: string): Promise<string[]> {
    const dir = `${this.dirOf(name)}/`;
    const ns = netnsPath(name);
    const text = await this.step(name, 'destroy/mounts', () => readFile('/proc/self/mountinfo', 'utf8'));
    return parseMountinfo(text)
      .map((m) => m.mountPoint)
      .filter((p) => p === ns || p === dir.slice(0, -1) || p.startsWith(dir));
  }

  /** Every resource kind of a unit that still exists (empty after a complete destroy). */
  async leftovers(name: string): Promise<string[]> {
    checkName(name, 'leftovers');
    const left: string[] = [];
    const st = await readState(this.stateDir, name).catch(() => undefined);
    if (await this.initAlive(name, st)) left.push(`init process ${st?.initPid}`);
    if (st?.launcherPid !== undefined && (await processStart(st.launcherPid)) === st.launcherStart) left.push(`launcher process ${st.launcherPid}`);
    const pids = await this.cgroups.pids(name);
    if (pids.length > 0) left.push(`processes ${pids.slice(0, 10).join(' ')}`);
    if (await pathExists(netnsPath(name))) left.push(netnsPath(name));
    if (await linkExists(hostLinkName(name))) left.push(`link ${hostLinkName(name)}`);
    for (const d of await this.cgroups.existing(name)) left.push(`cgroup ${d}`);
    for (const m of await this.mountsUnder(name)) left.push(`mount ${m}`);
    if (await pathExists(this.dirOf(name))) left.push(`directory ${this.dirOf(name)}`);
    return left;
  }
}

/** The adapter behind the port; `new LinuxIsolation(opts)` gives the extras (leftovers, cgroupVersion). */
export function createLinuxIsolation(opts: LinuxIsolationOptions): IsolationPort {
  return new LinuxIsolation(opts);
}
