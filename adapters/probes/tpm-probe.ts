/**
 * tpm: presence and version. Linux: /dev/tpmrm0 (the kernel resource
 * manager, TPM 2.0 only) or /dev/tpm0; the version from
 * /sys/class/tpm/tpm0/tpm_version_major (`2` → 2.0, `1` → 1.2), else 2.0
 * when tpmrm0 exists, else 1.2 (kernels before 5.6 lack the file, and only
 * 1.2 chips have no tpmrm0 on kernels ≥ 4.12). FreeBSD: tpm20(4) creates
 * /dev/tpm0 (2.0); the old 1.2 driver creates /dev/tpm. Failure → absent.
 */
import type { TpmInfoV1 } from '../../bus-schemas/v1/platform-report.js';
import type { Probe, ProbeContext } from './probe.js';

async function linuxTpm(ctx: ProbeContext): Promise<TpmInfoV1> {
  const [rm, raw] = await Promise.all([ctx.source.exists('/dev/tpmrm0'), ctx.source.exists('/dev/tpm0')]);
  if (!rm && !raw) return { present: false, version: null };
  const major = (await ctx.source.readText('/sys/class/tpm/tpm0/tpm_version_major'))?.trim();
  if (major === '2') return { present: true, version: '2.0' };
  if (major === '1') return { present: true, version: '1.2' };
  return { present: true, version: rm ? '2.0' : '1.2' };
}

async function freebsdTpm(ctx: ProbeContext): Promise<TpmInfoV1> {
  if (await ctx.source.exists('/dev/tpm0')) return { present: true, version: '2.0' };
  if (await ctx.source.exists('/dev/tpm')) return { present: true, version: '1.2' };
  return { present: false, version: null };
}

export const tpmProbe: Probe = {
  name: 'tpm',
  essential: false,
  defaults: { tpm: { present: false, version: null } },
  async run(ctx) {
    return { tpm: ctx.source.platform === 'freebsd' ? await freebsdTpm(ctx) : await linuxTpm(ctx) };
  },
};
