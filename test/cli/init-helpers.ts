/**
 * Running the real `holonctl init` (dist/cli/main.js) in a temp dir, and
 * snapshots of a data directory to prove a refusal changed nothing. HOME is
 * never the real one: init's default principal dir is below it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../../bus-schemas/keys.js';

export const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real holonctl with exactly these arguments; `env` is added to this process's environment. */
export function holonctlExact(args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env }, ...(cwd !== undefined ? { cwd } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The real holonctl. `init --dir D` without --principal-dir gets
 * `--principal-dir D`: the tests' cells keep the principal key in their data
 * dir (holonctl up's layout), never in this user's ~/.config/holonet.
 */
export function holonctl(args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): CliResult {
  const dir = args.indexOf('--dir');
  const oneDir = args[0] === 'init' && dir >= 0 && !args.includes('--principal-dir') ? ['--principal-dir', args[dir + 1] ?? ''] : [];
  return holonctlExact([...args, ...oneDir], cwd, env);
}

/** Files (not dirs) under `dir`, counting temp files; 0 if it does not exist. */
export function countFiles(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  } catch {
    return 0;
  }
}

/** Start `holonctl init` and SIGKILL it as soon as `files` files exist under `dir`; resolves when it is gone. */
export function initKilledAt(dir: string, files: number): Promise<void> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN, 'init', '--dir', dir, '--principal-dir', dir], { stdio: 'ignore' });
    const poll = setInterval(() => {
      if (countFiles(dir) >= files) child.kill('SIGKILL');
    }, 1);
    child.once('exit', () => {
      clearInterval(poll);
      done();
    });
  });
}

export function makeTemp(prefix = 'holonet-init-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** relative path → "mode size mtime sha-free content" for every file and dir under `root`. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    const st = statSync(p);
    const key = relative(root, p) || '.';
    if (st.isDirectory()) {
      out[key] = `dir ${(st.mode & 0o777).toString(8)}`;
      for (const n of readdirSync(p).sort()) walk(join(p, n));
    } else {
      out[key] = `file ${(st.mode & 0o777).toString(8)} ${st.mtimeMs} ${readFileSync(p, 'base64')}`;
    }
  };
  walk(root);
  return out;
}

/** The mode bits of a path, as an octal string (`600`). */
export function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** Load an init key file the way an independent reader would: from the seed, not from key_id. */
export function loadKey(path: string): { signer: Signer; keyId: PublicKeyIdV1; seed: string } {
  const f = JSON.parse(readFileSync(path, 'utf8')) as { seed: string };
  const signer = signerFromSeed(new Uint8Array(Buffer.from(f.seed, 'base64url')));
  return { signer, keyId: encodeId('key', signer.publicKey), seed: f.seed };
}
