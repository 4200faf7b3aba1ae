/**
 * cpu (essential): model, logical cores and clock, from `si.cpu()` (Linux
 * /proc/cpuinfo, FreeBSD hw.model via os.cpus()). Capacity offers
 * cores × 1000 millicores less the configured reserve; the clock is
 * informational (ResourceCapacityV1 counts cores, not cycles).
 */
import type { Probe } from './probe.js';
import { ProbeError } from './probe-error.js';
import { toPrintable } from './printable-text.js';

export function describeCpuModel(manufacturer: string, brand: string): string {
  const m = manufacturer.trim();
  const b = brand.trim();
  const model = b.toLowerCase().startsWith(m.toLowerCase()) ? b : `${m} ${b}`;
  const text = toPrintable(model, 128);
  return text === '' ? 'unknown' : text;
}

export const cpuProbe: Probe = {
  name: 'cpu',
  essential: true,
  defaults: {},
  async run(ctx) {
    const cpu = await ctx.source.cpu();
    if (!Number.isSafeInteger(cpu.cores) || cpu.cores < 1) {
      throw new ProbeError('failed', 'cpu', `systeminformation reported ${String(cpu.cores)} logical cores`, { field: '$.cpu_cores' });
    }
    return {
      cpu_model: describeCpuModel(cpu.manufacturer, cpu.brand),
      cpu_cores: cpu.cores,
      cpu_speed_mhz: Number.isFinite(cpu.speed) && cpu.speed > 0 ? Math.round(cpu.speed * 1000) : 0,
    };
  },
};
