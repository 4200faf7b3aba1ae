/**
 * tools: which of the configured executables are installed (searched in
 * `searchPath` order: $PATH, then the standard bin dirs, so a daemon under
 * rc.d's minimal PATH still finds pkg's /usr/local/bin/bastille), and the
 * version each prints. Base-system tools without a version flag (rctl, jls)
 * are versioned with the kernel (`uname -r`). A tool that is found but
 * prints no version is reported as `unknown`; one that hangs is killed after
 * `toolTimeoutMs` and reported the same way, with a warning.
 */
import type { InstalledToolV1 } from '../../bus-schemas/v1/platform-report.js';
import type { Probe, ProbeContext } from './probe.js';
import type { ToolSpec } from './probe-config.js';
import { describeFailure } from './probe-error.js';
import { findVersion, toPrintable } from './printable-text.js';

async function versionOf(ctx: ProbeContext, tool: ToolSpec, path: string, kernel: string): Promise<string> {
  if (tool.version === 'os') return toPrintable(kernel, 64) || 'unknown';
  try {
    const out = await ctx.source.run(path, tool.version, { timeoutMs: ctx.config.toolTimeoutMs, signal: ctx.signal });
    const text = out === undefined ? '' : `${out.stdout}\n${out.stderr}`.split('\n').slice(0, 5).join('\n');
    const version = findVersion(text);
    return version === undefined ? 'unknown' : toPrintable(version, 64);
  } catch (e) {
    ctx.warn(`${tool.name}: ${path} ${tool.version.join(' ')} failed (${describeFailure(e)}); version unknown`);
    return 'unknown';
  }
}

async function probeTool(ctx: ProbeContext, tool: ToolSpec, kernel: string): Promise<InstalledToolV1 | undefined> {
  const path = await ctx.source.findExecutable(tool.executable, ctx.config.searchPath);
  if (path === undefined) return undefined;
  return { name: tool.name, version: await versionOf(ctx, tool, path, kernel) };
}

export const toolsProbe: Probe = {
  name: 'tools',
  essential: false,
  defaults: { installed_tools: [] },
  async run(ctx) {
    const kernel = ctx.source.kernelRelease();
    const found = await Promise.all(ctx.config.tools.map((t) => probeTool(ctx, t, kernel)));
    const installed = found.filter((t): t is InstalledToolV1 => t !== undefined);
    return { installed_tools: installed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  },
};
