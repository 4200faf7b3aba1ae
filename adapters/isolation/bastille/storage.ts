/**
 * The bytes a jail holds on the host's storage, where Bastille put it
 * (create.sh `create_jail`, BastilleBSD/bastille 1.4.4):
 *
 * - ZFS (bastille.conf `bastille_zfs_enable` with a `bastille_zfs_zpool`):
 *   the dataset `<zpool>/<zfs_prefix>/jails/<NAME>` with the thin jail's root as
 *   its child `…/root`; `zfs get -Hp -o value used` of the parent counts both
 *   (used includes descendants and snapshots), exact bytes with -p;
 * - otherwise a plain directory `<jailsdir>/<NAME>`: a du-like walk that counts
 *   allocated blocks (st_blocks × 512) once per inode, does not follow symlinks,
 *   and stays on the directory's file system and out of every mount point below
 *   it (the thin jail's read-only `root/.bastille` nullfs of the release and its
 *   devfs would otherwise count the release or fail).
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { parseZfsBytes } from './parse.js';

/** A file removed while the walk runs is simply not counted. */
function gone(e: unknown): undefined {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
  throw e;
}

/** Allocated bytes below `dir` on its own file system, each inode once, not entering `skip` (mount points). */
export async function treeBytes(dir: string, skip: ReadonlySet<string>): Promise<number> {
  const top = await lstat(dir);
  const seen = new Set<string>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    const st = path === dir ? top : await lstat(path).catch(gone);
    if (st === undefined || st.dev !== top.dev || (path !== dir && skip.has(path))) return;
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && !st.isDirectory()) {
      if (seen.has(key)) return;
      seen.add(key);
    }
    total += st.blocks * 512;
    if (!st.isDirectory()) return;
    for (const name of (await readdir(path).catch(gone)) ?? []) await walk(join(path, name));
  };
  await walk(dir);
  return total;
}

export class Storage {
  constructor(
    private readonly tool: Tool,
    private readonly jailsDir: string,
    private readonly zfs: { pool: string; prefix: string } | undefined,
  ) {}

  /** The jail's ZFS dataset, or undefined on a plain file system. */
  dataset(jail: string): string | undefined {
    return this.zfs === undefined ? undefined : `${this.zfs.pool}/${this.zfs.prefix}/jails/${jail}`;
  }

  /** Bytes the jail holds: ZFS `used` of its dataset, or the walk of its directory skipping the given mount points. */
  async bytes(jail: string, mountPoints: () => Promise<string[]>): Promise<number> {
    const ds = this.dataset(jail);
    if (ds !== undefined) {
      const r = await this.tool('zfs', ['get', '-Hp', '-o', 'value', 'used', ds], `zfs get used ${ds}`);
      return parseZfsBytes(r.stdout, ds);
    }
    return treeBytes(join(this.jailsDir, jail), new Set(await mountPoints()));
  }

  /** Whether the jail's dataset still exists (false on a plain file system). */
  async datasetExists(jail: string): Promise<boolean> {
    const ds = this.dataset(jail);
    if (ds === undefined) return false;
    const r = await this.tool('zfs', ['get', '-H', '-o', 'value', 'name', ds], `zfs get name ${ds}`, { okCodes: [1] });
    if (r.exitCode === 0) return true;
    if (/dataset does not exist/.test(r.stderr)) return false;
    throw new BastilleError('command', `zfs get name ${ds}`, 'failed', { exitCode: r.exitCode, stderr: r.stderr });
  }
}
