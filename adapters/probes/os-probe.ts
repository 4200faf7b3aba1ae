/**
 * os (essential): family, release, kernel, architecture and host name.
 * Linux: `si.osInfo()` distro/release/codename (`Debian GNU/Linux 12 (bookworm)`).
 * FreeBSD: `freebsd-version -u` (userland with patch level, `14.1-RELEASE-p3`);
 * systeminformation cuts `kern.osrelease` at the first `-`, so it is only the
 * fallback. Kernel: `uname -r` + `uname -v` (the latter alone when it already
 * names the release, as FreeBSD's does).
 */
import { ARCHITECTURES, OS_FAMILIES, type Architecture, type OsFamily } from '../../bus-schemas/v1/platform-report.js';
import type { Probe, ProbeContext } from './probe.js';
import { ProbeError } from './probe-error.js';
import type { ProbeFacts } from './probe-facts.js';
import { toPrintable } from './printable-text.js';

/** `uname -m` (Linux), `hw.machine` (FreeBSD) and Node's `process.arch` spellings, folded to the schema's names. */
const ARCH_ALIASES: Readonly<Record<string, Architecture>> = {
  x86_64: 'amd64', amd64: 'amd64', x64: 'amd64',
  aarch64: 'arm64', arm64: 'arm64',
  i386: 'i386', i486: 'i386', i586: 'i386', i686: 'i386', ia32: 'i386',
  armv7l: 'armv7', armv7: 'armv7', arm: 'armv7',
  riscv64: 'riscv64', ppc64le: 'ppc64le', powerpc64le: 'ppc64le', s390x: 's390x',
};

export function mapArchitecture(machine: string): Architecture {
  const arch = ARCH_ALIASES[machine.trim().toLowerCase()];
  if (arch === undefined) {
    throw new ProbeError('failed', 'os', `architecture "${machine}" is not one of ${ARCHITECTURES.join(', ')}`, { field: '$.arch' });
  }
  return arch;
}

function mapFamily(platform: string): OsFamily {
  if ((OS_FAMILIES as readonly string[]).includes(platform)) return platform as OsFamily;
  throw new ProbeError('failed', 'os', `platform "${platform}" is not one of ${OS_FAMILIES.join(', ')}`, { field: '$.os_family' });
}

async function freebsdRelease(ctx: ProbeContext, fallback: string): Promise<string> {
  const exe = await ctx.source.findExecutable('freebsd-version', ctx.config.searchPath);
  if (exe === undefined) return fallback;
  const out = await ctx.source.run(exe, ['-u'], { timeoutMs: ctx.config.toolTimeoutMs, signal: ctx.signal });
  const line = out?.code === 0 ? out.stdout.split('\n')[0]?.trim() : undefined;
  return line === undefined || line === '' ? fallback : line;
}

export const osProbe: Probe = {
  name: 'os',
  essential: true,
  defaults: {},
  async run(ctx) {
    const info = await ctx.source.osInfo();
    const family = mapFamily(info.platform || ctx.source.platform);
    const release =
      family === 'freebsd'
        ? await freebsdRelease(ctx, info.kernel)
        : [info.distro, info.release, info.codename === '' ? '' : `(${info.codename})`].filter((p) => p !== '').join(' ');
    const version = ctx.source.kernelVersion().trim();
    const kernel = version.includes(info.kernel) ? version : `${info.kernel} ${version}`;
    const facts: ProbeFacts = {
      os_family: family,
      os_release: toPrintable(release, 128),
      kernel: toPrintable(kernel, 256),
      arch: mapArchitecture(ctx.source.machine()),
      hostname: ctx.config.hostname ?? info.hostname.replace(/\.$/, ''),
    };
    return facts;
  },
};
