/**
 * The FreeBSD isolation adapter (DESIGN §6): Bastille 1.4 for the jail's
 * life cycle, rctl(8) for limits and usage, jls(8) for state, jexec(8) where
 * an exit code matters, pkill/pgrep/ps for freeze/thaw, netstat(1) for the
 * epair's byte counters. This file is the port; the concerns live beside it:
 *
 *   options.ts       the options, validated once, with their defaults
 *   jails.ts         create/start/stop/destroy, each re-checked with jls; processes and signals
 *   limits.ts        rctl rules and usage
 *   network.ts       the jail's address, `bastille create` arguments, the epair and its counters
 *   unit-records.ts  which units are ours (a jail without a record is somebody else's)
 *   unit-user.ts     the unprivileged user inside the jail
 *   safe-write.ts    writeFile() contained under the jail root
 *   names.ts, parse.ts, command-runner.ts, bastille-error.ts
 */
import { ZERO_USAGE, type ExecOptions, type ExecResult, type IsolationCapabilities, type IsolationPort, type UnitFile, type UnitInfo, type UnitSpec, type UnitUsage } from '../../../bus-schemas/units/port.js';
import { ROLE_TEMPLATES, type UnitRole } from '../../../bus-schemas/units/roles.js';
import { BastilleError } from './bastille-error.js';
import { toolOf, type CommandRunner } from './command-runner.js';
import { Jails } from './jails.js';
import { applyLimits, readUsage, removeLimits } from './limits.js';
import { checkUnitName, hostEpairName } from './names.js';
import { allocateIp, checkHostLink, checkVnetInterface, createArgs, linkCounters } from './network.js';
import { resolveOptions, type BastilleIsolationOptions } from './options.js';
import { segmentsOrRefuse, writeContained } from './safe-write.js';
import { UnitRecords, type UnitRecord } from './unit-records.js';
import { ensureUnitUser, unitUserEntry } from './unit-user.js';

