/**
 * Budgets on real Linux units (DESIGN §7, OBJ-ARP-03), through `holonctl up`:
 * the agent meters each unit from the host side once a second, the cell
 * keeps its usage against its budget, and exhaustion ends in the policy the
 * request chose — never a crash:
 *   TEARDOWN  a CPU burner with a 2 cpu-second budget is stopped (SIGTERM,
 *             grace, kill) and destroyed; the overshoot is at most one
 *             sampling interval's use and is reported;
 *   FREEZE    the burner is frozen: its cpu counter stops rising.
 * Both transitions are ledger entries on the holon's own chain.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { ProvisionStatusV1, type HolonUsageV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import { busOf, startUp, stopUp } from './up-fixture.js';

const NOT_ROOT = process.getuid?.() !== 0 ? 'real units need root (namespaces, cgroups)' : false;
const MAIN = join(import.meta.dirname, '../../cli/main.js');

const { dir: tmp, remove } = makeTemp('holonet-metering-');
t.teardown(remove);
const dir = join(tmp, 'cell');
const up = NOT_ROOT === false ? await startUp(dir) : undefined;
t.teardown(() => (up !== undefined ? stopUp(up) : undefined));

const BURN = '#!/bin/sh\nwhile :; do :; done\n';
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** UDP to TEST-NET through the unit's veth (its default route), about 1 MB/s. */
const SEND = '#!/bin/bash\nexec 3<>/dev/udp/192.0.2.1/9\nwhile :; do head -c 20000 /dev/zero >&3 2>/dev/null; sleep 0.02; done\n';
/** 8 MB on the unit's disk, then wait. */
const FILL = '#!/bin/sh\nhead -c 8000000 /dev/zero > /home/unit/blob\nsleep 600\n';

/** Provision a GENERAL_COMPUTE unit (one core, egress) with `budget` options and put `script` in its home. */
function unitWith(policy: string, budget: string[], script = BURN): { holon: string; unit: string } {
  if (up === undefined) throw new Error('no cell');
  const p = holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...budget, '--on-exhaustion', policy, ...up.bus, '--json']);
  if (p.status !== 0) throw new Error(`provision failed: ${p.stderr}`);
  const s = ProvisionStatusV1.parse(JSON.parse(p.stdout));
  const home = join(dir, 'agent/isolation/units', s.holon.unit_name as string, 'root/home/unit');
  writeFileSync(join(home, 'job.sh'), script, { mode: 0o755 });
  chownSync(join(home, 'job.sh'), statSync(home).uid, statSync(home).gid);
  return { holon: s.holon.holon_id as string, unit: s.holon.unit_name as string };
}

const burnerUnit = (policy: string): { holon: string; unit: string } => unitWith(policy, ['--cpu-seconds', '2']);

