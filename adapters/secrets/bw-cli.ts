/**
 * Running the Bitwarden CLI (`bw`) and reading its JSON. The session key
 * reaches `bw` only as BW_SESSION in the child's environment, which holds
 * nothing else but PATH, HOME and (when configured) BITWARDENCLI_APPDATA_DIR
 * and NODE_EXTRA_CA_CERTS. Every call carries the global `--nointeraction`
 * flag so that a locked vault is an error ("Vault is locked."), never a
 * password prompt. `bw` writes its results as JSON on stdout and its errors
 * as one message on stderr with exit code 1; both are mapped to typed errors
 * here, with the session key redacted from anything that is kept.
 */
import { spawn } from 'node:child_process';
import { SecretStoreError, type SecretStoreReason } from './secret-store-error.js';

export interface BwRunnerOptions {
  bwPath: string;
  /** The child's complete environment (BW_SESSION excluded: given per call). */
  env: Record<string, string>;
  timeoutMs: number;
  /** Largest stdout accepted, in bytes. */
  maxOutputBytes: number;
}

export interface BwResult {
  stdout: string;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** `bw`'s own error messages (stderr, first line) and what they mean. */
export function classifyBwError(message: string): SecretStoreReason {
  if (message === 'You are not logged in.') return 'unauthenticated';
  if (message === 'Vault is locked.' || message.startsWith('Your vault is locked.')) return 'locked';
  if (message === 'Not found.') return 'not-found';
  if (message.startsWith('More than one result was found.')) return 'ambiguous';
  return 'bw-failed';
}

/** The first line of `bw`'s stderr, colour codes stripped, the session redacted, at most 300 characters. */
export function bwDiagnostic(stderr: string, session: string): string {
  let first = (stderr.replace(ANSI, '').trim().split('\n')[0] ?? '').trim();
  if (session !== '' && first.includes(session)) first = first.split(session).join('[redacted]');
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}

/**
 * Run `bw <args>` with BW_SESSION in the environment; resolve its stdout on
 * exit 0, throw SecretStoreError otherwise (missing binary, timeout, output
 * too large, non-zero exit classified by its message).
 */
export function runBw(opts: BwRunnerOptions, args: readonly string[], session: string, tenant: string): Promise<BwResult> {
  const what = `bw ${args.filter((a) => a !== '--nointeraction').join(' ')}`;
  const fail = (reason: SecretStoreReason, detail: string, extra: { cause?: unknown; exitCode?: number } = {}): SecretStoreError =>
    new SecretStoreError('vaultwarden', reason, detail, { tenant, ...extra });

  return new Promise<BwResult>((resolve, reject) => {
    const child = spawn(opts.bwPath, [...args], {
      env: { ...opts.env, BW_SESSION: session },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let settled = false;
    let killedFor: 'timeout' | 'oversize' | undefined;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      killedFor = 'timeout';
      child.kill('SIGKILL');
    }, opts.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > opts.maxOutputBytes) {
        if (killedFor === undefined) killedFor = 'oversize';
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 16384) err += chunk.toString('utf8');
    });
    child.on('error', (e) => {
      const code = typeof e === 'object' && 'code' in e ? String(e.code) : '';
      settle(() => {
        if (code === 'ENOENT' || code === 'EACCES') {
          reject(fail('bw-missing', `${opts.bwPath} cannot be run (${code}); install the Bitwarden CLI or set bwPath`, { cause: e }));
        } else {
          reject(fail('bw-failed', `${what}: ${e.message}`, { cause: e }));
        }
      });
    });
    child.on('close', (code, signal) => {
      settle(() => {
        if (killedFor === 'timeout') return reject(fail('timeout', `${what} did not finish within ${opts.timeoutMs} ms and was killed`));
        if (killedFor === 'oversize') return reject(fail('oversize', `${what} wrote more than ${opts.maxOutputBytes} bytes`));
        if (code !== 0) {
          const message = bwDiagnostic(err, session);
          const reason = classifyBwError(message);
          const exit = code ?? undefined;
          const how = code === null ? `was killed by ${signal ?? 'a signal'}` : `exited ${code}`;
          return reject(fail(reason, `${what} ${how}: ${message === '' ? '(no message)' : message}`, { exitCode: exit }));
        }
        resolve({ stdout: Buffer.concat(out).toString('utf8') });
      });
    });
  });
}

/** Parse `bw`'s stdout as JSON, or throw SecretStoreError('malformed'). */
export function parseBwJson(stdout: string, what: string, tenant: string): unknown {
  try {
    return JSON.parse(stdout) as unknown;
  } catch (e) {
    throw new SecretStoreError('vaultwarden', 'malformed', `${what} did not print JSON`, { tenant, cause: e });
  }
}
