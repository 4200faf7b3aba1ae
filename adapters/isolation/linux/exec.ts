/**
 * exec() inside a unit:
 *
 *   sh -c 'echo $$ > <each cgroup.procs> && exec "$@"'          ← in the cgroup from its first instruction
 *     nsenter --target <init> --mount --uts --ipc --net --pid --root --wdns <cwd> --
 *       setpriv --reuid <uid> --regid <gid> --clear-groups --no-new-privs --bounding-set -all --
 *         argv…
 *
 * The environment is exactly `env`: the chain is spawned with it, and before
 * its exec the shell unsets every exported variable whose name was not given
 * (PWD, which the shell sets itself, and anything an in-process spawn hook
 * such as a test runner's may have added), then restores the caller's PWD.
 * Run in its own process group; on timeout the group and every descendant
 * get SIGKILL.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import type { ExecOptions, ExecResult } from '../../../bus-schemas/units/port.js';
import { IsolationError } from './isolation-error.js';
import { HOME } from './unit-root.js';
import type { HostTools } from './tools.js';

/** Names reserved for the exec shell's own variables (refused in `env`). */
const RESERVED_PREFIX = '__HOLON_';
/** Carries the caller's own PWD (if any) past the shell, which would otherwise overwrite it. */
const PWD_CARRIER = '__HOLON_PWD';
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARGS_BYTES = 1024 * 1024;

export interface ExecTarget {
  name: string;
  initPid: number;
  uid: number;
  gid: number;
  procsFiles: string[];
  tools: HostTools;
}

export function validateExec(name: string, argv: string[], opts: ExecOptions): void {
  const refuse = (why: string): never => {
    throw new IsolationError('refused', name, 'exec/validate', why);
  };
  if (!Array.isArray(argv) || argv.length === 0) refuse('argv must be a non-empty array of strings');
  let bytes = 0;
  for (const a of argv) {
    if (typeof a !== 'string') refuse('argv must contain strings only');
    if (a.includes('\0')) refuse('argv must not contain NUL bytes');
    bytes += Buffer.byteLength(a) + 1;
  }
  if (argv[0] === '') refuse('argv[0] must not be empty');
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!ENV_KEY.test(k)) refuse(`environment variable name ${JSON.stringify(k.slice(0, 64))} is not a portable name ([A-Za-z_][A-Za-z0-9_]*)`);
    if (k.startsWith(RESERVED_PREFIX)) refuse(`environment variable names starting with ${RESERVED_PREFIX} are reserved by the adapter`);
    if (typeof v !== 'string' || v.includes('\0')) refuse(`environment variable ${k} must be a string without NUL bytes`);
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  }
  if (bytes > MAX_ARGS_BYTES) refuse(`argv and environment exceed ${MAX_ARGS_BYTES} bytes`);
  const cwd = opts.cwd ?? HOME;
  if (typeof cwd !== 'string' || !cwd.startsWith('/') || cwd.includes('\0') || cwd.split('/').includes('..')) {
    refuse(`cwd must be an absolute path inside the unit without '..', got ${JSON.stringify(String(cwd).slice(0, 200))}`);
  }
  if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)) refuse('timeoutMs must be a positive number');
}

/** Every descendant of `pid` (host namespace), from /proc/<pid>/task/<tid>/children. */
async function descendants(pid: number, seen = new Set<number>()): Promise<number[]> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return [...seen];
  }
  for (const tid of tasks) {
    let kids: string;
    try {
      kids = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const k of kids.split(' ').filter((s) => s !== '').map(Number)) {
      if (seen.has(k)) continue;
      seen.add(k);
      await descendants(k, seen);
    }
  }
  return [...seen];
}

function killQuietly(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // gone
  }
}

export function execInUnit(target: ExecTarget, argv: string[], opts: ExecOptions): Promise<ExecResult> {
  const t = target.tools;
  const cwd = opts.cwd ?? HOME;
  const joinCg = target.procsFiles.map((f) => `echo $$ > ${f}`).join(' && ');
  const keep = Object.keys(opts.env ?? {});
  const script = [
    `${joinCg} || exit 125`,
    `__HOLON_P=\${${PWD_CARRIER}-}; __HOLON_HAS_P=\${${PWD_CARRIER}+x}; unset ${PWD_CARRIER}`,
    // unset every exported name that was not given (names only; a value can at worst make us unset a name we would drop anyway)
    '__HOLON_R="$(export -p)',
    '"',
    'while [ -n "$__HOLON_R" ]; do',
    '  __HOLON_L=${__HOLON_R%%',
    '*}',
    '  __HOLON_R=${__HOLON_R#*',
    '}',
    '  case $__HOLON_L in "export "[A-Za-z_]*)',
    '    __HOLON_N=${__HOLON_L#export }; __HOLON_N=${__HOLON_N%%=*}',
    `    case " ${keep.join(' ')} " in *" $__HOLON_N "*) ;; *) unset "$__HOLON_N" ;; esac ;;`,
    '  esac',
    'done',
    'if [ -n "$__HOLON_HAS_P" ]; then PWD=$__HOLON_P; export PWD; fi',
    'unset __HOLON_P __HOLON_HAS_P __HOLON_R __HOLON_L __HOLON_N',
    'exec "$@"',
  ].join('\n');
  const enter = [t.nsenter, `--target=${target.initPid}`, '--mount', '--uts', '--ipc', '--net', '--pid', '--root', `--wdns=${cwd}`, '--'];
  const drop = opts.asRoot
    ? []
    : [t.setpriv, `--reuid=${target.uid}`, `--regid=${target.gid}`, '--clear-groups', '--no-new-privs', '--bounding-set=-all', '--'];
  const env: Record<string, string> = { ...(opts.env ?? {}) };
  if ('PWD' in env) {
    env[PWD_CARRIER] = env.PWD;
    delete env.PWD;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(t.sh, ['-c', script, 'holon-exec', ...enter, ...drop, ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    let timedOut = false;
    let done = false;
    const killTree = async (): Promise<void> => {
      if (child.pid === undefined) return;
      const all = await descendants(child.pid);
      killQuietly(-child.pid);
      killQuietly(child.pid);
      for (const p of all) killQuietly(p);
    };
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            void killTree();
          }, opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => opts.onStdout?.(d));
    child.stderr.on('data', (d: Buffer) => opts.onStderr?.(d));
    child.once('error', (e) => {
      if (timer) clearTimeout(timer);
      done = true;
      reject(new IsolationError('command', target.name, 'exec/spawn', `cannot start the exec chain: ${e.message}`, { cause: e }));
    });
    const settle = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      resolve({ exitCode, signal, timedOut });
    };
    child.once('close', settle);
    // a background process of the unit may keep the pipes open: do not wait for it longer than a moment
    child.once('exit', (code, signal) => {
      setTimeout(() => {
        if (done) return;
        child.stdout.destroy();
        child.stderr.destroy();
        settle(code, signal);
      }, 200).unref();
    });
  });
}
