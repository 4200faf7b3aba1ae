/**
 * kill -9 while a real unit is metered (OBJ-ARP-03): the agent, then the
 * orchestrator, is killed with SIGKILL while a CPU burner runs in a unit, and
 * the cell restarted on the same data dir. After each restart the cell's
 * consumed cpu is compared with the unit cgroup's own counter: it never
 * counts more than the kernel did (nothing counted twice), and it is behind
 * by at most the batches in flight (nothing lost).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProvisionStatusV1, type HolonUsageV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import { startUp, stopUp, type RunningUp } from './up-fixture.js';

const NOT_ROOT = process.getuid?.() !== 0 ? 'real units need root (namespaces, cgroups)' : false;

/** Starts a burner in the background inside the unit and returns: the load does not depend on the job. */
const DETACH = '#!/bin/sh\n(while :; do :; done) </dev/null >/dev/null 2>&1 &\nexit 0\n';
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The unit cgroup's own cpu counter in µs (v1 cpuacct on hybrid hosts, else v2). */
function kernelCpuUsec(unit: string): number {
  const v1 = `/sys/fs/cgroup/cpuacct/holonet/${unit}/cpuacct.usage`;
  if (existsSync(v1)) return Math.floor(Number(readFileSync(v1, 'utf8')) / 1000);
  return Number(/^usage_usec (\d+)$/m.exec(readFileSync(`/sys/fs/cgroup/holonet/${unit}/cpu.stat`, 'utf8'))?.[1] ?? -1);
}

function usageOf(up: RunningUp, holon: string): HolonUsageV1 | null {
  const r = holonctl(['usage', holon, ...up.bus, '--json']);
  if (r.status !== 0) throw new Error(`usage failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { usage: HolonUsageV1 | null }).usage;
}

async function metered(up: RunningUp, holon: string, after = 0): Promise<HolonUsageV1> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const u = usageOf(up, holon);
    if (u?.metered === true && u.cpu_usec > after) return u;
    if (Date.now() > deadline) throw new Error('no metering figures within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

void t.test('kill -9 of the agent and of the orchestrator while metering: nothing lost, nothing counted twice', { skip: NOT_ROOT }, async (t) => {
  const { dir: tmp, remove } = makeTemp('holonet-metering-crash-');
  t.teardown(remove);
  const dir = join(tmp, 'cell');
  let up = await startUp(dir);
  try {
    const p = holonctl(['provision', '--role', 'GENERAL_COMPUTE', '--cpu-seconds', '100000', ...up.bus, '--json']);
    t.equal(p.status, 0, `provisioned: ${p.stderr}`);
    const s = ProvisionStatusV1.parse(JSON.parse(p.stdout));
    const holon = s.holon.holon_id as string;
    const unit = s.holon.unit_name as string;
    const home = join(dir, 'agent/isolation/units', unit, 'root/home/unit');
    writeFileSync(join(home, 'job.sh'), DETACH, { mode: 0o755 });
    chownSync(join(home, 'job.sh'), statSync(home).uid, statSync(home).gid);
    t.equal(holonctl(['job', 'run', holon, '--sha256', sha(DETACH), ...up.bus, '--', '/home/unit/job.sh']).status, 0, 'the burner runs in the background');
    let last = (await metered(up, holon)).cpu_usec;

    for (const victim of ['holon-agent', 'holon-orchestrator'] as const) {
      await new Promise((r) => setTimeout(r, 1500)); // a few batches in between
      const pid = up.report.pids[victim] as number;
      process.kill(pid, 'SIGKILL');
      await stopUp(up);
      up = await startUp(dir);
      const u = await metered(up, holon, last);
      const kernel = kernelCpuUsec(unit);
      t.ok(u.cpu_usec <= kernel, `after kill -9 of ${victim}: the cell counts ${u.cpu_usec} µs, the kernel ${kernel} µs — never more`);
      t.ok(kernel - u.cpu_usec < 3_000_000, `and is behind by ${kernel - u.cpu_usec} µs: the batches in flight, nothing lost`);
      t.ok(u.cpu_usec > last, 'the totals went on from where they were');
      last = u.cpu_usec;
    }
    const audit = holonctl(['audit', '--server', up.report.nats_url, '--creds', up.report.creds, '--json']);
    t.equal(audit.status, 0, 'the ledger audits clean');
    t.equal(holonctl(['teardown', holon, ...up.bus, '--json']).status, 0, 'torn down');
  } finally {
    await stopUp(up);
  }
});
