/**
 * The default secret store: a directory on the host.
 *
 *   <root>/                 0700 (never group/world-writable), owned by us or root
 *   <root>/<tenant>/        the bucket: a real directory (no symlink), not group/world-writable
 *   <root>/<tenant>/.env    a regular file, mode 0600/0400, one link, at most maxBytes, parseDotEnv grammar
 *
 * No bucket directory → undefined (the caller writes no `.env`). Everything
 * else that is not exactly this shape is a SecretStoreError: the store fails
 * closed. The tenant id is one validated DNS label, so `<root>/<tenant>` is
 * inside root by construction; the checks below keep it so against symlinks
 * and against a bucket swapped while it is being read (the `.env` is opened
 * with O_NOFOLLOW, then the bucket and the file are re-checked to be the same
 * inodes, and the opened file's real path must be `<realroot>/<tenant>/.env`).
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import type { SecretStore, TenantSecrets } from '../../bus-schemas/units/secret-port.js';
import { DotEnvError, parseDotEnv } from './dotenv.js';
import { SecretStoreError, type SecretStoreReason } from './secret-store-error.js';
import { checkTenant } from './tenant.js';

export interface DirectorySecretStoreOptions {
  /** Absolute path of the directory holding one bucket directory per tenant. */
  root: string;
  /** Largest `.env` accepted, in bytes (default 65536, at most 16 MiB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_DOTENV_BYTES = 64 * 1024;
const MAX_MAX_BYTES = 16 * 1024 * 1024;

/** The file inside a bucket that holds the tenant's variables. */
export const BUCKET_FILE = '.env';

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

