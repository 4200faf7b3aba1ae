/**
 * The self-test for a real FreeBSD host (deploy/freebsd/selftest.sh runs it;
 * the adapter's tests run it against the simulator, so both expect the same
 * report): one unit through the adapter — create, limits, exec, a write into
 * the thin jail, usage, freeze/thaw, its processes killed behind the
 * adapter's back, kill, create again, destroy — and, after each step that
 * should leave nothing, the host read directly: jls, `mount -p`, `ifconfig -l`,
 * `rctl jail:NAME`, the ZFS dataset, the jail directory.
 *
 * Each check prints one line `PASS|FAIL <check> <detail>`; a failed check
 * does not stop the run, and destroy is attempted whatever happened before.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { UnitSpec } from '../../../bus-schemas/units/port.js';
import { readBastilleConf } from './bastille-conf.js';
import { createBastilleIsolation } from './bastille-isolation.js';
import { toolOf } from './command-runner.js';
import { Jails } from './jails.js';
import { rctlRules, rulesOf } from './limits.js';
import { jailNameOf } from './names.js';
import { resolveOptions, type BastilleIsolationOptions } from './options.js';
import { Storage } from './storage.js';

export const SELFTEST_CHECKS = ['create', 'persist', 'rules', 'exec', 'write', 'thin-layout', 'usage', 'freeze', 'thaw', 'processes-gone', 'kill', 'restart', 'destroy', 'nothing-left'] as const;

export interface SelftestOptions {
  adapter: BastilleIsolationOptions;
  /** `egress` needs the adapter's `interface` (a VNET jail with an epair) */
  network: UnitSpec['network'];
  /** default `u-selftest` and 6 random hex digits */
  unit?: string;
}

export interface SelftestReport {
  unit: string;
  jail: string;
  lines: string[];
  passed: number;
  failed: number;
}

const MiB = 1024 * 1024;

