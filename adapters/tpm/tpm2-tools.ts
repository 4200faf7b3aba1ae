/**
 * Running one tpm2-tools command: execFile, never a shell; the TCTI goes in
 * the environment (TPM2TOOLS_TCTI); secrets never go in argv — callers pass
 * them as files inside a 0700 directory. Failures become TpmError with the
 * tool's stderr and exit code.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { TpmError } from './tpm-error.js';

export interface Tpm2ToolsConfig {
  /** TCTI for every command, e.g. `device:/dev/tpmrm0` or `swtpm:host=127.0.0.1,port=2321`; unset = tpm2-tools' default. */
  tcti?: string;
  /** Directory holding the tpm2_* binaries; unset = $PATH. */
  binDir?: string;
  /** Per-command timeout in ms. */
  timeoutMs: number;
}

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
}

/** Run `tool args…` in `cwd`; resolves with its output or rejects with a TpmError. */
export function runTpm2(config: Tpm2ToolsConfig, tool: string, args: readonly string[], cwd: string): Promise<ToolResult> {
  const file = config.binDir === undefined ? tool : join(config.binDir, tool);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (config.tcti !== undefined) env.TPM2TOOLS_TCTI = config.tcti;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd, env, timeout: config.timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'buffer', windowsHide: true },
      (error, stdout, stderrBuf) => {
        const stderr = stderrBuf.toString('utf8');
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          reject(new TpmError('missing', tool, `not found${config.binDir === undefined ? ' on $PATH' : ` in ${config.binDir}`}; install tpm2-tools (Debian: apt-get install tpm2-tools)`, { cause: error }));
          return;
        }
        if (error.killed === true || error.signal !== null) {
          reject(new TpmError('tool', tool, `killed after ${config.timeoutMs} ms (${error.signal ?? 'timeout'})`, { stderr, cause: error }));
          return;
        }
        const exitCode = typeof error.code === 'number' ? error.code : undefined;
        const firstLine = stderr.split('\n').find((l) => l.includes('ERROR')) ?? stderr.split('\n')[0] ?? '';
        reject(new TpmError('tool', tool, `exited with ${exitCode ?? 'an error'}: ${firstLine.trim()}`, { exitCode, stderr, cause: error }));
      },
    );
  });
}
