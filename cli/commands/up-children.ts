/**
 * The child processes of `holonctl up`: a local nats-server and the two
 * daemons, each in its own process group (so a terminal's Ctrl-C reaches
 * only `up`, which then stops them in order), stdout and stderr appended to
 * a log file. Readiness is read from what the process writes: nats-server's
 * ports file and /healthz, a daemon's JSON log line.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HolonError } from '../../bus-schemas/errors.js';

/** `holonctl up` could not start or keep the local fleet running. */
export class UpError extends HolonError {
  static readonly CODE = 'HOLON_E_UP';
  readonly step: string;
  constructor(step: string, message: string) {
    super(UpError.CODE, `${step}: ${message}`);
    this.step = step;
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<ExitInfo>;
  running(): boolean;
  /** Its stop signal, wait up to `graceMs`, then SIGKILL. Resolves with how it ended. */
  stop(graceMs: number): Promise<ExitInfo>;
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/sbin', '/bin'];

/** nats-server: $NATS_SERVER_BIN, $PATH, the usual sbin dirs; else an UpError naming the package. */
export function findNatsServerBinary(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.NATS_SERVER_BIN;
  const candidates = fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : [...(env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SBIN].map((d) => join(d, 'nats-server'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new UpError(
    'nats-server',
    `${fromEnv !== undefined && fromEnv !== '' ? `NATS_SERVER_BIN=${fromEnv} is not executable` : 'nats-server not found in $PATH or /usr/sbin'}; install it with \`apt-get install nats-server\` (Debian/Ubuntu) or \`pkg install nats-server\` (FreeBSD), or set NATS_SERVER_BIN`,
  );
}

/**
 * Start `cmd args` in its own process group, stdout + stderr appended to
 * `logFile`. `stopSignal`: what asks it to stop cleanly (nats-server exits 1
 * on SIGTERM but 0 on SIGINT, after the same shutdown).
 */
export function spawnLogged(name: string, cmd: string, args: string[], logFile: string, stopSignal: NodeJS.Signals = 'SIGTERM'): Child {
  const fd = openSync(logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: -1, signal: null }));
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    pid: child.pid ?? -1,
    logFile,
    exited,
    running,
    async stop(graceMs) {
      if (!running()) return exited;
      child.kill(stopSignal);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** The last `n` lines of a log file, for an error message. */
export function logTail(file: string, n = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Poll `check` until it returns a value; fail if `child` exits first or after `ms`. */
export async function waitUntil<T>(what: string, children: readonly Child[], check: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    const dead = children.find((c) => !c.running());
    if (dead !== undefined) {
      const e = await dead.exited;
      throw new UpError(what, `${dead.name} exited (${e.signal ?? `code ${String(e.code)}`}) while waiting; ${dead.logFile}:\n${logTail(dead.logFile)}`);
    }
    if (Date.now() > deadline) throw new UpError(what, `timed out after ${ms} ms`);
    await sleep(50);
  }
}

/** A JSON log line of `file` with `msg` (pino), written after byte `from`. */
export function findLogLine(file: string, from: number, msg: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').slice(from);
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.msg === msg) return j;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** The /metrics URL a daemon logged ("metrics listening", docs/metrics.md) after byte `from`; null if it serves none. */
export function metricsUrlOf(file: string, from: number): string | null {
  const url = findLogLine(file, from, 'metrics listening')?.url;
  return typeof url === 'string' ? url : null;
}

export interface LocalNats {
  child: Child;
  url: string;
}

/**
 * nats-server on 127.0.0.1 with a free client and monitor port (-1, read
 * back from its ports file), JetStream stored in `storeDir`, configured by
 * `configFile` (init's operator-mode auth.conf); ready when /healthz says so.
 */
export async function startNatsServer(opts: { bin: string; configFile: string; storeDir: string; portsDir: string; logFile: string; readyMs: number }): Promise<LocalNats> {
  mkdirSync(opts.storeDir, { recursive: true, mode: 0o700 });
  mkdirSync(opts.portsDir, { recursive: true, mode: 0o700 });
  for (const f of readdirSync(opts.portsDir)) if (/^nats-server_\d+\.ports$/.test(f)) unlinkSync(join(opts.portsDir, f));
  const args = ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', opts.portsDir, '--server_name', 'holonet-local', '-js', '-sd', opts.storeDir, '-c', opts.configFile];
  const child = spawnLogged('nats-server', opts.bin, args, opts.logFile, 'SIGINT');
  const portsFile = join(opts.portsDir, `nats-server_${child.pid}.ports`);
  try {
    const ports = await waitUntil('nats-server', [child], () => {
      if (!existsSync(portsFile)) return undefined;
      try {
        const p = JSON.parse(readFileSync(portsFile, 'utf8')) as { nats?: string[]; monitoring?: string[] };
        return p.nats?.[0] !== undefined && p.monitoring?.[0] !== undefined ? { nats: p.nats[0], monitoring: p.monitoring[0] } : undefined;
      } catch {
        return undefined;
      }
    }, opts.readyMs);
    const client = new URL(ports.nats);
    const monitor = new URL(ports.monitoring);
    await waitUntil('nats-server', [child], async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${monitor.port}/healthz?js-enabled-only=true`);
        return r.ok ? true : undefined;
      } catch {
        return undefined;
      }
    }, opts.readyMs);
    return { child, url: `nats://127.0.0.1:${client.port}` };
  } catch (e) {
    await child.stop(2000);
    throw e;
  }
}