/** Run the unit's job.sh as a guarded job, in the background (it runs until the unit stops it). */
function burn(holon: string, script = BURN): Promise<number | null> {
  if (up === undefined) throw new Error('no cell');
  const child = spawn(process.execPath, [MAIN, 'job', 'run', holon, '--sha256', sha(script), '--timeout', '5m', ...up.bus, '--', '/home/unit/job.sh'], { stdio: 'ignore' });
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

void t.test('egress: a unit with a 1 MB egress budget sending 1 MB/s over its veth is stopped within an interval', { skip: NOT_ROOT }, async (t) => {
  const { holon } = unitWith('TEARDOWN', ['--egress-bytes', '1000000'], SEND);
  void burn(holon, SEND);
  await until('the unit to be destroyed', () => (usage(holon).state === 'DESTROYED' ? true : undefined));
  const ex = (await entriesOf(holon)).find((e) => e.kind === 'BUDGET_EXHAUSTED')?.body as { exhausted: string[]; consumed: { network_egress_bytes: number }; overshoot: { network_egress_bytes: number } };
  t.same(ex.exhausted, ['network_egress_bytes']);
  t.ok(ex.consumed.network_egress_bytes >= 1_000_000, `${ex.consumed.network_egress_bytes} bytes sent when it ran out`);
  t.ok(ex.overshoot.network_egress_bytes < 1_500_000, `overshoot ${ex.overshoot.network_egress_bytes} B: about one interval at ~1 MB/s, charged and reported`);
});

void t.test('storage: a unit writing 8 MB with a 5 MB storage budget is stopped', { skip: NOT_ROOT }, async (t) => {
  const { holon } = unitWith('TEARDOWN', ['--storage-bytes', '5000000'], FILL);
  void burn(holon, FILL);
  await until('the unit to be destroyed', () => (usage(holon).state === 'DESTROYED' ? true : undefined));
  const ex = (await entriesOf(holon)).find((e) => e.kind === 'BUDGET_EXHAUSTED')?.body as { exhausted: string[]; consumed: { storage_bytes: number } };
  t.same(ex.exhausted, ['storage_bytes']);
  t.ok(ex.consumed.storage_bytes >= 5_000_000, `${ex.consumed.storage_bytes} bytes held when it ran out`);
});

function usage(holon: string): { state: string; usage: HolonUsageV1 | null } {
  if (up === undefined) throw new Error('no cell');
  const r = holonctl(['usage', holon, ...up.bus, '--json']);
  if (r.status !== 0) throw new Error(`usage failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { state: string; usage: HolonUsageV1 | null };
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function entriesOf(holon: string): Promise<LedgerEntryV1[]> {
  if (up === undefined) throw new Error('no cell');
  const conn = await busOf(up);
  try {
    const out: LedgerEntryV1[] = [];
    for await (const r of (await openLedgerReplay(conn, { via: 'get' })).records) {
      const e = LedgerEntryV1.decode(r.data);
      if (e.owner === holon) out.push(e);
    }
    return out;
  } finally {
    await conn.close();
  }
}

void t.test('TEARDOWN: a CPU burner over its 2 cpu-seconds is stopped and destroyed; the overshoot is one interval at most', { skip: NOT_ROOT }, async (t) => {
  const { holon } = burnerUnit('TEARDOWN');
  const job = burn(holon);
  const seen = await until('metering figures', () => usage(holon).usage?.metered === true || undefined);
  t.ok(seen, 'the cell has the unit metered');
  const gone = await until('the unit to be destroyed', () => {
    const u = usage(holon);
    return u.state === 'DESTROYED' ? u : undefined;
  });
  t.not(await job, 0, 'the burner did not end on its own: it was stopped');
  const entries = await entriesOf(holon);
  const kinds = entries.map((e) => e.kind);
  t.ok(kinds.indexOf('BUDGET_EXHAUSTED') >= 0 && kinds.indexOf('BUDGET_EXHAUSTED') < kinds.indexOf('HOLON_DESTROYED'), `exhaustion, then destruction, on the holon's chain (${kinds.join(', ')})`);
  const ex = entries.find((e) => e.kind === 'BUDGET_EXHAUSTED')?.body as { exhausted: string[]; consumed: { compute_cpu_seconds: number }; overshoot: { compute_cpu_seconds: number }; interval_ms: number; policy: string };
  t.same(ex.exhausted, ['compute_cpu_seconds']);
  t.equal(ex.policy, 'TEARDOWN');
  t.ok(ex.consumed.compute_cpu_seconds >= 2, `consumed ${ex.consumed.compute_cpu_seconds} s when it ran out`);
  // One core for one interval (1 s), plus the rounding up of a started second.
  t.ok(ex.overshoot.compute_cpu_seconds <= 2, `overshoot ${ex.overshoot.compute_cpu_seconds} s ≤ one interval's use (+1 s rounding)`);
  const at = (k: string): number => (entries.find((e) => e.kind === k) as LedgerEntryV1).at.unix_ms;
  const took = at('HOLON_DESTROYED') - at('BUDGET_EXHAUSTED');
  t.ok(took < 5000, `destroyed ${took} ms after the exhaustion: the burner ends on SIGTERM, before the 5 s grace is out`);
  t.ok(gone.usage === null || gone.usage.exhausted?.includes('compute_cpu_seconds'), 'usage still says what ran out');
});

void t.test('FREEZE: the burner is frozen; its cpu counter stops rising', { skip: NOT_ROOT }, async (t) => {
  const { holon, unit } = burnerUnit('FREEZE');
  void burn(holon);
  const frozen = await until('the exhaustion', () => usage(holon).usage?.exhausted);
  t.same(frozen, ['compute_cpu_seconds']);
  // The kernel's own counter, read beside the agent: cgroup v2, or v1's cpuacct (hybrid hosts like this one).
  const cpuStat = (): number =>
    existsSync(`/sys/fs/cgroup/cpuacct/holonet/${unit}`)
      ? Math.floor(Number(readFileSync(`/sys/fs/cgroup/cpuacct/holonet/${unit}/cpuacct.usage`, 'utf8')) / 1000)
      : Number(/^usage_usec (\d+)$/m.exec(readFileSync(`/sys/fs/cgroup/holonet/${unit}/cpu.stat`, 'utf8'))?.[1] ?? -1);
  await new Promise((r) => setTimeout(r, 2000)); // the freeze command reaches the agent
  const a = cpuStat();
  await new Promise((r) => setTimeout(r, 2000));
  const b = cpuStat();
  t.ok(a > 0, `the unit's cgroup reads ${a} µs`);
  t.ok(b - a < 50_000, `frozen: ${b - a} µs used in 2 s`);
  t.equal(usage(holon).state, 'RUNNING', 'frozen, not destroyed: it awaits a top-up or a teardown');
  t.equal((await entriesOf(holon)).filter((e) => e.kind === 'BUDGET_EXHAUSTED').length, 1, 'one BUDGET_EXHAUSTED entry');

  const top = holonctl(['budget', 'topup', holon, '--cpu-seconds', '6', ...(up?.bus ?? []), '--json']);
  t.equal(top.status, 0, `topped up: ${top.stderr}`);
  await new Promise((r) => setTimeout(r, 1500));
  const c = cpuStat();
  await new Promise((r) => setTimeout(r, 1000));
  t.ok(cpuStat() - c > 300_000, `thawed: the burner runs again (${cpuStat() - c} µs in 1 s)`);
  const again = await until('the topped-up budget to run out too', () => usage(holon).usage?.exhausted);
  t.same(again, ['compute_cpu_seconds'], 'and runs out again, at the new limit');
  const kinds = (await entriesOf(holon)).map((e) => e.kind).filter((k) => k.startsWith('BUDGET_'));
  t.same(kinds, ['BUDGET_EXHAUSTED', 'BUDGET_TOPPED_UP', 'BUDGET_EXHAUSTED'], 'every transition is a ledger entry');
  const td = holonctl(['teardown', holon, ...(up?.bus ?? []), '--json']);
  t.equal(td.status, 0, `a frozen unit can be torn down: ${td.stderr}`);
});

