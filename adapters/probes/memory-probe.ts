/**
 * memory (essential): physical memory in bytes from `si.mem().total`
 * (Linux /proc/meminfo MemTotal, FreeBSD sysctl hw.physmem). Capacity offers
 * it less the configured reserve.
 */
import type { Probe } from './probe.js';

export const memoryProbe: Probe = {
  name: 'memory',
  essential: true,
  defaults: {},
  async run(ctx) {
    const mem = await ctx.source.mem();
    return { memory_bytes: mem.total };
  },
};
