/**
 * The FreeBSD isolation adapter (DESIGN §6): Bastille 1.4 for the jail's
 * life cycle, rctl(8) for limits and usage, jls(8) for state, jexec(8) where
 * an exit code matters, pkill/pgrep/ps for freeze/thaw, netstat(1) for the
 * epair's byte counters. Bastille exits 0 on several failures (start of a jail
 * that does not start, destroy of a running jail without -a, stop of a stopped
 * jail), so every mutating call is followed by a re-read of the system.
 *
 * Unit records: `<stateDir>/<unit>.json` (0600, root) is written before the
 * jail is created and removed after it is destroyed; list() returns these
 * names, so a crash between the two leaves a name the agent's recovery can
 * finish destroying. A jail of the same name without a record is somebody
 * else's and is never touched.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpv4Address, formatIpv4Cidr, parseIpv4Cidr, pickFreeSlot, type Ipv4Cidr } from '../../../bus-schemas/units/ipv4-cidr.js';
import { UNIT_NAME_PATTERN, type ExecOptions, type ExecResult, type IsolationPort, type UnitFile, type UnitInfo, type UnitLimits, type UnitNetwork, type UnitSpec, type UnitUsage } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';
import { createCommandRunner, type CommandRunner, type RunResult } from './command-runner.js';
import { checkUnitName, hostEpairName } from './names.js';
import { findPasswdEntry, hostEpairFromJailConf, parseJlsJson, parseNetstatJson, parsePsStates, parseRctlRules, parseRctlUsage, type JlsJail } from './parse.js';
import { segmentsOrRefuse, writeContained } from './safe-write.js';

export interface BastilleLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface BastilleIsolationOptions {
  /** how tools are run; default execFile/spawn with the FreeBSD system PATH */
  run?: CommandRunner;
  /** bastille_prefix of bastille.conf; default /usr/local/bastille */
  bastillePrefix?: string;
  /** a bootstrapped release, e.g. 14.2-RELEASE */
  release: string;
  /** physical interface for VNET (-V) jails of egress units; required to create one */
  interface?: string;
  /** interface holding the address of network=none jails (Bastille's loopback setup); default bastille0 */
  loopbackInterface?: string;
  /** IPv4 CIDR the jails' addresses come from; default 10.17.89.0/24 */
  ipRange?: string;
  /** unit records; default <bastillePrefix>/holonet-units */
  stateDir?: string;
  /** the unprivileged user created in every jail; default unit, uid = gid = 1001 */
  unitUser?: { name: string; uid: number; gid: number };
  log?: BastilleLog;
}

interface UnitRecord {
  unit: string;
  network: UnitNetwork;
  limits: UnitLimits;
  ip: string;
  frozen: boolean;
}

const RELEASE_PATTERN = /^[0-9]{1,2}\.[0-9](-RELEASE|-RELEASE-i386|-RC[1-9]|-BETA[1-9]|-STABLE|-CURRENT)$/;
const IFACE_PATTERN = /^[a-z][a-z0-9_.]{0,14}$/;
const FREEZE_ROUNDS = 5;
const silent: BastilleLog = { info: () => undefined, warn: () => undefined };

/** The jails' address range (bus-schemas/units/ipv4-cidr.ts): /8 … /29, no host bits set. */
function parseRange(cidr: string): Ipv4Cidr {
  const r = parseIpv4Cidr(cidr, { minPrefix: 8, maxPrefix: 29 });
  if (!r.ok) throw new BastilleError('config', 'ipRange', r.reason);
  return r.cidr;
}

