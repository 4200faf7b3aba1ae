/**
 * The FreeBSD isolation adapter (DESIGN §6): Bastille 1.4 for the jail's
 * life cycle, rctl(8) for limits and usage, jls(8) for state, jexec(8) where
 * an exit code matters, pkill/pgrep/ps for freeze/thaw, netstat(1) for the
 * epair's byte counters, mount(8)/ifconfig(8) to check that a jail left
 * nothing behind, zfs(8) or a walk of the jail's directory for storage.
 * This file is the port; the concerns live beside it:
 *
 *   options.ts       the options, validated once, with their defaults
 *   bastille-conf.ts what the adapter reads from Bastille's own bastille.conf
 *   names.ts         unit names (reserved prefix u-) → jail names
 *   jails.ts         create/start/stop/destroy, each re-checked; processes and signals
 *   leftovers.ts     mounts and links a jail that vanished without `jail -r` left
 *   limits.ts        rctl rules and usage
 *   storage.ts       bytes on disk: ZFS `used` or a one-file-system walk
 *   network.ts       the jail's address, `bastille create` arguments, the epair and its counters
 *   unit-records.ts  which units are ours (a jail without a record is somebody else's)
 *   unit-user.ts     the unprivileged user inside the jail
 *   safe-write.ts    writeFile() contained under the jail root
 *   parse.ts, command-runner.ts, bastille-error.ts; selftest.ts for real hosts
 */
import { ZERO_USAGE, type ExecOptions, type ExecResult, type IsolationCapabilities, type IsolationPort, type UnitFile, type UnitInfo, type UnitSpec, type UnitUsage } from '../../../bus-schemas/units/port.js';
import { ROLE_TEMPLATES, type UnitRole } from '../../../bus-schemas/units/roles.js';
import { readBastilleConf, type BastilleConf } from './bastille-conf.js';
import { BastilleError } from './bastille-error.js';
import { toolOf, type CommandRunner } from './command-runner.js';
import { Jails } from './jails.js';
import type { JlsJail } from './parse.js';
import { applyLimits, readUsage, removeLimits } from './limits.js';
import { checkUnitName, jailNameOf } from './names.js';
import { allocateIp, checkVnetInterface, checkVnetType, createArgs, hostLinkOf, linkCounters } from './network.js';
import { resolveOptions, type BastilleIsolationOptions } from './options.js';
import { segmentsOrRefuse, writeContained } from './safe-write.js';
import { Storage } from './storage.js';
import { UnitRecords, type UnitRecord } from './unit-records.js';
import { ensureUnitUser, unitUserEntry } from './unit-user.js';

const FREEZE_ROUNDS = 5;
const UNIT_ROLES = Object.keys(ROLE_TEMPLATES) as UnitRole[];
const GPU_NOTE = 'no GPU is assigned to jails';

function checkSpec(spec: UnitSpec): void {
  const what = `create ${String(spec?.name)}`;
  checkUnitName(spec?.name, what);
  const l = spec.limits;
  const ok = (n: unknown, min: number): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
  if (typeof l !== 'object' || l === null || !ok(l.cpuMillicores, 10) || !ok(l.memoryBytes, 1 << 20) || !ok(l.pids, 1)) {
    throw new BastilleError('refused', what, 'limits need integer cpuMillicores ≥ 10, memoryBytes ≥ 1 MiB and pids ≥ 1');
  }
  if (spec.network !== 'none' && spec.network !== 'egress') throw new BastilleError('refused', what, `network ${JSON.stringify(spec.network)} is neither none nor egress`);
}

/**
 * What the adapter tells the cell in the hello: FreeBSD; the tools it runs that the agent's probes report
 * (bastille from pkg, jls and rctl from the base system); the roles it can host. A unit with a network link
 * is a VNET jail, which needs the `interface` option: without one, only the roles without network.
 */
