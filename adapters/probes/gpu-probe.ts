/**
 * gpu: how many compute-capable GPUs the host has. Linux: `si.graphics()`
 * (lspci), counting controllers from NVIDIA, AMD/ATI and Intel — BMC and
 * virtual display adapters (ASPEED, Matrox, QXL, Cirrus, VMware SVGA,
 * bochs) are not GPUs anyone can be offered. FreeBSD (systeminformation
 * has no graphics support there): `pciconf -l`, display-class devices
 * (class=0x03xxxx) of the same vendors (0x10de, 0x1002, 0x8086). None → 0,
 * also the default when the probe fails.
 */
import type { Probe, ProbeContext } from './probe.js';
import { ProbeError } from './probe-error.js';

const GPU_VENDOR_TEXT = /nvidia|advanced micro devices|\bamd\b|\bati\b|intel/i;
const GPU_VENDOR_IDS = new Set(['10de', '1002', '8086']);

/** Display devices of GPU vendors in `pciconf -l` output (both the 13+ `vendor=` and the older `chip=` forms). */
export function countPciconfGpus(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!/\bclass=0x03[0-9a-f]{4}\b/i.test(line)) continue;
    const vendor = /\bvendor=0x([0-9a-f]{4})\b/i.exec(line)?.[1] ?? /\bchip=0x[0-9a-f]{4}([0-9a-f]{4})\b/i.exec(line)?.[1];
    if (vendor !== undefined && GPU_VENDOR_IDS.has(vendor.toLowerCase())) n++;
  }
  return n;
}

async function freebsdGpus(ctx: ProbeContext): Promise<number> {
  const exe = await ctx.source.findExecutable('pciconf', ctx.config.searchPath);
  const out = exe === undefined ? undefined : await ctx.source.run(exe, ['-l'], { timeoutMs: ctx.config.toolTimeoutMs, signal: ctx.signal });
  if (out === undefined) throw new ProbeError('failed', 'gpu', 'pciconf not found', { field: '$.gpu_count' });
  if (out.code !== 0) {
    throw new ProbeError('failed', 'gpu', `pciconf -l exited with ${String(out.code)}: ${out.stderr.trim().slice(0, 200)}`, { field: '$.gpu_count' });
  }
  return countPciconfGpus(out.stdout);
}

export const gpuProbe: Probe = {
  name: 'gpu',
  essential: false,
  defaults: { gpu_count: 0 },
  async run(ctx) {
    if (ctx.source.platform === 'freebsd') return { gpu_count: await freebsdGpus(ctx) };
    const graphics = await ctx.source.graphics();
    const gpus = (graphics?.controllers ?? []).filter(
      (c) => GPU_VENDOR_IDS.has((c.vendorId ?? '').toLowerCase()) || GPU_VENDOR_TEXT.test(c.vendor),
    );
    return { gpu_count: gpus.length };
  },
};