function validateOptions(o: BastilleIsolationOptions): void {
  if (typeof o.release !== 'string' || !RELEASE_PATTERN.test(o.release)) {
    throw new BastilleError('config', 'release', `${JSON.stringify(o.release)} is not a FreeBSD release name like 14.2-RELEASE`);
  }
  if (o.bastillePrefix !== undefined && (!o.bastillePrefix.startsWith('/') || o.bastillePrefix.includes('\0'))) {
    throw new BastilleError('config', 'bastillePrefix', `${JSON.stringify(o.bastillePrefix)} must be an absolute path`);
  }
  for (const key of ['interface', 'loopbackInterface'] as const) {
    const v = o[key];
    if (v !== undefined && !IFACE_PATTERN.test(v)) throw new BastilleError('config', key, `${JSON.stringify(v)} is not a FreeBSD interface name`);
  }
  const u = o.unitUser;
  if (u !== undefined && (!/^[a-z_][a-z0-9_-]{0,15}$/.test(u.name) || !(u.uid >= 1000 && u.uid < 65535) || !(u.gid >= 1000 && u.gid < 65535))) {
    throw new BastilleError('config', 'unitUser', 'needs a user name and uid/gid between 1000 and 65534');
  }
}

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

/** rctl rules for a unit's limits; pcpu is in percent of one core (1000 millicores = 100). */
export function rctlRules(jail: string, limits: UnitLimits): string[] {
  return [
    `jail:${jail}:memoryuse:deny=${limits.memoryBytes}`,
    `jail:${jail}:maxproc:deny=${limits.pids}`,
    `jail:${jail}:pcpu:deny=${Math.max(1, Math.ceil(limits.cpuMillicores / 10))}`,
  ];
}

