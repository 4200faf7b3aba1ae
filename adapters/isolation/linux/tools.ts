/**
 * The host tools the adapter spawns (iproute2's `ip` and util-linux), found
 * once at construction, and one small runner for them. The adapter writes
 * cgroupfs, sysfs and the unit directory from Node and spawns only where the
 * kernel interface needs a syscall Node does not offer (netlink, setns,
 * mount, pivot_root): one `ip -batch` per network change, one process chain
 * per unit init and per exec.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { IsolationError } from './isolation-error.js';

export interface HostTools {
  sh: string;
  ip: string;
  nsenter: string;
  unshare: string;
  setpriv: string;
  mount: string;
  umount: string;
  pivotRoot: string;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function find(name: string): string {
  for (const dir of SEARCH) {
    const p = `${dir}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new IsolationError('config', '-', 'construct/tools', `${name} not found in ${SEARCH.join(':')}; install iproute2 and util-linux`);
}

export function findHostTools(): HostTools {
  return {
    sh: find('sh'),
    ip: find('ip'),
    nsenter: find('nsenter'),
    unshare: find('unshare'),
    setpriv: find('setpriv'),
    mount: find('mount'),
    umount: find('umount'),
    pivotRoot: find('pivot_root'),
  };
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Run a tool with an empty environment, optional stdin, a timeout; never throws for a non-zero exit. */
export function runTool(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