const FREEZE_ROUNDS = 5;
const UNIT_ROLES = Object.keys(ROLE_TEMPLATES) as UnitRole[];

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

  /** The record of a unit whose jail exists, or a refusal when the jail is not ours. */
  function ownedOrRefuse(name: string, what: string): UnitRecord | undefined {
    const rec = records.read(name);
    if (rec === undefined && jails.exists(name)) {
      throw new BastilleError('refused', what, `a jail named ${name} exists under ${o.jailsDir} but has no Holonet record in ${o.stateDir}; not touching somebody else's jail`);
    }
    return rec;
  }

  /** The record of a unit that must exist for `what`. */
  function recordOrFail(name: string, what: string): UnitRecord {
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined) throw new BastilleError('state', what, `no unit ${name}`);
    return rec;
  }

  async function inspect(name: string): Promise<UnitInfo | undefined> {
    checkUnitName(name, `inspect ${String(name)}`);
    const rec = ownedOrRefuse(name, `inspect ${name}`);
    if (rec === undefined || !jails.exists(name)) return undefined;
    const jail = await jails.running(name);
    const root = jails.root(name);
    const pw = unitUserEntry(jails, name, user);
    const link = jails.hostLink(name);
    let status: UnitInfo['status'] = 'stopped';
    if (jail !== undefined) status = rec.frozen && (await jails.allStopped(jail.jid)) ? 'frozen' : 'running';
    const info: UnitInfo = { name, status, root, uid: pw?.uid ?? user.uid, gid: pw?.gid ?? user.gid };
    if (link !== undefined) info.hostLink = link;
    return info;
  }

  async function create(spec: UnitSpec): Promise<UnitInfo> {
    checkSpec(spec);
    const name = spec.name;
    const what = `create ${name}`;
    const link = hostEpairName(name, spec.network, what);
    checkVnetInterface(name, spec.network, o.vnetInterface);
    let rec = ownedOrRefuse(name, what);
    if (rec !== undefined && rec.network !== spec.network) {
      throw new BastilleError('refused', what, `unit ${name} exists with network=${rec.network}; asked for ${spec.network} (destroy it first)`);
    }
    if (rec === undefined) {
      rec = { unit: name, network: spec.network, limits: spec.limits, ip: allocateIp(records, o.range, name), frozen: false };
    }
    rec.limits = spec.limits;
    records.write(rec);

    if (!jails.exists(name)) {
      const args = createArgs(name, { network: spec.network, release: o.release, ip: rec.ip, range: o.range, vnetInterface: o.vnetInterface, loopbackInterface: o.loopbackInterface });
      log.info({ unit: name, network: spec.network, ip: rec.ip }, 'bastille create');
      await jails.create(name, args);
      checkHostLink(name, jails.readFile(name, 'jail.conf'), link);
    }
    await jails.ensureStarted(name);
    await applyLimits(tool, name, spec.limits);
    await ensureUnitUser(tool, jails, name, user, home);
    const info = await inspect(name);
    if (info === undefined || info.status === 'stopped') throw new BastilleError('state', what, 'the unit is not running after create');
    return info;
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
    const rec = recordOrFail(name, what);
    if (rec.frozen) throw new BastilleError('state', what, `unit ${name} is frozen; thaw it first`);
    await jails.requireRunning(name, what);
    const env: Record<string, string> = { PATH: '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin', ...(opts.env ?? {}) };
    for (const [k, v] of Object.entries(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof v !== 'string' || v.includes('\0')) throw new BastilleError('refused', what, `environment variable ${JSON.stringify(k)} is not a valid name=value`);
    }
    // jexec has no working-directory option and starts in "/": a fixed sh script changes
    // directory and execs the argv unchanged. Environment values travel in the environment
    // (jexec without -l keeps it), never in argv.
    const args = ['-U', opts.asRoot === true ? 'root' : user.name, name, '/bin/sh', '-c', 'cd -- "$1" || exit 126; shift; exec "$@"', 'holonet-exec', cwd, ...argv];
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
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined || !jails.exists(name)) throw new BastilleError('state', what, `no unit ${name}`);
    const root = jails.root(name);
    let uid = 0;
    let gid = 0;
    if (file.owner === 'unit') {
      const pw = unitUserEntry(jails, name, user);
      if (pw === undefined) throw new BastilleError('state', what, `user ${user.name} does not exist in the jail yet`);
      uid = pw.uid;
      gid = pw.gid;
    }
    writeContained({ unit: name, root, parts, content: file.content, mode: file.mode, uid, gid });
  }

  async function freeze(name: string): Promise<void> {
    checkUnitName(name, `freeze ${String(name)}`);
    const what = `freeze ${name}`;
    const rec = recordOrFail(name, what);
    const jail = await jails.requireRunning(name, what);
    rec.frozen = true;
    records.write(rec); // first, so exec() refuses new processes while we stop the old ones
    for (let round = 0; round < FREEZE_ROUNDS; round++) {
      await jails.signal(jail.jid, 'STOP');
      if (await jails.allStopped(jail.jid)) return;
    }
    throw new BastilleError('state', what, `processes of jail ${jail.jid} still run after ${FREEZE_ROUNDS} rounds of SIGSTOP (fork storm?)`);
  }

  async function thaw(name: string): Promise<void> {
    checkUnitName(name, `thaw ${String(name)}`);
    const what = `thaw ${name}`;
    const rec = recordOrFail(name, what);
    const jail = await jails.running(name);
    if (jail !== undefined) {
      await jails.signal(jail.jid, 'CONT');
      const procs = await jails.processes(jail.jid);
      const still = [...procs.entries()].filter(([, s]) => s.startsWith('T'));
      if (still.length > 0) throw new BastilleError('state', what, `pids ${still.map(([p]) => p).join(',')} are still stopped after SIGCONT`);
    }
    rec.frozen = false;
    records.write(rec);
  }

  async function kill(name: string): Promise<void> {
    checkUnitName(name, `kill ${String(name)}`);
    const rec = recordOrFail(name, `kill ${name}`);
    const jail = await jails.running(name);
    if (jail !== undefined) await jails.stop(name, jail);
    if (rec.frozen) {
      rec.frozen = false;
      records.write(rec);
    }
  }

  async function usage(name: string): Promise<UnitUsage> {
    checkUnitName(name, `usage ${String(name)}`);
    const what = `usage ${name}`;
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined || !jails.exists(name)) throw new BastilleError('state', what, `no unit ${name}`);
    const out: UnitUsage = { ...ZERO_USAGE, gpuNote: "no GPU is assigned to jails" };
    const jail = await jails.running(name);
    if (jail === undefined) return out; // racct of a removed jail is gone with it
    Object.assign(out, await readUsage(tool, name));
    const link = jails.hostLink(name);
    if (link !== undefined) Object.assign(out, await linkCounters(tool, name, link));
    return out;
  }

  async function destroy(name: string): Promise<void> {
    checkUnitName(name, `destroy ${String(name)}`);
    const rec = ownedOrRefuse(name, `destroy ${name}`);
    if (rec === undefined) return;
    // Only ever name an existing jail to bastille (jails.ts: its target resolution autocompletes a prefix).
    if (jails.exists(name)) await jails.destroy(name);
    await removeLimits(tool, name);
    records.remove(name);
    log.info({ unit: name }, 'destroyed');
  }

  return { kind: 'bastille', capabilities: capabilitiesOf(o.vnetInterface), create, inspect, list, exec, writeFile, freeze, thaw, kill, usage, destroy };
}