export function createBastilleIsolation(options: BastilleIsolationOptions): IsolationPort {
  validateOptions(options);
  const run = options.run ?? createCommandRunner();
  const prefix = options.bastillePrefix ?? '/usr/local/bastille';
  const jailsDir = join(prefix, 'jails');
  const stateDir = options.stateDir ?? join(prefix, 'holonet-units');
  const loopIf = options.loopbackInterface ?? 'bastille0';
  const range = parseRange(options.ipRange ?? '10.17.89.0/24');
  const user = options.unitUser ?? { name: 'unit', uid: 1001, gid: 1001 };
  const log = options.log ?? silent;
  const home = `/home/${user.name}`;

  // ---------------------------------------------------------------- tools

  async function tool(program: string, args: string[], label: string, opts: { okCodes?: number[]; input?: string } = {}): Promise<RunResult> {
    const r = await run.run(program, args, opts.input === undefined ? {} : { input: opts.input });
    if (r.exitCode !== 0 && !(opts.okCodes ?? []).includes(r.exitCode)) {
      throw new BastilleError('command', label, `failed (${program} ${args.join(' ')})`, { exitCode: r.exitCode, stderr: r.stderr || r.stdout });
    }
    return r;
  }

  async function jls(): Promise<JlsJail[]> {
    const r = await tool('jls', ['--libxo', 'json', 'jid', 'name', 'path', 'host.hostname'], 'jls');
    return parseJlsJson(r.stdout);
  }

  async function running(name: string): Promise<JlsJail | undefined> {
    return (await jls()).find((j) => j.name === name);
  }

  /** Bastille's own notion of "exists": the jail directory with its jail.conf (bastille list jails). */
  function jailExists(name: string): boolean {
    return existsSync(join(jailsDir, name, 'jail.conf'));
  }

  // ---------------------------------------------------------------- records

  const recordPath = (name: string): string => join(stateDir, `${name}.json`);

  function readRecord(name: string): UnitRecord | undefined {
    let text: string;
    try {
      text = readFileSync(recordPath(name), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const r = JSON.parse(text) as UnitRecord;
      if (r.unit !== name) throw new Error(`record names ${String(r.unit)}`);
      return r;
    } catch (e) {
      throw new BastilleError('state', `record ${name}`, `${recordPath(name)} is unreadable: ${(e as Error).message}`, { cause: e });
    }
  }

  function writeRecord(r: UnitRecord): void {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${recordPath(r.unit)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(r)}\n`, { mode: 0o600 });
    renameSync(tmp, recordPath(r.unit));
  }

  function listRecords(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(stateDir);
    } catch {
      return [];
    }
    return entries
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .filter((n) => UNIT_NAME_PATTERN.test(n))
      .sort();
  }

  function allocateIp(name: string): string {
    const used = new Set<string>();
    for (const n of listRecords()) {
      if (n === name) continue;
      const r = readRecord(n);
      if (r !== undefined) used.add(r.ip);
    }
    // Leave the network address, .1 (the host side: gateway / loopback address of the host) and the broadcast address.
    const addressAt = (i: number): string => formatIpv4Address(range.base + 2 + i);
    const index = pickFreeSlot(name, 2 ** (32 - range.prefix) - 3, (i) => !used.has(addressAt(i)));
    if (index === undefined) throw new BastilleError('refused', `create ${name}`, `no free address left in ${formatIpv4Cidr(range)}`);
    return addressAt(index);
  }

  /** The record of a unit whose jail exists, or a refusal when the jail is not ours. */
  function ownedOrRefuse(name: string, what: string): UnitRecord | undefined {
    const rec = readRecord(name);
    if (rec === undefined && jailExists(name)) {
      throw new BastilleError('refused', what, `a jail named ${name} exists under ${jailsDir} but has no Holonet record in ${stateDir}; not touching somebody else's jail`);
    }
    return rec;
  }

  // ---------------------------------------------------------------- pieces

  async function ensureStarted(name: string): Promise<JlsJail> {
    const now = await running(name);
    if (now !== undefined) return now;
    const r = await tool('bastille', ['start', name], `bastille start ${name}`);
    const after = await running(name);
    if (after === undefined) {
      throw new BastilleError('state', `bastille start ${name}`, 'exited 0 but jls does not list the jail: it did not start (see the jail console log under <prefix>/logs)', {
        exitCode: r.exitCode,
        stderr: r.stderr,
      });
    }
    return after;
  }

  async function applyLimits(name: string, limits: UnitLimits): Promise<void> {
    const want = rctlRules(name, limits);
    const have = parseRctlRules((await tool('rctl', [`jail:${name}`], `rctl jail:${name}`)).stdout);
    for (const rule of want) {
      if (have.includes(rule)) continue;
      const resource = rule.split(':')[2] as string;
      if (have.some((h) => h.split(':')[2] === resource)) {
        await tool('rctl', ['-r', `jail:${name}:${resource}`], `rctl -r jail:${name}:${resource}`);
      }
      await tool('rctl', ['-a', rule], `rctl -a ${rule}`);
    }
    const after = parseRctlRules((await tool('rctl', [`jail:${name}`], `rctl jail:${name}`)).stdout);
    const missing = want.filter((w) => !after.includes(w));
    if (missing.length > 0) throw new BastilleError('state', `rctl -a jail:${name}`, `rules not in effect after adding them: ${missing.join(', ')}`);
  }

  function passwdOf(name: string): string {
    try {
      return readFileSync(join(jailsDir, name, 'root', 'etc', 'passwd'), 'utf8');
    } catch {
      return '';
    }
  }

  async function ensureUnitUser(name: string): Promise<void> {
    if (findPasswdEntry(passwdOf(name), user.name) !== undefined) return;
    const group = readFileSafe(join(jailsDir, name, 'root', 'etc', 'group'));
    if (!group.split('\n').some((l) => l.split(':')[0] === user.name)) {
      await tool('jexec', [name, 'pw', 'groupadd', user.name, '-g', String(user.gid)], `jexec ${name} pw groupadd`);
    }
    await tool('jexec', [name, 'pw', 'useradd', user.name, '-u', String(user.uid), '-g', user.name, '-m', '-d', home, '-s', '/bin/sh', '-c', 'Holonet unit'], `jexec ${name} pw useradd`);
    const e = findPasswdEntry(passwdOf(name), user.name);
    if (e === undefined || e.uid !== user.uid) throw new BastilleError('state', `jexec ${name} pw useradd`, `user ${user.name} (uid ${user.uid}) is not in the jail's /etc/passwd afterwards`);
  }

  function readFileSafe(p: string): string {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  }

  /** pids of the jail's processes and their ps states. */
  async function jailProcesses(jid: number): Promise<Map<number, string>> {
    const pg = await tool('pgrep', ['-j', String(jid)], `pgrep -j ${jid}`, { okCodes: [1] });
    const pids = pg.stdout.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l));
    if (pids.length === 0) return new Map();
    // A process may exit between pgrep and ps: ps then exits 1 for the missing pid.
    const ps = await tool('ps', ['-o', 'pid=,state=', '-p', pids.join(',')], `ps -p`, { okCodes: [1] });
    return parsePsStates(ps.stdout);
  }

  async function signalJail(jid: number, signal: 'STOP' | 'CONT' | 'KILL'): Promise<void> {
    // pkill: 0 = some matched, 1 = none matched; both fine.
    await tool('pkill', [`-${signal}`, '-j', String(jid)], `pkill -${signal} -j ${jid}`, { okCodes: [1] });
  }

  async function statusOf(name: string, jail: JlsJail | undefined, rec: UnitRecord | undefined): Promise<UnitInfo['status']> {
    if (jail === undefined) return 'stopped';
    if (rec?.frozen !== true) return 'running';
    const procs = await jailProcesses(jail.jid);
    return [...procs.values()].every((s) => s.startsWith('T')) ? 'frozen' : 'running';
  }

  async function requireRunning(name: string, what: string): Promise<JlsJail> {
    const j = await running(name);
    if (j === undefined) throw new BastilleError('state', what, `unit ${name} is not running (jls does not list it)`);
    return j;
  }

  // ---------------------------------------------------------------- port

  async function inspect(name: string): Promise<UnitInfo | undefined> {
    checkUnitName(name, `inspect ${String(name)}`);
    const rec = ownedOrRefuse(name, `inspect ${name}`);
    if (rec === undefined || !jailExists(name)) return undefined;
    const jail = await running(name);
    const root = realpathSync(join(jailsDir, name, 'root'));
    const pw = findPasswdEntry(passwdOf(name), user.name);
    const link = hostEpairFromJailConf(readFileSafe(join(jailsDir, name, 'jail.conf')));
    const info: UnitInfo = {
      name,
      status: await statusOf(name, jail, rec),
      root,
      uid: pw?.uid ?? user.uid,
      gid: pw?.gid ?? user.gid,
    };
    if (link !== undefined) info.hostLink = link;
    return info;
  }

  async function create(spec: UnitSpec): Promise<UnitInfo> {
    checkSpec(spec);
    const name = spec.name;
    const what = `create ${name}`;
    const link = hostEpairName(name, spec.network, what);
    if (spec.network === 'egress' && options.interface === undefined) {
      throw new BastilleError('config', 'interface', `unit ${name} has network=egress but the adapter has no VNET interface configured`);
    }
    let rec = ownedOrRefuse(name, what);
    if (rec !== undefined && rec.network !== spec.network) {
      throw new BastilleError('refused', what, `unit ${name} exists with network=${rec.network}; asked for ${spec.network} (destroy it first)`);
    }
    if (rec === undefined) {
      rec = { unit: name, network: spec.network, limits: spec.limits, ip: allocateIp(name), frozen: false };
    }
    rec.limits = spec.limits;
    writeRecord(rec);

    if (!jailExists(name)) {
      const args =
        spec.network === 'egress'
          ? ['create', '-V', name, options.release, `${rec.ip}/${range.prefix}`, options.interface as string]
          : ['create', name, options.release, rec.ip, loopIf];
      log.info({ unit: name, network: spec.network, ip: rec.ip }, 'bastille create');
      const r = await tool('bastille', args, `bastille create ${name}`);
      if (!jailExists(name)) {
        throw new BastilleError('state', `bastille create ${name}`, `exited 0 but ${join(jailsDir, name, 'jail.conf')} does not exist`, { exitCode: r.exitCode, stderr: r.stderr });
      }
      const conf = readFileSafe(join(jailsDir, name, 'jail.conf'));
      const actual = hostEpairFromJailConf(conf);
      if (link !== actual) {
        throw new BastilleError('state', `bastille create ${name}`, `jail.conf names host link ${String(actual)}, expected ${String(link)}`);
      }
    }
    await ensureStarted(name);
    await applyLimits(name, spec.limits);
    await ensureUnitUser(name);
    const info = await inspect(name);
    if (info === undefined || info.status === 'stopped') throw new BastilleError('state', what, 'the unit is not running after create');
    return info;
  }

  function list(): Promise<string[]> {
    return Promise.resolve(listRecords());
  }

  async function exec(name: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    checkUnitName(name, `exec ${String(name)}`);
    const what = `exec ${name}`;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
      throw new BastilleError('refused', what, 'argv must be a non-empty array of strings without NUL');
    }
    const cwd = opts.cwd ?? home;
    if (!cwd.startsWith('/') || cwd.includes('\0')) throw new BastilleError('refused', what, `cwd ${JSON.stringify(cwd)} must be an absolute path inside the jail`);
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined) throw new BastilleError('state', what, `no unit ${name}`);
    if (rec.frozen) throw new BastilleError('state', what, `unit ${name} is frozen; thaw it first`);
    await requireRunning(name, what);
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
    if (rec === undefined || !jailExists(name)) throw new BastilleError('state', what, `no unit ${name}`);
    const root = realpathSync(join(jailsDir, name, 'root'));
    let uid = 0;
    let gid = 0;
    if (file.owner === 'unit') {
      const pw = findPasswdEntry(passwdOf(name), user.name);
      if (pw === undefined) throw new BastilleError('state', what, `user ${user.name} does not exist in the jail yet`);
      uid = pw.uid;
      gid = pw.gid;
    }
    writeContained({ unit: name, root, parts, content: file.content, mode: file.mode, uid, gid });
  }

  async function freeze(name: string): Promise<void> {
    checkUnitName(name, `freeze ${String(name)}`);
    const what = `freeze ${name}`;
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined) throw new BastilleError('state', what, `no unit ${name}`);
    const jail = await requireRunning(name, what);
    rec.frozen = true;
    writeRecord(rec); // first, so exec() refuses new processes while we stop the old ones
    for (let round = 0; round < FREEZE_ROUNDS; round++) {
      await signalJail(jail.jid, 'STOP');
      const procs = await jailProcesses(jail.jid);
      if ([...procs.values()].every((s) => s.startsWith('T'))) return;
    }
    throw new BastilleError('state', what, `processes of jail ${jail.jid} still run after ${FREEZE_ROUNDS} rounds of SIGSTOP (fork storm?)`);
  }

  async function thaw(name: string): Promise<void> {
    checkUnitName(name, `thaw ${String(name)}`);
    const what = `thaw ${name}`;
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined) throw new BastilleError('state', what, `no unit ${name}`);
    const jail = await running(name);
    if (jail !== undefined) {
      await signalJail(jail.jid, 'CONT');
      const procs = await jailProcesses(jail.jid);
      const still = [...procs.entries()].filter(([, s]) => s.startsWith('T'));
      if (still.length > 0) throw new BastilleError('state', what, `pids ${still.map(([p]) => p).join(',')} are still stopped after SIGCONT`);
    }
    rec.frozen = false;
    writeRecord(rec);
  }

  async function kill(name: string): Promise<void> {
    checkUnitName(name, `kill ${String(name)}`);
    const what = `kill ${name}`;
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined) throw new BastilleError('state', what, `no unit ${name}`);
    const jail = await running(name);
    if (jail !== undefined) {
      // SIGKILL first: stopped (frozen) processes die too, and rc.shutdown has nothing left to wait for.
      await signalJail(jail.jid, 'KILL');
      const r = await tool('bastille', ['stop', name], `bastille stop ${name}`);
      if ((await running(name)) !== undefined) {
        throw new BastilleError('state', `bastille stop ${name}`, 'exited 0 but jls still lists the jail', { exitCode: r.exitCode, stderr: r.stderr });
      }
    }
    if (rec.frozen) {
      rec.frozen = false;
      writeRecord(rec);
    }
  }

  async function usage(name: string): Promise<UnitUsage> {
    checkUnitName(name, `usage ${String(name)}`);
    const what = `usage ${name}`;
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined || !jailExists(name)) throw new BastilleError('state', what, `no unit ${name}`);
    const out: UnitUsage = { cpuUsageUsec: 0, memoryBytes: 0, pids: 0, egressBytes: 0, ingressBytes: 0, oomKills: 0 };
    const jail = await running(name);
    if (jail === undefined) return out; // racct of a removed jail is gone with it
    const u = parseRctlUsage((await tool('rctl', ['-u', `jail:${name}`], `rctl -u jail:${name}`)).stdout);
    out.cpuUsageUsec = (u.get('cputime') ?? 0) * 1_000_000;
    out.memoryBytes = u.get('memoryuse') ?? 0;
    out.pids = u.get('maxproc') ?? 0;
    const link = hostEpairFromJailConf(readFileSafe(join(jailsDir, name, 'jail.conf')));
    if (link !== undefined) {
      const ns = await tool('netstat', ['-I', link, '-bn', '--libxo', 'json'], `netstat -I ${link}`);
      const c = parseNetstatJson(ns.stdout, link);
      if (c === undefined) throw new BastilleError('state', `netstat -I ${link}`, `jail ${name} runs but its host link ${link} is not listed`);
      // host side of the epair: what it received, the unit sent
      out.egressBytes = c.receivedBytes;
      out.ingressBytes = c.sentBytes;
    }
    return out;
  }

  async function destroy(name: string): Promise<void> {
    checkUnitName(name, `destroy ${String(name)}`);
    const what = `destroy ${name}`;
    const rec = ownedOrRefuse(name, what);
    if (rec === undefined) return;
    // Only ever name an existing jail to bastille: its target resolution autocompletes
    // a prefix ("ab" → "abc"), so a second destroy of a gone jail could hit another one.
    if (jailExists(name)) {
      const jail = await running(name);
      if (jail !== undefined) await signalJail(jail.jid, 'KILL');
      const r = await tool('bastille', ['destroy', '-a', '-y', name], `bastille destroy ${name}`);
      if (jailExists(name) || (await running(name)) !== undefined) {
        throw new BastilleError('state', `bastille destroy ${name}`, 'exited 0 but the jail is still there (jls or its directory)', { exitCode: r.exitCode, stderr: r.stderr });
      }
    }
    const rules = parseRctlRules((await tool('rctl', [`jail:${name}`], `rctl jail:${name}`)).stdout);
    if (rules.length > 0) {
      await tool('rctl', ['-r', `jail:${name}`], `rctl -r jail:${name}`);
      const left = parseRctlRules((await tool('rctl', [`jail:${name}`], `rctl jail:${name}`)).stdout);
      if (left.length > 0) throw new BastilleError('state', `rctl -r jail:${name}`, `rules remain: ${left.join(', ')}`);
    }
    rmSync(recordPath(name), { force: true });
    log.info({ unit: name }, 'destroyed');
  }

  return { kind: 'bastille', create, inspect, list, exec, writeFile, freeze, thaw, kill, usage, destroy };
}
