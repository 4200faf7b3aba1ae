/**
 * Shared fixture of the Linux isolation tests: a fresh state dir under /tmp,
 * an adapter over it, unique unit names, and a teardown that destroys every
 * unit the test created (and only those) and removes the state dir.
 * The tests need root (namespaces, cgroups, mounts); without it they skip and say so.
 */
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { ExecOptions, ExecResult, UnitLimits, UnitNetwork, UnitSpec } from '../../../../bus-schemas/units/port.js';
import { LinuxIsolation } from '../../../../adapters/isolation/linux/index.js';

export const MiB = 1024 * 1024;

export const NOT_ROOT = process.getuid?.() !== 0 ? 'needs root: namespaces, cgroups and mounts are only available to root' : false;

export function uniqueName(prefix = 'lt'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function spec(name: string, network: UnitNetwork, limits: Partial<UnitLimits> = {}): UnitSpec {
  return {
    name,
    role: network === 'none' ? 'PENTEST_SANDBOX' : 'BUILD_WORKER',
    network,
    limits: { cpuMillicores: 1000, memoryBytes: 128 * MiB, pids: 64, ...limits },
  };
}

export interface Fixture {
  adapter: LinuxIsolation;
  stateDir: string;
  /** create a unit and register it for teardown */
  create(s: UnitSpec): ReturnType<LinuxIsolation['create']>;
  track(name: string): void;
}

export function fixture(t: Test, opts: { uidBase?: number } = {}): Fixture {
  const stateDir = mkdtempSync('/tmp/holonet-linux-');
  const adapter = new LinuxIsolation({ stateDir, uidBase: opts.uidBase });
  const names = new Set<string>();
  t.teardown(async () => {
    for (const n of names) await adapter.destroy(n).catch((e: unknown) => console.error(`teardown: destroy ${n}: ${String(e)}`));
    rmSync(stateDir, { recursive: true, force: true });
  });
  return {
    adapter,
    stateDir,
    track: (n) => void names.add(n),
    create: (s) => {
      names.add(s.name);
      return adapter.create(s);
    },
  };
}

export interface Captured extends ExecResult {
  stdout: string;
  stderr: string;
}

/** exec with stdout/stderr collected as text. */
export async function run(adapter: LinuxIsolation, name: string, argv: string[], opts: ExecOptions = {}): Promise<Captured> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const r = await adapter.exec(name, argv, { ...opts, onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) });
  return { ...r, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** The IPv4 address of a host interface (the host side of a unit's veth). */
export function ipv4Of(link: string): string {
  const a = networkInterfaces()[link]?.find((i) => i.family === 'IPv4');
  if (a === undefined) throw new Error(`no IPv4 address on ${link}`);
  return a.address;
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
