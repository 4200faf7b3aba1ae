/**
 * bandwidth: egress bandwidth offered, in bits per second — the configured
 * `networkBandwidthBps`, else the fastest link among interfaces with a
 * non-loopback address. Linux: /sys/class/net/<if>/speed (Mb/s; -1 or
 * unreadable for virtio and other links without a speed). FreeBSD: the
 * `media:` line of `ifconfig <if>` (`(1000baseT <full-duplex>)`,
 * `10Gbase-SR`). 0 means unknown (also the default when the probe fails).
 * systeminformation is not used: it reports no speed on FreeBSD.
 */
import type { Probe, ProbeContext } from './probe.js';
import { isLoopback } from './network-probe.js';

/** Bits per second from a FreeBSD `media:` line, or undefined. */
export function parseFreebsdMedia(ifconfig: string): number | undefined {
  const line = ifconfig.split('\n').find((l) => l.trim().startsWith('media:'));
  const m = line === undefined ? null : /\b(\d+(?:\.\d+)?)(G?)base/i.exec(line);
  if (m === null) return undefined;
  const value = Number(m[1]) * (m[2] === '' ? 1e6 : 1e9);
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
}

async function linkSpeed(ctx: ProbeContext, name: string): Promise<number | undefined> {
  if (ctx.source.platform === 'freebsd') {
    const exe = await ctx.source.findExecutable('ifconfig', ctx.config.searchPath);
    if (exe === undefined) return undefined;
    const out = await ctx.source.run(exe, [name], { timeoutMs: ctx.config.toolTimeoutMs, signal: ctx.signal });
    return out?.code === 0 ? parseFreebsdMedia(out.stdout) : undefined;
  }
  const text = await ctx.source.readText(`/sys/class/net/${name}/speed`);
  const mbps = text === undefined ? NaN : Number(text.trim());
  return Number.isSafeInteger(mbps) && mbps > 0 ? mbps * 1e6 : undefined;
}

export const bandwidthProbe: Probe = {
  name: 'bandwidth',
  essential: false,
  defaults: { network_bandwidth_bps: 0 },
  async run(ctx) {
    if (ctx.config.networkBandwidthBps !== undefined) return { network_bandwidth_bps: ctx.config.networkBandwidthBps };
    const all = ctx.source.interfaceAddresses();
    const names = Object.keys(all)
      .filter((n) => /^[A-Za-z0-9_.:-]{1,15}$/.test(n) && (all[n] ?? []).some((i) => !isLoopback(i)))
      .sort();
    const speeds = await Promise.all(names.map((n) => linkSpeed(ctx, n)));
    const known = speeds.filter((s): s is number => s !== undefined);
    if (known.length === 0) ctx.warn(`no link speed known for ${names.join(', ') || 'any interface'}; offering 0 bps (unknown)`);
    return { network_bandwidth_bps: known.length === 0 ? 0 : Math.max(...known) };
  },
};
