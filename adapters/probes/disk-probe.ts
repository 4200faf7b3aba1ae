/**
 * disks: bytes available to units on the filesystem holding the data
 * directory. `si.fsSize()` (df -kPT; on FreeBSD ZFS datasets are corrected
 * from `zfs list`, since df undercounts a dataset whose data lives in its
 * children), then the mount that contains the data directory — the longest
 * matching mount point on the same device (`stat().dev`) as the directory,
 * the later of two equal ones (the one mounted on top). A data directory
 * that does not exist yet is measured where it will be created: at its
 * nearest existing ancestor; symlinks are resolved first.
 *
 * systeminformation leaves some filesystems out (tmpfs, squashfs, devtmpfs
 * …); "/" would then wrongly seem to hold the directory. The device check
 * catches that, and the space is read with statfs(2) instead, with a warning.
 */
import { dirname } from 'node:path';
import type { SiFsSize } from './host-source.js';
import type { Probe, ProbeContext } from './probe.js';
import { ProbeError } from './probe-error.js';

function contains(mount: string, path: string): boolean {
  return mount === '/' || path === mount || path.startsWith(`${mount}/`);
}

/** The rows whose mount point holds `path` (already canonical), best first: longest mount, later row on a tie. */
export function mountsHolding(rows: readonly SiFsSize[], path: string): SiFsSize[] {
  return rows
    .map((row, i) => ({ row, i }))
    .filter(({ row }) => contains(row.mount, path))
    .sort((a, b) => b.row.mount.length - a.row.mount.length || b.i - a.i)
    .map(({ row }) => row);
}

/** The row whose mount point holds `path`, ignoring devices (see the device check in the probe). */
export function pickMount(rows: readonly SiFsSize[], path: string): SiFsSize | undefined {
  return mountsHolding(rows, path)[0];
}

async function canonicalDataDir(ctx: ProbeContext): Promise<string> {
  let dir = ctx.config.dataDir;
  for (;;) {
    const real = await ctx.source.realpath(dir);
    if (real !== undefined) return real;
    const parent = dirname(dir);
    if (parent === dir) throw new ProbeError('failed', 'disks', `no part of ${ctx.config.dataDir} exists`);
    dir = parent;
  }
}

export const diskProbe: Probe = {
  name: 'disks',
  essential: false,
  defaults: { storage_bytes: 0 },
  async run(ctx) {
    const [path, rows] = await Promise.all([canonicalDataDir(ctx), ctx.source.fsSize()]);
    const device = await ctx.source.deviceOf(path);
    for (const row of mountsHolding(rows, path)) {
      if (device !== undefined && (await ctx.source.deviceOf(row.mount)) !== device) continue;
      return { storage_bytes: Math.max(0, Math.floor(row.available)), data_mount: row.mount };
    }
    ctx.warn(`the filesystem holding ${path} is not listed by df (systeminformation skips tmpfs, squashfs …); measured with statfs`);
    return { storage_bytes: Math.max(0, Math.floor(await ctx.source.statfsAvailable(path))) };
  },
};
