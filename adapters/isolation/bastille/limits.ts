/**
 * A jail's limits and usage through rctl(8). The rules live in the kernel by
 * jail name: they survive `bastille stop`/`start` but not a reboot, so
 * create() re-applies them idempotently (only a changed amount is removed
 * and added again) and reads them back; destroy() removes what is left.
 *
 * Memory, as the FreeBSD 14 kernel enforces it (sobomax/freebsd14_vendor):
 * - `memoryuse` is RSS, which racct cannot deny: kern_racct.c `racct_types`
 *   marks RACCT_RSS reclaimable only, and kern_rctl.c `rctl_rule_add` accepts
 *   `deny` on it as an exception "enforced in a different way" — vm_swapout.c
 *   `vm_daemon` deactivates pages of a jail over the limit, about once a second.
 *   Without swap, dirty anonymous pages cannot leave memory: no hard cap.
 * - `swapuse` counts every reservation of anonymous (swap-backed) memory —
 *   heap, stacks, private writable mappings — whether or not the host has swap:
 *   swap_pager.c `swap_reserve_by_cred` calls racct_add(RACCT_SWAP) first and
 *   fails the reservation when it is denied, so mmap/brk return ENOMEM. This is
 *   the hard cap: `swapuse:deny` = the unit's memory.
 * - `vmemoryuse` (address space) is not set: it counts reserved-but-untouched
 *   and file-backed mappings and would refuse runtimes that reserve large
 *   address ranges (Go, the JVM) long before they use memory.
 * Not capped by either: file-backed pages (page cache, mapped files) and kernel
 * memory on the jail's behalf (socket buffers, tmpfs).
 */
import type { UnitLimits } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import { parseRctlRules, parseRctlUsage } from './parse.js';

/** rctl rules for a unit's limits; pcpu is in percent of one core (1000 millicores = 100). */
export function rctlRules(jail: string, limits: UnitLimits): string[] {
  return [
    `jail:${jail}:memoryuse:deny=${limits.memoryBytes}`,
    `jail:${jail}:swapuse:deny=${limits.memoryBytes}`,
    `jail:${jail}:maxproc:deny=${limits.pids}`,
    `jail:${jail}:pcpu:deny=${Math.max(1, Math.ceil(limits.cpuMillicores / 10))}`,
  ];
}

export async function rulesOf(tool: Tool, jail: string): Promise<string[]> {
  return parseRctlRules((await tool('rctl', [`jail:${jail}`], `rctl jail:${jail}`)).stdout);
}

/**
 * Make the jail's rules exactly `rctlRules(jail, limits)` with one `rctl -a` of the missing ones — all are `deny` rules, and
 * the kernel replaces a deny rule that differs only by amount (kern_rctl.c rctl_rule_add) — then read them back.
 */
export async function applyLimits(tool: Tool, jail: string, limits: UnitLimits): Promise<void> {
  const want = rctlRules(jail, limits);
  const have = await rulesOf(tool, jail);
  const missing = want.filter((w) => !have.includes(w));
  if (missing.length === 0) return;
  await tool('rctl', ['-a', ...missing], `rctl -a jail:${jail}`);
  const after = await rulesOf(tool, jail);
  const still = want.filter((w) => !after.includes(w));
  if (still.length > 0) throw new BastilleError('state', `rctl -a jail:${jail}`, `rules not in effect after adding them: ${still.join(', ')}`);
}

/** Remove every rule of the jail, if it has any, and check that none is left. */
export async function removeLimits(tool: Tool, jail: string): Promise<void> {
  const rules = await rulesOf(tool, jail);
  if (rules.length === 0) return;
  await tool('rctl', ['-r', `jail:${jail}`], `rctl -r jail:${jail}`);
  const left = await rulesOf(tool, jail);
  if (left.length > 0) throw new BastilleError('state', `rctl -r jail:${jail}`, `rules remain: ${left.join(', ')}`);
}

export interface RacctUsage {
  cpuUsageUsec: number;
  memoryBytes: number;
  pids: number;
}

/**
 * `rctl -u jail:NAME`: the jail's racct. It is kept by name (kern_rctl.c: a jail subject is `prison_racct_find(name)`, which
 * creates it when absent), so it answers for a stopped jail too: zeros when nothing holds it, and while the unit's rules hold
 * it, the cputime accumulated over every start — a counter that does not restart with the jail. racct reports whole seconds.
 */
export async function readUsage(tool: Tool, jail: string): Promise<RacctUsage> {
  const u = parseRctlUsage((await tool('rctl', ['-u', `jail:${jail}`], `rctl -u jail:${jail}`)).stdout);
  return { cpuUsageUsec: (u.get('cputime') ?? 0) * 1_000_000, memoryBytes: u.get('memoryuse') ?? 0, pids: u.get('maxproc') ?? 0 };
}
