/**
 * A jail's life cycle through Bastille 1.4, each step re-checked against the
 * system (BastilleBSD/bastille 1.4.4, usr/local/share/bastille):
 *
 * - create.sh starts the new jail itself and, when it does not come up, runs
 *   `bastille destroy -afy NAME` and exits 1 ("[ERROR]: Failed to create
 *   jail"): a command failure, the jail gone;
 * - start.sh exits 0 when `jail -c` fails (the loop ends with `sleep`), stop.sh
 *   and start.sh exit 0 on a jail already stopped/running, destroy.sh exits 0
 *   when it refuses (error_continue): after each call the adapter reads jls,
 *   the jail directory, and what is mounted;
 * - Bastille's jail.conf has no `persist`: jail(8) removes such a jail with its
 *   last process and runs none of its stop sequence (leftovers.ts). Every unit
 *   jail is made persistent (`bastille config NAME set persist`, then a
 *   restart when the running jail is not), so killing its processes leaves a
 *   jail that `bastille stop` (`jail -r`) tears down properly.
 *
 * Also the jail's processes (pgrep/ps) and signals to all of them (pkill),
 * which freeze, thaw, kill and destroy use. Every method takes the jail's
 * name (names.ts), never the unit's.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { Leftovers } from './leftovers.js';
import { jailConfPersists, parseJlsJson, parsePsStates, type JlsJail } from './parse.js';

export class Jails {
  readonly leftovers: Leftovers;

  constructor(
    private readonly tool: Tool,
    /** `<prefix>/jails` */
    readonly dir: string,
  ) {
    this.leftovers = new Leftovers(tool, dir);
  }

  /** Every running jail (`jls --libxo json`). */
  async jls(): Promise<JlsJail[]> {
    const r = await this.tool('jls', ['--libxo', 'json', 'jid', 'name', 'path', 'persist'], 'jls');
    return parseJlsJson(r.stdout);
  }

  async running(jail: string): Promise<JlsJail | undefined> {
    return (await this.jls()).find((j) => j.name === jail);
  }

  async requireRunning(jail: string, what: string): Promise<JlsJail> {
    const j = await this.running(jail);
    if (j === undefined) throw new BastilleError('state', what, `jail ${jail} is not running (jls does not list it)`);
    return j;
  }

  /** Bastille's own notion of "exists": the jail directory with its jail.conf (bastille list jails). */
  exists(jail: string): boolean {
    return existsSync(join(this.dir, jail, 'jail.conf'));
  }

  /** A file of the jail as the host sees it (`jail.conf`, `root/etc/passwd` …); '' when it cannot be read. */
  readFile(jail: string, ...parts: string[]): string {
    try {
      return readFileSync(join(this.dir, jail, ...parts), 'utf8');
    } catch {
      return '';
    }
  }

  /** The canonical path of the jail's root on the host. */
  root(jail: string): string {
    return realpathSync(join(this.dir, jail, 'root'));
  }

  /** `bastille create …`: exit 1 (the jail did not start and Bastille removed it) is the command failure; afterwards jail.conf must exist. */
  async create(jail: string, args: string[]): Promise<void> {
    const r = await this.tool('bastille', args, `bastille create ${jail}`);
    if (!this.exists(jail)) {
      throw new BastilleError('state', `bastille create ${jail}`, `exited 0 but ${join(this.dir, jail, 'jail.conf')} does not exist`, { exitCode: r.exitCode, stderr: r.stderr });
    }
  }

  /**
   * The jail running and persistent: `persist` put into its jail.conf (`bastille config NAME set persist`) and in effect in
   * the kernel (a running jail without it is restarted); leftovers of a jail that vanished are released before `bastille
   * start`. Afterwards jls must list it with persist=true.
   */
  async ensureRunning(jail: string, link: string | undefined): Promise<JlsJail> {
    if (!jailConfPersists(this.readFile(jail, 'jail.conf'))) {
      const r = await this.tool('bastille', ['config', jail, 'set', 'persist'], `bastille config ${jail} set persist`);
      if (!jailConfPersists(this.readFile(jail, 'jail.conf'))) {
        throw new BastilleError('state', `bastille config ${jail} set persist`, 'exited 0 but jail.conf has no persist line', { exitCode: r.exitCode, stderr: r.stderr });
      }
    }
    const now = await this.running(jail);
    if (now?.persist === true) return now;
    // Running without persist: `bastille restart` = stop (jail -r, its whole stop sequence) and start with persist.
    // Not running: whatever a vanished jail left is released first (jib could not name a new epair e0a_X).
    if (now === undefined) await this.leftovers.release(jail, link);
    const cmd = now === undefined ? 'start' : 'restart';
    const r = await this.tool('bastille', [cmd, jail], `bastille ${cmd} ${jail}`);
    const after = await this.running(jail);
    if (after === undefined) {
      throw new BastilleError('state', `bastille ${cmd} ${jail}`, 'exited 0 but jls does not list the jail: it did not start (see the jail console log under /var/log/bastille)', {
        exitCode: r.exitCode,
        stderr: r.stderr,
      });
    }
    if (!after.persist) throw new BastilleError('state', `bastille ${cmd} ${jail}`, 'the jail runs without persist: it would vanish with its last process and leave its mounts');
    return after;
  }

  /**
   * Stop the jail and check that nothing of it is left: SIGKILL to every process of a persistent jail (stopped ones too, so
   * rc.shutdown has nothing to wait for), `bastille stop` (`jail -r`: exec.poststop destroys the epair, the fstab and devfs mounts go);
   * afterwards jls must not list it, and mounts below its root and its host link must be gone — released here when the
   * jail had vanished without `jail -r`.
   */
  async teardown(jail: string, link: string | undefined, current?: JlsJail): Promise<void> {
    const j = current ?? (await this.running(jail));
    if (j !== undefined) {
      // Killing every process of a jail without persist would remove it on the spot and skip its stop sequence.
      if (j.persist) await this.signal(j.jid, 'KILL');
      const r = await this.tool('bastille', ['stop', jail], `bastille stop ${jail}`);
      if ((await this.running(jail)) !== undefined) {
        throw new BastilleError('state', `bastille stop ${jail}`, 'exited 0 but jls still lists the jail', { exitCode: r.exitCode, stderr: r.stderr });
      }
    }
    await this.leftovers.release(jail, link);
  }

  /**
   * `bastille destroy -a -y` of an existing, torn-down jail; afterwards neither its directory nor a jls entry may be left.
   * Call it only for a jail that exists: Bastille's target resolution autocompletes a prefix ("ab" → "abc").
   */
  async destroy(jail: string): Promise<void> {
    const r = await this.tool('bastille', ['destroy', '-a', '-y', jail], `bastille destroy ${jail}`);
    if (this.exists(jail) || (await this.running(jail)) !== undefined) {
      throw new BastilleError('state', `bastille destroy ${jail}`, 'exited 0 but the jail is still there (jls or its directory)', { exitCode: r.exitCode, stderr: r.stderr });
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

  async signal(jid: number, signal: 'STOP' | 'CONT' | 'TERM' | 'KILL'): Promise<void> {
    // pkill: 0 = some matched, 1 = none matched; both fine.
    await this.tool('pkill', [`-${signal}`, '-j', String(jid)], `pkill -${signal} -j ${jid}`, { okCodes: [1] });
  }
}
