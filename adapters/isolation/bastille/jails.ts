/**
 * A jail's life cycle through Bastille 1.4, each step re-checked against the
 * system: Bastille exits 0 on several failures (start of a jail that does not
 * start, destroy of a running jail without -a, stop of a stopped jail), so
 * after every mutating call the adapter reads `jls` and the jail directory.
 * Also the jail's processes (pgrep/ps) and signals to all of them (pkill),
 * which freeze, thaw, kill and destroy use.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { hostEpairFromJailConf, parseJlsJson, parsePsStates, type JlsJail } from './parse.js';

export class Jails {
  constructor(
    private readonly tool: Tool,
    /** `<prefix>/jails` */
    readonly dir: string,
  ) {}

  /** Every running jail (`jls --libxo json`). */
  async jls(): Promise<JlsJail[]> {
    const r = await this.tool('jls', ['--libxo', 'json', 'jid', 'name', 'path', 'host.hostname'], 'jls');
    return parseJlsJson(r.stdout);
  }

  async running(name: string): Promise<JlsJail | undefined> {
    return (await this.jls()).find((j) => j.name === name);
  }

  async requireRunning(name: string, what: string): Promise<JlsJail> {
    const j = await this.running(name);
    if (j === undefined) throw new BastilleError('state', what, `unit ${name} is not running (jls does not list it)`);
    return j;
  }

  /** Bastille's own notion of "exists": the jail directory with its jail.conf (bastille list jails). */
  exists(name: string): boolean {
    return existsSync(join(this.dir, name, 'jail.conf'));
  }

  /** A file of the jail as the host sees it (`jail.conf`, `root/etc/passwd` …); '' when it cannot be read. */
  readFile(name: string, ...parts: string[]): string {
    try {
      return readFileSync(join(this.dir, name, ...parts), 'utf8');
    } catch {
      return '';
    }
  }

  /** The host side of the jail's epair, from its jail.conf; undefined without one (network=none). */
  hostLink(name: string): string | undefined {
    return hostEpairFromJailConf(this.readFile(name, 'jail.conf'));
  }

  /** The canonical path of the jail's root on the host. */
  root(name: string): string {
    return realpathSync(join(this.dir, name, 'root'));
  }

  /** `bastille create …`; afterwards the jail's jail.conf must exist. */
  async create(name: string, args: string[]): Promise<void> {
    const r = await this.tool('bastille', args, `bastille create ${name}`);
    if (!this.exists(name)) {
      throw new BastilleError('state', `bastille create ${name}`, `exited 0 but ${join(this.dir, name, 'jail.conf')} does not exist`, { exitCode: r.exitCode, stderr: r.stderr });
    }
  }

  /** `bastille start` unless jls lists the jail already; afterwards jls must list it. */
  async ensureStarted(name: string): Promise<JlsJail> {
    const now = await this.running(name);
    if (now !== undefined) return now;
    const r = await this.tool('bastille', ['start', name], `bastille start ${name}`);
    const after = await this.running(name);
    if (after === undefined) {
      throw new BastilleError('state', `bastille start ${name}`, 'exited 0 but jls does not list the jail: it did not start (see the jail console log under <prefix>/logs)', {
        exitCode: r.exitCode,
        stderr: r.stderr,
      });
    }
    return after;
  }

  /** SIGKILL to every process of a running jail, then `bastille stop`; afterwards jls must not list it. */
  async stop(name: string, jail: JlsJail): Promise<void> {
    // SIGKILL first: stopped (frozen) processes die too, and rc.shutdown has nothing left to wait for.
    await this.signal(jail.jid, 'KILL');
    const r = await this.tool('bastille', ['stop', name], `bastille stop ${name}`);
    if ((await this.running(name)) !== undefined) {
      throw new BastilleError('state', `bastille stop ${name}`, 'exited 0 but jls still lists the jail', { exitCode: r.exitCode, stderr: r.stderr });
    }
  }

  /**
   * `bastille destroy -a -y` of an existing jail (its processes killed first); afterwards neither its
   * directory nor a jls entry may be left. Call it only for a jail that exists: Bastille's target
   * resolution autocompletes a prefix ("ab" → "abc"), so naming a gone jail could hit another one.
   */
  async destroy(name: string): Promise<void> {
    const jail = await this.running(name);
    if (jail !== undefined) await this.signal(jail.jid, 'KILL');
    const r = await this.tool('bastille', ['destroy', '-a', '-y', name], `bastille destroy ${name}`);
    if (this.exists(name) || (await this.running(name)) !== undefined) {
      throw new BastilleError('state', `bastille destroy ${name}`, 'exited 0 but the jail is still there (jls or its directory)', { exitCode: r.exitCode, stderr: r.stderr });
    }
  }

  /** pids of the jail's processes and their ps states (T = stopped). */
  async processes(jid: number): Promise<Map<number, string>> {
    const pg = await this.tool('pgrep', ['-j', String(jid)], `pgrep -j ${jid}`, { okCodes: [1] });
    const pids = pg.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^\d+$/.test(l));
    if (pids.length === 0) return new Map();
    // A process may exit between pgrep and ps: ps then exits 1 for the missing pid.
    const ps = await this.tool('ps', ['-o', 'pid=,state=', '-p', pids.join(',')], `ps -p`, { okCodes: [1] });
    return parsePsStates(ps.stdout);
  }

  /** Whether every process of the jail is stopped (true for a jail without processes). */
  async allStopped(jid: number): Promise<boolean> {
    return [...(await this.processes(jid)).values()].every((s) => s.startsWith('T'));
  }

  async signal(jid: number, signal: 'STOP' | 'CONT' | 'KILL'): Promise<void> {
    // pkill: 0 = some matched, 1 = none matched; both fine.
    await this.tool('pkill', [`-${signal}`, '-j', String(jid)], `pkill -${signal} -j ${jid}`, { okCodes: [1] });
  }
}