export async function runSelftest(opts: SelftestOptions): Promise<SelftestReport> {
  const o = resolveOptions(opts.adapter);
  const tool = toolOf(o.run);
  const iso = createBastilleIsolation(opts.adapter);
  const jails = new Jails(tool, o.jailsDir);
  const storage = new Storage(tool, o.jailsDir, readBastilleConf(o.bastilleConfig, o.jailsDir).zfs);
  const unit = opts.unit ?? `u-selftest${randomBytes(3).toString('hex')}`;
  const jail = jailNameOf(unit);
  const spec: UnitSpec = { name: unit, role: opts.network === 'none' ? 'PENTEST_SANDBOX' : 'GENERAL_COMPUTE', limits: { cpuMillicores: 500, memoryBytes: 256 * MiB, pids: 64 }, network: opts.network };
  const report: SelftestReport = { unit, jail, lines: [], passed: 0, failed: 0 };
  let link: string | undefined;

  const check = async (name: (typeof SELFTEST_CHECKS)[number], fn: () => Promise<string>): Promise<void> => {
    try {
      report.lines.push(`PASS ${name} ${await fn()}`);
      report.passed++;
    } catch (e) {
      report.lines.push(`FAIL ${name} ${(e as Error).message.replace(/\s+/g, ' ')}`);
      report.failed++;
    }
  };
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(what);
  };
  const output = async (argv: string[], asRoot = false): Promise<{ code: number | null; out: string }> => {
    let out = '';
    const r = await iso.exec(unit, argv, { asRoot, onStdout: (d) => (out += d.toString()), onStderr: (d) => (out += d.toString()) });
    return { code: r.exitCode, out };
  };
  const nothingLeft = async (): Promise<string> => {
    const left = await jails.leftovers.find(jail, link);
    expect((await jails.running(jail)) === undefined, `jls still lists ${jail}`);
    expect(left.mounts.length === 0, `still mounted: ${left.mounts.join(', ')}`);
    expect(left.link === undefined, `host link ${String(left.link)} still exists`);
    return `no jail, no mount below ${join(o.jailsDir, jail, 'root')}, ${link ?? 'no link'} gone`;
  };

  await check('create', async () => {
    const info = await iso.create(spec);
    link = info.hostLink;
    expect(info.status === 'running', `status ${info.status}`);
    return `jail ${jail}, root ${info.root}, host link ${link ?? 'none'}`;
  });
  await check('persist', async () => {
    const j = await jails.requireRunning(jail, 'jls');
    expect(j.persist, 'jls says persist=false');
    return `jid ${j.jid} persist=true`;
  });
  await check('rules', async () => {
    const have = (await rulesOf(tool, jail)).sort();
    const want = rctlRules(jail, spec.limits).sort();
    expect(JSON.stringify(have) === JSON.stringify(want), `rctl lists ${have.join(' ')}`);
    return have.join(' ');
  });
  await check('exec', async () => {
    const r = await output(['/bin/sh', '-c', 'id -u; pwd']);
    expect(r.code === 0 && r.out === `${o.user.uid}\n/home/${o.user.name}\n`, `exit ${String(r.code)}: ${r.out}`);
    return `uid ${o.user.uid} in /home/${o.user.name}`;
  });
  await check('write', async () => {
    await iso.writeFile(unit, { path: `home/${o.user.name}/holonet-selftest`, content: 'holonet', mode: 0o600, owner: 'unit' });
    const r = await output(['/bin/cat', `/home/${o.user.name}/holonet-selftest`]);
    expect(r.out === 'holonet', `read back ${JSON.stringify(r.out)}`);
    return 'written on the host, read inside';
  });
  await check('thin-layout', async () => {
    const ro = await output(['/bin/sh', '-c', 'echo x > /usr/share/holonet-selftest'], true);
    expect(ro.code !== 0, '/usr/share is writable inside the jail');
    const rw = await output(['/bin/sh', '-c', 'echo x > /usr/local/holonet-selftest'], true);
    expect(rw.code === 0 && existsSync(join(o.jailsDir, jail, 'root', 'usr', 'local', 'holonet-selftest')), `/usr/local write: exit ${String(rw.code)} ${rw.out}`);
    return `/usr/share read-only (exit ${String(ro.code)}), /usr/local lands in the jail's root`;
  });
  await check('usage', async () => {
    const u = await iso.usage(unit);
    expect(u.pids >= 1 && u.memoryBytes > 0 && u.memoryPeakBytes >= u.memoryBytes && u.storageBytes > 0 && u.gpuMs === 0, JSON.stringify(u));
    return `cpu ${u.cpuUsageUsec} us, memory ${u.memoryBytes} (peak ${u.memoryPeakBytes}), pids ${u.pids}, storage ${u.storageBytes}${storage.dataset(jail) === undefined ? '' : ` (zfs ${String(storage.dataset(jail))})`}, sent ${u.egressBytes}, received ${u.ingressBytes}`;
  });
  await check('freeze', async () => {
    await iso.freeze(unit);
    const s = (await iso.inspect(unit))?.status;
    expect(s === 'frozen', `status ${String(s)}`);
    return 'every process stopped';
  });
  await check('thaw', async () => {
    await iso.thaw(unit);
    const s = (await iso.inspect(unit))?.status;
    expect(s === 'running', `status ${String(s)}`);
    return 'running again';
  });
  await check('processes-gone', async () => {
    const j = await jails.requireRunning(jail, 'jls');
    await tool('pkill', ['-KILL', '-j', String(j.jid)], 'pkill -KILL', { okCodes: [1] });
    await new Promise((r) => setTimeout(r, 1000));
    const after = await jails.running(jail);
    expect(after !== undefined, 'the jail vanished with its processes (not persistent)');
    return `jid ${j.jid} still listed with no process`;
  });
  await check('kill', async () => {
    await iso.kill(unit);
    const s = (await iso.inspect(unit))?.status;
    expect(s === 'stopped', `status ${String(s)}`);
    return await nothingLeft();
  });
  await check('restart', async () => {
    const info = await iso.create(spec);
    expect(info.status === 'running', `status ${info.status}`);
    return `running, host link ${info.hostLink ?? 'none'}`;
  });
  await check('destroy', async () => {
    await iso.destroy(unit);
    expect((await iso.inspect(unit)) === undefined && !(await iso.list()).includes(unit), 'the unit is still there');
    return 'inspect: none, list: without it';
  });
  await check('nothing-left', async () => {
    const rules = await rulesOf(tool, jail);
    expect(rules.length === 0, `rctl rules left: ${rules.join(' ')}`);
    expect(!(await storage.datasetExists(jail)), `dataset ${String(storage.dataset(jail))} left`);
    expect(!existsSync(join(o.jailsDir, jail)), `${join(o.jailsDir, jail)} left`);
    return `${await nothingLeft()}, no rctl rule, no dataset, no directory`;
  });
  return report;
}
