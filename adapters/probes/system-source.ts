/**
 * The real HostSource: systeminformation for the facts it gathers portably
 * on Linux and FreeBSD, node:os / node:fs for the rest, execFile (never a
 * shell) for commands. Only the calls a probe makes are paid for: each
 * systeminformation call runs its own commands (osInfo ≈ 70 ms, fsSize ≈ 15 ms
 * on the Debian test host; `si.versions()` would be 2 s and is never used).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, realpath, stat, statfs } from 'node:fs/promises';
import { machine, networkInterfaces, platform, release, version } from 'node:os';
import { join } from 'node:path';
import si from 'systeminformation';
import type { CommandResult, HostSource, RunOptions } from './host-source.js';

const MAX_TEXT = 64 * 1024;
const MAX_OUTPUT = 1024 * 1024;

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function runCommand(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult | undefined> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs, signal: options.signal, maxBuffer: MAX_OUTPUT, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        if (error.code === 'ENOENT') {
          resolve(undefined);
          return;
        }
        if (error.killed === true || error.name === 'AbortError') {
          reject(new Error(`${file} killed after ${options.timeoutMs} ms or on abort`, { cause: error }));
          return;
        }
        if (typeof error.code === 'number') {
          resolve({ code: error.code, stdout, stderr });
          return;
        }
        if (error.signal !== undefined && error.signal !== null) {
          resolve({ code: null, stdout, stderr });
          return;
        }
        reject(new Error(`${file}: ${error.message}`, { cause: error }));
      },
    );
  });
}

/** The machine this process runs on. */
export function createSystemSource(): HostSource {
  return {
    platform: platform(),
    osInfo: () => si.osInfo(),
    cpu: () => si.cpu(),
    mem: () => si.mem(),
    fsSize: () => si.fsSize(),
    system: () => si.system(),
    // Resolves null on FreeBSD, which systeminformation does not implement (the port's type says so).
    graphics: () => si.graphics(),
    machine: () => machine(),
    kernelRelease: () => release(),
    kernelVersion: () => version(),
    interfaceAddresses: () => networkInterfaces(),
    async realpath(path) {
      try {
        return await realpath(path);
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async exists(path) {
      try {
        await stat(path);
        return true;
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },
    async deviceOf(path) {
      try {
        return (await stat(path)).dev;
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async statfsAvailable(path) {
      const s = await statfs(path);
      return s.bavail * s.bsize;
    },
    async readText(path) {
      try {
        const buf = await readFile(path);
        return buf.subarray(0, MAX_TEXT).toString('utf8');
      } catch {
        return undefined;
      }
    },
    async findExecutable(name, dirs) {
      for (const dir of dirs) {
        const candidate = join(dir, name);
        try {
          const s = await stat(candidate);
          if (!s.isFile()) continue;
          await access(candidate, constants.X_OK);
          return candidate;
        } catch {
          continue;
        }
      }
      return undefined;
    },
    run: runCommand,
  };
}
