/**
 * What a jail leaves on the host when it disappears without `jail -r`.
 *
 * jail(8) (usr.sbin/jail/jail.8, `persist`): without `persist` a jail "is
 * destroyed as its last process exits" — and then nothing of its stop
 * sequence runs: jail.c (sobomax/freebsd14_vendor 3f5fdd6c, the JF_STOP case)
 * warns `"NAME" not found` and skips every exec.poststop and unmount for a jail
 * that is no longer running. A Bastille jail keeps its fstab nullfs mounts
 * (the thin jail's read-only `root/.bastille`), its devfs on `root/dev` and the
 * host side of its epair (`exec.poststop += "ifconfig e0a_X destroy"` never
 * runs). `bastille stop` says "Jail is already stopped." (stop.sh,
 * error_continue) and `bastille destroy` refuses "Jail has mounted
 * filesystems" through error_continue, exit 0 (destroy.sh destroy_jail).
 *
 * The adapter makes its jails persistent, so this happens only to jails made
 * before that or stopped behind its back; for those it does what `jail -r`
 * would have done: unmount what is mounted strictly below the jail's root
 * (deepest first, `umount -f`), destroy the host link, and check both again.
 * The jail's own datasets (`…/jails/X`, `…/jails/X/root` on ZFS) are mounted
 * at or above the root and are left to `bastille destroy`.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { parseIfconfigList, parseMountPoints } from './parse.js';

export class Leftovers {
  constructor(
    private readonly tool: Tool,
    /** `<prefix>/jails` */
    private readonly jailsDir: string,
  ) {}

  /** Every mount point on the host (`mount -p`). */
  async mountPoints(): Promise<string[]> {
    return parseMountPoints((await this.tool('mount', ['-p'], 'mount -p')).stdout);
  }

  /** Mount points strictly below the jail's root (as Bastille's destroy.sh checks: `grep ${jail}/root/`), deepest first. */
  async mountsUnder(jail: string): Promise<string[]> {
    const plain = join(this.jailsDir, jail, 'root');
    let real = plain;
    try {
      real = realpathSync(plain);
    } catch {
      // gone already
    }
    const below = (p: string): boolean => p.startsWith(`${plain}/`) || p.startsWith(`${real}/`);
    return (await this.mountPoints()).filter(below).sort((a, b) => b.length - a.length);
  }

  async interfaces(): Promise<string[]> {
    return parseIfconfigList((await this.tool('ifconfig', ['-l'], 'ifconfig -l')).stdout);
  }

  /** What is left of a jail that jls no longer lists: mounts below its root and its host link. */
  async find(jail: string, link: string | undefined): Promise<{ mounts: string[]; link: string | undefined }> {
    const mounts = await this.mountsUnder(jail);
    const present = link !== undefined && (await this.interfaces()).includes(link) ? link : undefined;
    return { mounts, link: present };
  }

  /** Remove what a vanished jail left (call only when jls does not list it), then check that nothing is left. */
  async release(jail: string, link: string | undefined): Promise<void> {
    const found = await this.find(jail, link);
    if (found.mounts.length === 0 && found.link === undefined) return;
    for (const m of found.mounts) await this.tool('umount', ['-f', m], `umount -f ${m}`);
    if (found.link !== undefined) await this.tool('ifconfig', [found.link, 'destroy'], `ifconfig ${found.link} destroy`);
    const after = await this.find(jail, link);
    if (after.mounts.length > 0 || after.link !== undefined) {
      const what = [...after.mounts, ...(after.link === undefined ? [] : [after.link])].join(', ');
      throw new BastilleError('state', `teardown ${jail}`, `still left after unmounting and destroying the link: ${what}`);
    }
  }
}