function modeOf(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

function sameInode(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Validate the options once; a bad value throws SecretStoreError('config') naming the option. */
function checkOptions(options: DirectorySecretStoreOptions): { root: string; maxBytes: number } {
  const bad = (detail: string): never => {
    throw new SecretStoreError('directory', 'config', detail);
  };
  if (typeof options !== 'object' || options === null) return bad('options must be an object { root }');
  const { root, maxBytes = DEFAULT_MAX_DOTENV_BYTES } = options;
  if (typeof root !== 'string' || root === '') return bad('option root: expected an absolute directory path');
  if (root.includes('\0')) return bad('option root: contains a NUL byte');
  if (!isAbsolute(root)) return bad(`option root: ${JSON.stringify(root)} is not an absolute path`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_MAX_BYTES) {
    return bad(`option maxBytes: expected an integer from 1 to ${MAX_MAX_BYTES}, got ${String(maxBytes)}`);
  }
  return { root, maxBytes };
}

/** Create the directory store. Nothing is read until resolve(). */
export function createDirectorySecretStore(options: DirectorySecretStoreOptions): SecretStore {
  const { root, maxBytes } = checkOptions(options);
  const me = process.geteuid?.() ?? 0;

  async function resolve(tenantAsked: string): Promise<TenantSecrets | undefined> {
    const tenant = checkTenant(tenantAsked, 'directory');
    const refuse = (reason: SecretStoreReason, detail: string, cause?: unknown): never => {
      throw new SecretStoreError('directory', reason, detail, { tenant, cause });
    };
    const checkOwner = (st: Stats, what: string): void => {
      if (st.uid !== me && st.uid !== 0) refuse('permissions', `${what} is owned by uid ${st.uid}; it must be owned by uid ${me} or root`);
    };

    // The root: must exist (a missing root is a misconfiguration, not "no bucket").
    let realRoot: string;
    try {
      realRoot = await realpath(root);
    } catch (e) {
      return refuse('config', `root ${root} cannot be resolved (${errnoOf(e) ?? 'error'}); create it with mode 0700`, e);
    }
    const rootSt = await lstat(realRoot).catch((e: unknown) => refuse('unreadable', `root ${realRoot}: ${errnoOf(e) ?? 'lstat failed'}`, e));
    if (!rootSt.isDirectory()) return refuse('config', `root ${realRoot} is not a directory`);
    checkOwner(rootSt, `root ${realRoot}`);
    if ((rootSt.mode & 0o022) !== 0) {
      return refuse('permissions', `root ${realRoot} has mode ${modeOf(rootSt)}: group/world-writable roots are refused (chmod 700)`);
    }

    // The bucket: absent → no-op; otherwise a real directory inside root.
    const bucket = join(realRoot, tenant);
    let b1: Stats;
    try {
      b1 = await lstat(bucket);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      return refuse('unreadable', `bucket ${bucket}: ${errnoOf(e) ?? 'lstat failed'}`, e);
    }
    if (b1.isSymbolicLink()) {
      const target = await realpath(bucket).catch(() => undefined);
      if (target === undefined || !isInside(realRoot, target)) {
        return refuse('escape', `bucket ${bucket} is a symlink pointing outside the root ${realRoot}`);
      }
      return refuse('symlink', `bucket ${bucket} is a symlink; a bucket must be a real directory`);
    }
    if (!b1.isDirectory()) return refuse('file-type', `bucket ${bucket} is not a directory`);
    checkOwner(b1, `bucket ${bucket}`);
    if ((b1.mode & 0o022) !== 0) {
      return refuse('permissions', `bucket ${bucket} has mode ${modeOf(b1)}: group/world-writable buckets are refused (chmod 700)`);
    }

    // The file: opened without following a final symlink and without blocking on a FIFO.
    const envPath = join(bucket, BUCKET_FILE);
    let fh: FileHandle;
    try {
      fh = await open(envPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ELOOP' || code === 'EMLINK') return refuse('symlink', `${envPath} is a symlink; it must be a regular file`, e);
      if (code === 'ENOENT') return refuse('malformed', `bucket ${bucket} exists but has no ${BUCKET_FILE}`, e);
      if (code === 'ENXIO' || code === 'EOPNOTSUPP') return refuse('file-type', `${envPath} is not a regular file`, e);
      return refuse('unreadable', `${envPath}: ${code ?? 'open failed'}`, e);
    }
    let bytes: Buffer;
    try {
      const st = await fh.stat();
      if (!st.isFile()) return refuse('file-type', `${envPath} is not a regular file`);
      if (st.nlink !== 1) return refuse('file-type', `${envPath} has ${st.nlink} hard links; it must have exactly one`);
      checkOwner(st, envPath);
      if ((st.mode & 0o077) !== 0) {
        return refuse('permissions', `${envPath} has mode ${modeOf(st)}: a secret file must be 0600 or 0400 (chmod 600)`);
      }
      if (st.size > maxBytes) return refuse('oversize', `${envPath} is ${st.size} bytes; the limit is ${maxBytes}`);

      // Re-check: the bucket is still the directory we checked, and the path still names the opened file.
      const b2 = await lstat(bucket).catch((e: unknown) => refuse('escape', `bucket ${bucket} changed while being read`, e));
      if (b2.isSymbolicLink() || !b2.isDirectory() || !sameInode(b1, b2)) {
        return refuse('escape', `bucket ${bucket} changed while being read`);
      }
      const e2 = await lstat(envPath).catch((e: unknown) => refuse('escape', `${envPath} changed while being read`, e));
      if (!sameInode(st, e2)) return refuse('escape', `${envPath} changed while being read`);
      const real = await realpath(envPath).catch((e: unknown) => refuse('escape', `${envPath} cannot be resolved`, e));
      if (real !== join(realRoot, tenant, BUCKET_FILE)) return refuse('escape', `${envPath} resolves outside its bucket`);

      // Read at most maxBytes + 1: a file that grew after fstat is still caught.
      const buf = Buffer.alloc(maxBytes + 1);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got > maxBytes) return refuse('oversize', `${envPath} is larger than the limit of ${maxBytes} bytes`);
      }
      bytes = buf.subarray(0, got);
    } finally {
      await fh.close();
    }

    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (e) {
      return refuse('malformed', `${envPath} is not valid UTF-8`, e);
    }
    try {
      return { tenant, vars: parseDotEnv(text) };
    } catch (e) {
      if (e instanceof DotEnvError) return refuse('malformed', `${envPath}: ${e.message.replace(/^\.env /, '')}`, e);
      throw e;
    }
  }

  return { kind: 'directory', resolve };
}
