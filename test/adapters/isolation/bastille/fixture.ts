/** Shared set-up of the Bastille adapter tests: a simulated FreeBSD and an adapter wired to it. */
import { readFileSync } from 'node:fs';
import type { IsolationPort, UnitSpec } from '../../../../bus-schemas/units/port.js';
import { createBastilleIsolation, createCommandRunner } from '../../../../adapters/isolation/bastille/index.js';
import { SIM_RELEASE, type Sim } from './sim/install.js';

export const MiB = 1024 * 1024;
export const spec = (name: string, network: UnitSpec['network'] = 'egress', pids = 64): UnitSpec => ({
  name,
  role: 'GENERAL_COMPUTE',
  limits: { cpuMillicores: 1500, memoryBytes: 256 * MiB, pids },
  network,
});

export function adapterFor(sim: Sim): IsolationPort {
  return createBastilleIsolation({
    run: createCommandRunner({ path: `${sim.binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, env: sim.env, timeoutMs: 30_000 }),
    bastillePrefix: sim.prefix,
    release: SIM_RELEASE,
    interface: 'em0',
  });
}

export function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** tap matches an object pattern against the error: class, stable code, kind and (optionally) message. */
export const isBastilleError = (kind: string, message?: RegExp) => ({ name: 'BastilleError', code: 'HOLON_E_ISOLATION_BASTILLE', kind, ...(message === undefined ? {} : { message }) });

export function callsOf(sim: Sim, tool: string): string[] {
  return sim.state().calls.filter((c) => c[0] === tool).map((c) => c.slice(1).join(' '));
}
