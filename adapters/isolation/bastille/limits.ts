/**
 * A jail's limits and usage through rctl(8). The rules live in the kernel by
 * jail name: they survive `bastille stop`/`start` but not a reboot, so
 * create() re-applies them idempotently (only a changed amount is removed
 * and added again) and reads them back; destroy() removes what is left.
 */
import type { UnitLimits, UnitUsage } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { parseRctlRules, parseRctlUsage } from './parse.js';

/** rctl rules for a unit's limits; pcpu is in percent of one core (1000 millicores = 100). */
export function rctlRules(jail: string, limits: UnitLimits): string[] {
  return [
    `jail:${jail}:memoryuse:deny=${limits.memoryBytes}`,
    `jail:${jail}:maxproc:deny=${limits.pids}`,
    `jail:${jail}:pcpu:deny=${Math.max(1, Math.ceil(limits.cpuMillicores / 10))}`,
  ];
}

async function rulesOf(tool: Tool, name: string): Promise<string[]> {
  return parseRctlRules((await tool('rctl', [`jail:${name}`], `rctl jail:${name}`)).stdout);
}

/** Make the jail's rules exactly `rctlRules(name, limits)`, then read them back. */
export async function applyLimits(tool: Tool, name: string, limits: UnitLimits): Promise<void> {
  const want = rctlRules(name, limits);
  const have = await rulesOf(tool, name);
  for (const rule of want) {
    if (have.includes(rule)) continue;
    const resource = rule.split(':')[2] as string;
    if (have.some((h) => h.split(':')[2] === resource)) {
      await tool('rctl', ['-r', `jail:${name}:${resource}`], `rctl -r jail:${name}:${resource}`);
    }
    await tool('rctl', ['-a', rule], `rctl -a ${rule}`);
  }
  const after = await rulesOf(tool, name);
  const missing = want.filter((w) => !after.includes(w));
  if (missing.length > 0) throw new BastilleError('state', `rctl -a jail:${name}`, `rules not in effect after adding them: ${missing.join(', ')}`);
}

/** Remove every rule of the jail, if it has any, and check that none is left. */
export async function removeLimits(tool: Tool, name: string): Promise<void> {
  const rules = await rulesOf(tool, name);
  if (rules.length === 0) return;
  await tool('rctl', ['-r', `jail:${name}`], `rctl -r jail:${name}`);
  const left = await rulesOf(tool, name);
  if (left.length > 0) throw new BastilleError('state', `rctl -r jail:${name}`, `rules remain: ${left.join(', ')}`);
}

/** CPU, memory and processes of a running jail (`rctl -u`); racct reports whole seconds of CPU. */
export async function readUsage(tool: Tool, name: string): Promise<Pick<UnitUsage, 'cpuUsageUsec' | 'memoryBytes' | 'pids'>> {
  const u = parseRctlUsage((await tool('rctl', ['-u', `jail:${name}`], `rctl -u jail:${name}`)).stdout);
  return { cpuUsageUsec: (u.get('cputime') ?? 0) * 1_000_000, memoryBytes: u.get('memoryuse') ?? 0, pids: u.get('maxproc') ?? 0 };
}
