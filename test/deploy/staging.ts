/**
 * Helpers for the deploy tests: run deploy/install.sh into a temporary
 * staging root, and describe a tree precisely enough to prove that a second
 * run changed nothing (mode, owner, size, content hash, mtime, link target).
 *
 * The tests run from dist/test/deploy/, but install.sh, the service files and
 * the NATS samples are read from the source tree; the code it copies is the
 * dist/ that `npm run build` produced before the tests.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/deploy/staging.js). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const INSTALL_SH = join(REPO, 'deploy', 'install.sh');

export interface Layout {
  code: string;
  etc: string;
  data: string;
  bin: string;
}

export const LAYOUTS: Record<'linux' | 'freebsd', Layout> = {
  linux: { code: '/opt/holonet', etc: '/etc/holonet', data: '/var/lib/holonet', bin: '/usr/local/bin' },
  freebsd: {
    code: '/usr/local/libexec/holonet',
    etc: '/usr/local/etc/holonet',
    data: '/var/db/holonet',
    bin: '/usr/local/bin',
  },
};

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `sh deploy/install.sh ARGS` and capture everything (60 s cap). */
export function runInstall(args: string[], env: NodeJS.ProcessEnv = process.env): RunResult {
  const r = spawnSync('sh', [INSTALL_SH, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary directory; removed by the returned function. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Permission bits (and setuid/setgid/sticky) of a path, without following links. */
export function modeOf(path: string): number {
  return lstatSync(path).mode & 0o7777;
}

/** `0o750` → `'0750'`, for readable assertion messages. */
export function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}

/**
 * Describe every entry below `root` (paths relative to it), skipping the
 * subtrees in `exclude`. Files: mode, owner, size, sha256, mtime; links: the
 * target; directories: mode and owner (their mtime moves whenever an excluded
 * child is swapped, so it is not part of the description).
 */
export function describeTree(root: string, exclude: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    if (exclude.some((e) => rel === e || rel.startsWith(`${e}/`))) return;
    const abs = join(root, rel);
    const st = lstatSync(abs);
    const who = `${octal(st.mode & 0o7777)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) {
      out.set(rel, `link -> ${readlinkSync(abs)}`);
    } else if (st.isDirectory()) {
      out.set(rel, `dir ${who}`);
      for (const name of readdirSync(abs).sort()) walk(rel === '' ? name : `${rel}/${name}`);
    } else {
      const hash = createHash('sha256').update(readFileSync(abs)).digest('hex');
      out.set(rel, `file ${who} ${st.size} ${hash} mtime=${st.mtimeMs}`);
    }
  };
  walk('');
  return out;
}

/** The differences between two tree descriptions, as readable lines. */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [k, v] of before) {
    const w = after.get(k);
    if (w === undefined) lines.push(`removed ${k} (${v})`);
    else if (w !== v) lines.push(`changed ${k}: ${v} => ${w}`);
  }
  for (const [k, v] of after) if (!before.has(k)) lines.push(`added ${k} (${v})`);
  return lines;
}

/** Path of an executable on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}
