/**
 * writeFile() inside a unit root, written from the host without ever leaving
 * the root, even when the unit (which owns home/unit) races us with symlinks:
 *
 * - the path is split by the shared unit path rule (bus-schemas/units/unit-path.ts:
 *   relative, `.` and empty segments dropped, `..`, NUL, over-long or too deep
 *   paths refused) before anything is touched;
 * - the walk is descriptor-relative: the root is opened O_DIRECTORY|O_NOFOLLOW
 *   and every component is opened through `/proc/self/fd/<dir>/<component>`
 *   with O_DIRECTORY|O_NOFOLLOW (the magic link pins the directory already
 *   checked, like openat(2)), so a symlink anywhere on the way is refused;
 *   missing directories are created (0755 root, or 0700 for the unit user);
 * - the content goes to a fresh temp file in the final directory
 *   (O_CREAT|O_EXCL|O_NOFOLLOW), fchown/fchmod/fsync, then rename over the
 *   target through the same pinned directory (atomic; an existing symlink or
 *   directory at the target is refused, and one planted during the write is
 *   replaced, never followed) and the directory is fsynced;
 * - read back with lstat: a regular file with the size, mode and owner asked.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { UnitFile } from '../../../bus-schemas/units/port.js';
import { showUnitPath, splitUnitPath } from '../../../bus-schemas/units/unit-path.js';
import { IsolationError, errnoOf } from './isolation-error.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const TMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The unit path rule (bus-schemas/units/unit-path.ts), refused as this adapter's error. */
export function segmentsOrRefuse(unit: string, path: unknown): string[] {
  const r = splitUnitPath(path);
  if (!r.ok) throw new IsolationError('refused', unit, 'writeFile/path', `path ${showUnitPath(path)} ${r.reason}`);
  return r.segments;
}

const viaFd = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

export async function safeWrite(unit: string, rootDir: string, file: UnitFile, owner: { uid: number; gid: number }): Promise<void> {
  const parts = segmentsOrRefuse(unit, file.path);
  if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o777) {
    throw new IsolationError('refused', unit, 'writeFile/mode', `mode must be an integer between 0 and 0o777 (no setuid/setgid/sticky bits), got ${String(file.mode)}`);
  }
  if (file.owner !== 'unit' && file.owner !== 'root') throw new IsolationError('refused', unit, 'writeFile/owner', `owner must be 'unit' or 'root', got ${JSON.stringify(file.owner)}`);
  const content = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
  const { uid, gid } = file.owner === 'unit' ? owner : { uid: 0, gid: 0 };
  const shown = parts.join('/');
  const refuse = (why: string, cause?: unknown): never => {
    throw new IsolationError('refused', unit, 'writeFile/path', `${shown}: ${why}`, { cause });
  };

  const open_: FileHandle[] = [];
  try {
    let dir: FileHandle;
    try {
      dir = await open(rootDir, DIR_FLAGS);
    } catch (e) {
      throw new IsolationError('system', unit, 'writeFile/root', `cannot open the unit root ${rootDir}: ${(e as Error).message}`, { cause: e });
    }
    open_.push(dir);
    for (const [i, part] of parts.slice(0, -1).entries()) {
      const at = viaFd(dir.fd, part);
      let next: FileHandle | undefined;
      try {
        next = await open(at, DIR_FLAGS);
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'ENOENT') {
          await mkdir(at, { mode: file.owner === 'unit' ? 0o700 : 0o755 });
          next = await open(at, DIR_FLAGS);
          await next.chown(uid, gid);
        } else if (code === 'ELOOP' || code === 'ENOTDIR') {
          return refuse(`${parts.slice(0, i + 1).join('/')} is a symlink or not a directory; nothing written`, e);
        } else {
          throw e;
        }
      }
      open_.push(next);
      dir = next;
    }
    const base = parts[parts.length - 1] as string;
    try {
      const existing = await lstat(viaFd(dir.fd, base));
      if (existing.isSymbolicLink()) refuse('is a symlink; nothing written');
      if (existing.isDirectory()) refuse('is a directory; nothing written');
    } catch (e) {
      if (e instanceof IsolationError) throw e;
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
    const tmpName = `.${base.slice(0, 200)}.holon-${randomBytes(6).toString('hex')}`;
    const tmp = await open(viaFd(dir.fd, tmpName), TMP_FLAGS, 0o600);
    try {
      await tmp.writeFile(content);
      await tmp.chown(uid, gid);
      await tmp.chmod(file.mode);
      await tmp.sync();
    } catch (e) {
      await tmp.close();
      await unlink(viaFd(dir.fd, tmpName)).catch(() => undefined);
      throw e;
    }
    await tmp.close();
    try {
      await rename(viaFd(dir.fd, tmpName), viaFd(dir.fd, base));
    } catch (e) {
      await unlink(viaFd(dir.fd, tmpName)).catch(() => undefined);
      if (errnoOf(e) === 'EISDIR' || errnoOf(e) === 'ENOTEMPTY') refuse('is a directory; nothing written', e);
      throw e;
    }
    await dir.sync();
    const st = await lstat(viaFd(dir.fd, base));
    if (!st.isFile() || st.size !== content.length || (st.mode & 0o777) !== file.mode || st.uid !== uid || st.gid !== gid) {
      throw new IsolationError('state', unit, 'writeFile/verify', `${shown} does not read back as a ${content.length}-byte file, mode ${file.mode.toString(8)}, owner ${uid}:${gid}`);
    }
  } catch (e) {
    if (e instanceof IsolationError) throw e;
    throw new IsolationError('system', unit, 'writeFile/write', `${shown}: ${(e as Error).message}`, { cause: e });
  } finally {
    for (const h of open_.reverse()) await h.close().catch(() => undefined);
  }
}