function capabilitiesOf(vnetInterface: string | undefined): IsolationCapabilities {
  return {
    os_family: 'freebsd',
    tools: ['bastille', 'jls', 'rctl'],
    unit_roles: UNIT_ROLES.filter((r) => vnetInterface !== undefined || ROLE_TEMPLATES[r].network === 'none'),
  };
}

export function createBastilleIsolation(options: BastilleIsolationOptions): IsolationPort {
  const o = resolveOptions(options);
  const { run, user, home, log } = o;
  const tool = toolOf(run);
  const jails = new Jails(tool, o.jailsDir);
  const records = new UnitRecords(o.stateDir);
  if (o.vnetInterface !== undefined && o.gateway === undefined) {
    log.warn({ interface: o.vnetInterface }, 'no gateway option: egress jails route through bastille_network_gateway or the host default route, which must be inside ipRange');
  }
  // Bastille's configuration is read once, at the first call that needs it (never at construction).
  let conf: { bastille: BastilleConf; storage: Storage } | undefined;
  const bastille = (): { bastille: BastilleConf; storage: Storage } => {
    if (conf === undefined) {
      const b = readBastilleConf(o.bastilleConfig, o.jailsDir);
      conf = { bastille: b, storage: new Storage(tool, o.jailsDir, b.zfs) };
    }
    return conf;
  };

  /** The record of a unit, or a refusal when a jail of its name exists without one (somebody else's). */
  function ownedOrRefuse(name: string, what: string): UnitRecord | undefined {
    const rec = records.read(name);
    const jail = jailNameOf(name);
    if (rec === undefined && jails.exists(jail)) {
      throw new BastilleError('refused', what, `a jail named ${jail} exists under ${o.jailsDir} but unit ${name} has no Holonet record in ${o.stateDir}; not touching somebody else's jail`);
    }
    return rec;
  }

  /** The record of a unit whose jail must exist for `what`. */
  function existingOrFail(name: string, what: string): UnitRecord {
    checkUnitName(name, what);
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined || !jails.exists(rec.jail)) throw new BastilleError('state', what, `no unit ${name}`);
    return rec;
  }

  async function inspect(name: string): Promise<UnitInfo | undefined> {
    checkUnitName(name, `inspect ${String(name)}`);
    const rec = ownedOrRefuse(name, `inspect ${name}`);
    if (rec === undefined || !jails.exists(rec.jail)) return undefined;
    return infoOf(rec, await jails.running(rec.jail));
  }

  /** What exists for a unit whose jail exists, given what jls says of it. */
  async function infoOf(rec: UnitRecord, jail: JlsJail | undefined): Promise<UnitInfo> {
    const name = rec.unit;
    const pw = unitUserEntry(jails, rec.jail, user);
    let status: UnitInfo['status'] = 'stopped';
    if (jail !== undefined) status = rec.frozen && (await jails.allStopped(jail.jid)) ? 'frozen' : 'running';
    const info: UnitInfo = { name, status, root: jails.root(rec.jail), uid: pw?.uid ?? user.uid, gid: pw?.gid ?? user.gid };
    if (rec.hostLink !== undefined) info.hostLink = rec.hostLink;
    return info;
  }

  async function create(spec: UnitSpec): Promise<UnitInfo> {
    checkSpec(spec);
    const name = spec.name;
    const what = `create ${name}`;
    const jail = jailNameOf(name);
    checkVnetInterface(name, spec.network, o.vnetInterface);
    checkVnetType(name, spec.network, bastille().bastille.vnetType);
    let rec = ownedOrRefuse(name, what);
    if (rec !== undefined && rec.network !== spec.network) {
      throw new BastilleError('refused', what, `unit ${name} exists with network=${rec.network}; asked for ${spec.network} (destroy it first)`);
    }
    rec ??= { unit: name, jail, network: spec.network, limits: spec.limits, ip: allocateIp(records, o.range, name, o.gateway), frozen: false };
    rec.limits = spec.limits;
    records.write(rec);

    if (!jails.exists(jail)) {
      log.info({ unit: name, jail, network: spec.network, ip: rec.ip }, 'bastille create');
      await jails.create(jail, createArgs(jail, { ...o, network: spec.network, ip: rec.ip }));
    }
    const link = hostLinkOf(jail, jails.readFile(jail, 'jail.conf'), spec.network);
    if (link !== rec.hostLink) {
      if (link === undefined) delete rec.hostLink;
      else rec.hostLink = link;
      records.write(rec);
    }
    const running = await jails.ensureRunning(jail, link);
    await applyLimits(tool, jail, spec.limits);
    await ensureUnitUser(tool, jails, jail, user, home);
    return infoOf(rec, running);
  }

  function list(): Promise<string[]> {
    return Promise.resolve(records.list());
  }

  async function exec(name: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    checkUnitName(name, `exec ${String(name)}`);
    const what = `exec ${name}`;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
      throw new BastilleError('refused', what, 'argv must be a non-empty array of strings without NUL');
    }
    const cwd = opts.cwd ?? home;
    if (!cwd.startsWith('/') || cwd.includes('\0')) throw new BastilleError('refused', what, `cwd ${JSON.stringify(cwd)} must be an absolute path inside the jail`);
    const rec = existingOrFail(name, what);
    if (rec.frozen) throw new BastilleError('state', what, `unit ${name} is frozen; thaw it first`);
    await jails.requireRunning(rec.jail, what);
    const env: Record<string, string> = { PATH: '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin', ...(opts.env ?? {}) };
    for (const [k, v] of Object.entries(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof v !== 'string' || v.includes('\0')) throw new BastilleError('refused', what, `environment variable ${JSON.stringify(k)} is not a valid name=value`);
    }
    // jexec of FreeBSD 14 has no working-directory option and starts in "/" (jexec.c: getopt "lnu:U:", chdir("/")):
    // a fixed sh script changes directory and execs the argv unchanged. Environment values travel in the
    // environment (jexec without -l keeps it), never in argv.
    const args = ['-U', opts.asRoot === true ? 'root' : user.name, rec.jail, '/bin/sh', '-c', 'cd -- "$1" || exit 126; shift; exec "$@"', 'holonet-exec', cwd, ...argv];
    const spawnOpts: Parameters<CommandRunner['spawn']>[2] = { env };
    if (opts.onStdout !== undefined) spawnOpts.onStdout = opts.onStdout;
    if (opts.onStderr !== undefined) spawnOpts.onStderr = opts.onStderr;
    if (opts.timeoutMs !== undefined) spawnOpts.timeoutMs = opts.timeoutMs;
    return run.spawn('jexec', args, spawnOpts);
  }

  function writeFile(name: string, file: UnitFile): Promise<void> {
    try {
      writeFileNow(name, file);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  function writeFileNow(name: string, file: UnitFile): void {
    checkUnitName(name, `writeFile ${String(name)}`);
    const what = `writeFile ${name}`;
    const parts = segmentsOrRefuse(name, file?.path);
    if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o7777) throw new BastilleError('refused', what, `mode ${String(file.mode)} is not a permission mode`);
    if (file.owner !== 'unit' && file.owner !== 'root') throw new BastilleError('refused', what, `owner ${String(file.owner)} is neither unit nor root`);
    const rec = existingOrFail(name, what);
    let uid = 0;
    let gid = 0;
    if (file.owner === 'unit') {
      const pw = unitUserEntry(jails, rec.jail, user);
      if (pw === undefined) throw new BastilleError('state', what, `user ${user.name} does not exist in the jail yet`);
      uid = pw.uid;
      gid = pw.gid;
    }
    writeContained({ unit: name, root: jails.root(rec.jail), parts, content: file.content, mode: file.mode, uid, gid });
  }

  async function freeze(name: string): Promise<void> {
    const what = `freeze ${String(name)}`;
    const rec = existingOrFail(name, what);
    const jail = await jails.requireRunning(rec.jail, what);
    rec.frozen = true;
    records.write(rec); // first, so exec() refuses new processes while we stop the old ones
    for (let round = 0; round < FREEZE_ROUNDS; round++) {
      await jails.signal(jail.jid, 'STOP');
      if (await jails.allStopped(jail.jid)) return;
    }
    throw new BastilleError('state', what, `processes of jail ${jail.jid} still run after ${FREEZE_ROUNDS} rounds of SIGSTOP (fork storm?)`);
  }

  async function thaw(name: string): Promise<void> {
    const what = `thaw ${String(name)}`;
    const rec = existingOrFail(name, what);
    const jail = await jails.running(rec.jail);
    if (jail !== undefined) {
      await jails.signal(jail.jid, 'CONT');
      const procs = await jails.processes(jail.jid);
      const still = [...procs.entries()].filter(([, s]) => s.startsWith('T'));
      if (still.length > 0) throw new BastilleError('state', what, `pids ${still.map(([p]) => p).join(',')} are still stopped after SIGCONT`);
    }
    rec.frozen = false;
    records.write(rec);
  }

  /** SIGTERM every process of the jail (a jail has no init of ours; the jail is persistent, so it stays). */
  async function terminate(name: string): Promise<void> {
    const rec = existingOrFail(name, `terminate ${String(name)}`);
    const jail = await jails.running(rec.jail);
    if (jail !== undefined) await jails.signal(jail.jid, 'TERM');
  }

  async function kill(name: string): Promise<void> {
    const rec = existingOrFail(name, `kill ${String(name)}`);
    await jails.teardown(rec.jail, rec.hostLink);
    if (rec.frozen) {
      rec.frozen = false;
      records.write(rec);
    }
  }

  async function usage(name: string): Promise<UnitUsage> {
    const rec = existingOrFail(name, `usage ${String(name)}`);
    const { storage } = bastille();
    const racct = await readUsage(tool, rec.jail); // answers for a stopped jail too (limits.ts)
    const jail = await jails.running(rec.jail);
    const memoryBytes = jail === undefined ? 0 : racct.memoryBytes;
    const peak = Math.max(rec.memoryPeakBytes ?? 0, memoryBytes);
    if (peak !== rec.memoryPeakBytes) {
      rec.memoryPeakBytes = peak;
      records.write(rec);
    }
    const out: UnitUsage = { ...ZERO_USAGE, cpuUsageUsec: racct.cpuUsageUsec, memoryBytes, memoryPeakBytes: peak, pids: racct.pids, gpuMs: 0, gpuNote: GPU_NOTE };
    if (jail !== undefined && rec.hostLink !== undefined) Object.assign(out, await linkCounters(tool, rec.jail, rec.hostLink));
    out.storageBytes = await storage.bytes(rec.jail, () => jails.leftovers.mountPoints());
    return out;
  }

  async function destroy(name: string): Promise<void> {
    checkUnitName(name, `destroy ${String(name)}`);
    const rec = ownedOrRefuse(name, `destroy ${name}`);
    if (rec === undefined) return;
    const { storage } = bastille();
    // Only ever name an existing jail to bastille (jails.ts: its target resolution autocompletes a prefix).
    if (jails.exists(rec.jail)) {
      await jails.teardown(rec.jail, rec.hostLink);
      await jails.destroy(rec.jail);
    }
    if (await storage.datasetExists(rec.jail)) throw new BastilleError('state', `bastille destroy ${rec.jail}`, `dataset ${String(storage.dataset(rec.jail))} still exists`);
    await removeLimits(tool, rec.jail);
    records.remove(name);
    log.info({ unit: name, jail: rec.jail }, 'destroyed');
  }

  return { kind: 'bastille', capabilities: capabilitiesOf(o.vnetInterface), create, inspect, list, exec, writeFile, freeze, thaw, terminate, kill, usage, destroy };
}
