/**
 * The unit's private root, `${unitDir}/root` (root:root 0755), prepared from
 * Node (create-if-absent, safe to repeat), and the fstab the unit init mounts
 * inside its own mount namespace before it pivots into the root:
 *
 *   root/                bind-mounted onto itself (pivot_root needs a mount point)
 *   usr bin sbin lib lib64   read-only, nosuid, nodev binds of the host's — or the
 *                        host's symlinks (`bin -> usr/bin`) on merged-/usr hosts
 *   etc/                 a minimal /etc written here: passwd, group, hosts, hostname, nsswitch.conf
 *   proc/                a proc of the unit's pid namespace
 *   tmp/                 a tmpfs (mode 1777, size = the memory limit; pages count against the unit's memory)
 *   dev/                 null zero full random urandom bound from the host, fd/stdin/stdout/stderr symlinks
 *   home/unit/           the unit user's home, uid:gid 0700 (a plain directory of the bind-mounted root)
 *
 * The agent's data dir and the other units' roots are outside this tree and
 * the old root is detached after pivot_root, so nothing else is reachable.
 */
import { lstat, mkdir, readlink, symlink, chmod, chown, writeFile, open } from 'node:fs/promises';
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf } from './isolation-error.js';

export const HOME = '/home/unit';
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom'] as const;
const DEV_LINKS: Record<string, string> = { fd: '/proc/self/fd', stdin: '/proc/self/fd/0', stdout: '/proc/self/fd/1', stderr: '/proc/self/fd/2' };

/** How the host's top-level system directories are mirrored: bind a directory, or copy a symlink. */
export type SystemDirs = { name: string; kind: 'bind' } | { name: string; kind: 'symlink'; target: string };

export function probeSystemDirs(): SystemDirs[] {
  const out: SystemDirs[] = [];
  for (const name of ['usr', 'bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32']) {
    try {
      const st = lstatSync(`/${name}`);
      if (st.isSymbolicLink()) out.push({ name, kind: 'symlink', target: readlinkSync(`/${name}`) });
      else if (st.isDirectory()) out.push({ name, kind: 'bind' });
    } catch {
      // absent on this host
    }
  }
  return out;
}

async function ensureSymlink(target: string, path: string): Promise<void> {
  try {
    await symlink(target, path);
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw e;
    const st = await lstat(path);
    if (!st.isSymbolicLink() || (await readlink(path)) !== target) throw new Error(`${path} exists and is not a symlink to ${target}`);
  }
}

async function dirAt(path: string, mode: number, uid = 0, gid = 0): Promise<void> {
  try {
    await mkdir(path, { mode });
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw e;
  }
  const st = await lstat(path);
  if (!st.isDirectory()) throw new Error(`${path} exists and is not a directory`);
  await chown(path, uid, gid);
  await chmod(path, mode);
}

export interface RootSpec {
  name: string;
  rootDir: string;
  uid: number;
  gid: number;
  systemDirs: SystemDirs[];
}

export async function prepareRoot(spec: RootSpec): Promise<void> {
  const r = spec.rootDir;
  await dirAt(r, 0o755);
  for (const d of spec.systemDirs) {
    if (d.kind === 'symlink') await ensureSymlink(d.target, join(r, d.name));
    else await dirAt(join(r, d.name), 0o755);
  }
  for (const d of ['etc', 'proc', 'dev', 'home']) await dirAt(join(r, d), 0o755);
  await dirAt(join(r, 'tmp'), 0o1777);
  await dirAt(join(r, 'home', 'unit'), 0o700, spec.uid, spec.gid);
  for (const dev of DEVICES) {
    const f = await open(join(r, 'dev', dev), 'a', 0o644);
    await f.close();
  }
  for (const [link, target] of Object.entries(DEV_LINKS)) await ensureSymlink(target, join(r, 'dev', link));
  const etc: Record<string, string> = {
    passwd: `root:x:0:0:root:/root:/bin/sh\nunit:x:${spec.uid}:${spec.gid}:holon unit:${HOME}:/bin/sh\n`,
    group: `root:x:0:\nunit:x:${spec.gid}:\n`,
    hosts: `127.0.0.1\tlocalhost\n127.0.1.1\t${spec.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    hostname: `${spec.name}\n`,
    'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files\n',
  };
  for (const [file, content] of Object.entries(etc)) await writeFile(join(r, 'etc', file), content, { mode: 0o644 });
}

/** The fstab the unit init mounts with `mount --fstab <file> -a` (paths are validated to need no escaping). */
export function unitFstab(rootDir: string, systemDirs: SystemDirs[], tmpBytes: number): string {
  const lines = [`${rootDir} ${rootDir} none bind 0 0`];
  for (const d of systemDirs) if (d.kind === 'bind') lines.push(`/${d.name} ${rootDir}/${d.name} none bind,ro,nosuid,nodev 0 0`);
  lines.push(`proc ${rootDir}/proc proc nosuid,nodev,noexec 0 0`);
  lines.push(`tmpfs ${rootDir}/tmp tmpfs nosuid,nodev,mode=1777,size=${tmpBytes} 0 0`);
  for (const dev of DEVICES) lines.push(`/dev/${dev} ${rootDir}/dev/${dev} none bind,nosuid 0 0`);
  return `${lines.join('\n')}\n`;
}
