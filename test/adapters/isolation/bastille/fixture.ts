/** Shared set-up of the Bastille adapter tests: a simulated FreeBSD and an adapter wired to it. */
import { readFileSync } from 'node:fs';
import type { IsolationPort, UnitSpec } from '../../../../bus-schemas/units/port.js';
import { createBastilleIsolation, createCommandRunner, type BastilleIsolationOptions } from '../../../../adapters/isolation/bastille/index.js';
import { installSim, SIM_RELEASE, type Sim } from './sim/install.js';

export const MiB = 1024 * 1024;
export const spec = (name: string, network: UnitSpec['network'] = 'egress', pids = 64): UnitSpec => ({
  name,
  role: 'GENERAL_COMPUTE',
  limits: { cpuMillicores: 1500, memoryBytes: 256 * MiB, pids },
  network,
});

/** The adapter's options for a simulated host: its tools on PATH, its prefix and bastille.conf, VNET on em0 with a gateway. */
export function optionsFor(sim: Sim, extra: Partial<BastilleIsolationOptions> = {}): BastilleIsolationOptions {
  return {
    run: createCommandRunner({ path: `${sim.binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, env: sim.env, timeoutMs: 30_000 }),
    bastillePrefix: sim.prefix,
    bastilleConfig: sim.confPath,
    release: SIM_RELEASE,
    interface: 'em0',
    gateway: '10.17.89.1',
    ...extra,
  };
}

export function adapterFor(sim: Sim, extra: Partial<BastilleIsolationOptions> = {}): IsolationPort {
  return createBastilleIsolation(optionsFor(sim, extra));
}

/** A runner for calling the simulated tools directly, as an operator (or another tenant) would. */
export function hostRunner(sim: Sim) {
  return createCommandRunner({ path: `${sim.binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, env: sim.env, timeoutMs: 30_000 });
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

/** What a jail left on the simulated host: mounts below its root, the named link, its dataset, its directory. */
export function leftOf(sim: Sim, jail: string, link?: string): string[] {
  const s = sim.state();
  const root = `${sim.prefix}/jails/${jail}/root/`;
  return [
    ...(s.running[jail] === undefined ? [] : [`jls: ${jail}`]),
    ...s.mounts.filter((m) => m.on.startsWith(root)).map((m) => `mount: ${m.on}`),
    ...(link !== undefined && s.interfaces[link] !== undefined ? [`link: ${link}`] : []),
    ...s.datasets.filter((d) => d.endsWith(`/jails/${jail}`) || d.includes(`/jails/${jail}/`)).map((d) => `dataset: ${d}`),
    ...s.rctl.filter((r) => r.startsWith(`jail:${jail}:`)).map((r) => `rctl: ${r}`),
  ];
}

/** A simulated host for one test file (removed when the file's tests end), the adapter on it, its call log, a runner for its tools. */
export function simulatedHost(t: { teardown(fn: () => void): void }) {
  const sim = installSim();
  t.teardown(() => sim.cleanup());
  return { sim, iso: adapterFor(sim), calls: (tool: string) => callsOf(sim, tool), host: hostRunner(sim) };
}
