/**
 * writeFile() for jails: written directly under the jail root on the host,
 * contained by checks rather than by `bastille cp` (which runs `cp -a` to a
 * path built by string concatenation and would follow a symlink planted by
 * the jail out of its root).
 *
 * - the path is split by the shared unit path rule (bus-schemas/units/unit-path.ts:
 *   relative, no `..`, no NUL, bounded length and depth);
 * - every existing parent component is lstat'ed: a symlink or a non-directory
 *   refuses the write; missing parents are created 0755 root-owned;
 * - the file is written to a fresh temp file in the final directory
 *   (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), chowned, chmoded, fsynced and renamed
 *   over the target (atomic; a symlink at the target is replaced, not followed);
 * - the parent is re-resolved after the rename: if it no longer resolves inside
 *   the root (a component was swapped during the write) the file is removed and
 *   the write refused.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, sep } from 'node:path';
import { showUnitPath, splitUnitPath } from '../../../bus-schemas/units/unit-path.js';
import { BastilleError } from './bastille-error.js';

/** The unit path rule (bus-schemas/units/unit-path.ts), refused as this adapter's error. */
export function segmentsOrRefuse(unit: string, path: unknown): string[] {
  const r = splitUnitPath(path);
  if (!r.ok) throw new BastilleError('refused', `writeFile ${unit}`, `path ${showUnitPath(path)} ${r.reason}`);
  return r.segments;
}

export interface SafeWriteArgs {
  unit: string;
  /** canonical absolute jail root */
  root: string;
  parts: string[];
  content: Uint8Array | string;
  mode: number;
  uid: number;
  gid: number;
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root + sep);
}

export function writeContained(a: SafeWriteArgs): void {
  const cmd = `writeFile ${a.unit}`;
  let dir = a.root;
  for (const part of a.parts.slice(0, -1)) {
    const next = join(dir, part);
    let st;
    try {
      st = lstatSync(next);
    } catch {
      st = undefined;
    }
    if (st === undefined) {
      mkdirSync(next, { mode: 0o755 });
    } else if (st.isSymbolicLink()) {
      throw new BastilleError('refused', cmd, `${next.slice(a.root.length)} is a symlink; refusing to follow it`);
    } else if (!st.isDirectory()) {
      throw new BastilleError('refused', cmd, `${next.slice(a.root.length)} is not a directory`);
    }
    dir = next;
  }
  const base = a.parts[a.parts.length - 1] as string;
  const target = join(dir, base);
  try {
    const st = lstatSync(target);
    if (st.isDirectory()) throw new BastilleError('refused', cmd, `${target.slice(a.root.length)} is a directory`);
  } catch (e) {
    if (e instanceof BastilleError) throw e;
  }
  const tmp = join(dir, `.${base.slice(0, 200)}.holonet-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const bytes = typeof a.content === 'string' ? Buffer.from(a.content, 'utf8') : a.content;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fchownSync(fd, a.uid, a.gid);
    fchmodSync(fd, a.mode & 0o7777);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw new BastilleError('state', cmd, `writing ${tmp.slice(a.root.length)} failed: ${(e as Error).message}`, { cause: e });
  }
  closeSync(fd);
  renameSync(tmp, target);
  const resolved = realpathSync(dir);
  if (resolved !== dir || !within(a.root, resolved)) {
    try {
      unlinkSync(target);
    } catch {
      // best effort
    }
    throw new BastilleError('refused', cmd, `the parent of ${a.parts.join('/')} moved out of the root during the write`);
  }
}
