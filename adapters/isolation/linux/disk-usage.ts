/**
 * Storage a unit holds on the host: the allocated blocks (st_blocks × 512,
 * as du(1) counts them) of every file under its root, walked from the host
 * side without following symlinks or crossing into another filesystem, each
 * inode counted once (hard links). The unit's system directories are bound
 * inside its own mount namespace only, so on the host they are empty
 * directories and cost nothing here; its /tmp is a tmpfs counted as memory.
 *
 * A walk costs a stat per file, so a result is reused for `maxAgeMs`
 * (metering samples every second; storage moves slower and a budget on it
 * is checked at this granularity, documented in docs/metering.md).
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

export async function diskUsageBytes(root: string): Promise<number> {
  let top;
  try {
    top = await lstat(root, { bigint: true });
  } catch {
    return 0;
  }
  const dev = top.dev;
  const seen = new Set<bigint>();
  let bytes = Number(top.blocks) * 512;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      continue; // removed while walking, or not a directory any more
    }
    for await (const ent of handle) {
      const p = join(dir, ent.name);
      let st;
      try {
        st = await lstat(p, { bigint: true });
      } catch {
        continue;
      }
      if (st.dev !== dev) continue; // a mount point: another filesystem's bytes
      if (st.nlink > 1n) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      bytes += Number(st.blocks) * 512;
      if (st.isDirectory()) stack.push(p);
    }
  }
  return bytes;
}

/** diskUsageBytes with a per-root cache of `maxAgeMs`. */
export class DiskUsageCache {
  readonly #entries = new Map<string, { at: number; bytes: number }>();
  constructor(private readonly maxAgeMs: number) {}

  async bytes(root: string, now = Date.now()): Promise<number> {
    const hit = this.#entries.get(root);
    if (hit !== undefined && now - hit.at < this.maxAgeMs) return hit.bytes;
    const bytes = await diskUsageBytes(root);
    this.#entries.set(root, { at: now, bytes });
    return bytes;
  }

  forget(root: string): void {
    this.#entries.delete(root);
  }
}
