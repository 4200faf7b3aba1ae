/**
 * Running the FreeBSD tools: a program name and an argv array, through
 * child_process execFile/spawn — never a shell. The child's environment is
 * built from scratch (`PATH` plus explicit extras), never the agent's own,
 * so nothing of the agent (credentials, tokens) leaks into a tool or a jail.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ExecResult } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** bytes written to the child's stdin (then closed); default: stdin is /dev/null */
  input?: string | Uint8Array;
  timeoutMs?: number;
}

export interface SpawnOptions {
  /** the child's environment on top of the runner's minimal one */
  env?: Record<string, string>;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  timeoutMs?: number;
}

export interface CommandRunner {
  /** Run to completion and collect output. Resolves for any exit code; rejects (BastilleError) only if it could not run or was killed. */
  run(program: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Run with streamed output; the exit code and signal are the result (exec()). */
  spawn(program: string, args: readonly string[], opts?: SpawnOptions): Promise<ExecResult>;
}

export interface CommandRunnerOptions {
  /** PATH used to find the tools and given to them; default the FreeBSD system PATH */
  path?: string;
  /** extra environment for every tool (e.g. the simulator's state file in tests) */
  env?: Record<string, string>;
  /** default per-command timeout; default 120 s (bastille create can be slow) */
  timeoutMs?: number;
}

export const FREEBSD_PATH = '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin';
const MAX_OUTPUT = 16 * 1024 * 1024;

function resolveProgram(program: string, path: string): string {
  if (isAbsolute(program)) return program;
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new BastilleError('missing', program, `not found on PATH (${path}); install it (pkg install bastille) or fix the adapter's PATH`);
}

/** The default runner: execFile for tools, spawn for exec(). */
export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
  const path = options.path ?? FREEBSD_PATH;
  const baseEnv: Record<string, string> = { ...(options.env ?? {}), PATH: path };
  const defaultTimeout = options.timeoutMs ?? 120_000;

  return {
    run(program, args, opts = {}) {
      const file = resolveProgram(program, path);
      const timeout = opts.timeoutMs ?? defaultTimeout;
      return new Promise<RunResult>((resolve, reject) => {
        const child = execFile(
          file,
          [...args],
          { env: baseEnv, timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, encoding: 'utf8', windowsHide: true },
          (error, stdout, stderr) => {
            if (error === null) {
              resolve({ exitCode: 0, stdout, stderr });
              return;
            }
            const errno = (error as NodeJS.ErrnoException).code;
            if (typeof errno === 'number') {
              resolve({ exitCode: errno, stdout, stderr });
              return;
            }
            if (errno === 'ENOENT' || errno === 'EACCES') {
              reject(new BastilleError('missing', program, `cannot execute ${file}: ${errno}`, { cause: error }));
              return;
            }
            const how = error.killed ? `killed after ${timeout} ms` : `died (${error.signal ?? String(errno)})`;
            reject(new BastilleError('command', `${program} ${args[0] ?? ''}`.trim(), how, { stderr, cause: error }));
          },
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        else child.stdin?.end();
      });
    },

    spawn(program, args, opts = {}) {
      const file = resolveProgram(program, path);
      return new Promise<ExecResult>((resolve, reject) => {
        const child = spawn(file, [...args], { env: { ...baseEnv, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
        let timedOut = false;
        const timer =
          opts.timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                timedOut = true;
                child.kill('SIGKILL');
              }, opts.timeoutMs);
        child.stdout.on('data', (d: Buffer) => opts.onStdout?.(d));
        child.stderr.on('data', (d: Buffer) => opts.onStderr?.(d));
        child.once('error', (err) => {
          if (timer !== undefined) clearTimeout(timer);
          reject(new BastilleError('missing', program, `cannot execute ${file}: ${err.message}`, { cause: err }));
        });
        child.once('close', (code, signal) => {
          if (timer !== undefined) clearTimeout(timer);
          resolve({ exitCode: code, signal, timedOut });
        });
      });
    },
  };
}

export interface ToolOptions {
  /** exit codes that are answers, not failures (pgrep/pkill: 1 = nothing matched) */
  okCodes?: readonly number[];
  input?: string;
}

/** A tool run whose non-zero exit (outside `okCodes`) is a `command` BastilleError labelled `label`. */
export type Tool = (program: string, args: string[], label: string, opts?: ToolOptions) => Promise<RunResult>;

export function toolOf(run: CommandRunner): Tool {
  return async (program, args, label, opts = {}) => {
    const r = await run.run(program, args, opts.input === undefined ? {} : { input: opts.input });
    if (r.exitCode !== 0 && !(opts.okCodes ?? []).includes(r.exitCode)) {
      throw new BastilleError('command', label, `failed (${program} ${args.join(' ')})`, { exitCode: r.exitCode, stderr: r.stderr || r.stdout });
    }
    return r;
  };
}
