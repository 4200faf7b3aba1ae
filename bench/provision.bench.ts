/**
 * Provisioning, end to end through a real local cell (`holonctl up`:
 * nats-server, holon-orchestrator, holon-agent as processes):
 *
 * 1. Control-plane throughput with the no-op adapter: N signed
 *    ProvisioningRequestV1 sent 256 at a time from one connection; counted
 *    when the cell has authorized, placed, persisted and queued each
 *    (PLACED), and when every receipt is issued (the agent's round trip
 *    included). Goal (issue): ≥ 1,000 provisions/s on one orchestrator.
 * 2. Request → receipt latency of a Linux unit (BUILD_WORKER-like: veth,
 *    cgroup, namespaces, private root), then teardown → destruction receipt,
 *    next to the bare shell sequence building and removing the same
 *    isolation (bench/linux-unit.bench.ts), timed in the same run.
 *    Goal: no slower than 1.5 × the bare sequence.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { requestSigned } from '../adapters/nats/request-reply.js';
import { detectCgroupLayout } from '../adapters/isolation/linux/cgroups.js';
import { convertId } from '../bus-schemas/ids.js';
import { API_SUBJECTS } from '../bus-schemas/subjects.js';
import { ProvisioningRequestV1 } from '../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../bus-schemas/v1/teardown-request.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1 } from '../bus-schemas/v1/unit-flow.js';
import { requestFor } from '../test/provision/crash-fixture.js';
import { busOf, principalOf, startUp, stopUp, type RunningUp } from '../test/provision/up-fixture.js';
import { bareScripts, bash } from './linux-unit.bench.js';
import { percentile, round, type BenchResult } from './measure.js';

const THROUGHPUT_N = 2000;
const WINDOW = 256;
const LATENCY_N = 10;

async function throughput(up: RunningUp): Promise<BenchResult[]> {
  const conn = await busOf(up);
  const principal = principalOf(up.report.dir);
  const cellKey = convertId(up.report.cell_id, 'key');
  const send = (req: ProvisioningRequestV1): Promise<ProvisionStatusV1> =>
    requestSigned(conn, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: cellKey, timeoutMs: 60_000 });
  try {
    const reqs = Array.from({ length: THROUGHPUT_N }, () => requestFor(principal));
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < reqs.length) await send(reqs[next++] as ProvisioningRequestV1);
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
    const placedMs = performance.now() - t0;
    // Every receipt: re-send each request (idempotent) until it reports one.
    let pending = reqs;
    while (pending.length > 0) {
      const statuses = await Promise.all(pending.map((r) => send(r)));
      pending = pending.filter((_, i) => statuses[i]?.receipt === undefined);
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 50));
    }
    const receiptMs = performance.now() - t0;
    const placedRate = round((THROUGHPUT_N / placedMs) * 1000, 0);
    const receiptRate = round((THROUGHPUT_N / receiptMs) * 1000, 0);
    return [
      { name: 'provision: requests placed per second (noop adapter)', value: placedRate, unit: 'provisions/s', goal: '≥ 1000 provisions/s (Nomad C1M: 750/s per server)', goal_met: placedRate >= 1000, meta: { requests: THROUGHPUT_N, in_flight: WINDOW, ms: round(placedMs, 0), machines: 1, placement_overcommit: 500 } },
      { name: 'provision: receipts issued per second (noop adapter, agent round trip included)', value: receiptRate, unit: 'provisions/s', goal: '≥ 1000 provisions/s', goal_met: receiptRate >= 1000, meta: { requests: THROUGHPUT_N, ms: round(receiptMs, 0) } },
    ];
  } finally {
    await conn.close();
  }
}

async function latency(up: RunningUp): Promise<BenchResult[]> {
  const conn = await busOf(up);
  const principal = principalOf(up.report.dir);
  const cellKey = convertId(up.report.cell_id, 'key');
  const layout = detectCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  const bareBase = mkdtempSync('/tmp/holonet-bench-bare-');
  const ours: { create: number[]; destroy: number[] } = { create: [], destroy: [] };
  const bare: { create: number[]; destroy: number[] } = { create: [], destroy: [] };
  const poll = async (fn: () => Promise<ProvisionStatusV1>, done: (s: ProvisionStatusV1) => boolean): Promise<ProvisionStatusV1> => {
    for (;;) {
      const s = await fn();
      if (done(s)) return s;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    for (let i = 0; i < LATENCY_N + 1; i++) {
      const req = requestFor(principal, 'BUILD_WORKER');
      const send = (): Promise<ProvisionStatusV1> => requestSigned(conn, { subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request: req, replyType: ProvisionStatusV1, responder: cellKey, timeoutMs: 30_000 });
      let t0 = performance.now();
      const s = await poll(send, (x) => x.receipt !== undefined);
      const created = performance.now() - t0;
      const td = TeardownRequestV1.seal(
        { holon_id: s.holon.holon_id as `holon1${string}`, reason: 'REQUESTED', evidence_replication_target: up.report.cell_id, request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'), requested_at: timeAt(Date.now()) },
        principal,
      );
      t0 = performance.now();
      await poll(() => requestSigned(conn, { subject: API_SUBJECTS.teardown, requestType: TeardownRequestV1, request: td, replyType: ProvisionStatusV1, responder: cellKey, timeoutMs: 30_000 }), (x) => x.destruction !== undefined);
      const destroyed = performance.now() - t0;
      const sh = bareScripts(layout, bareBase, i);
      t0 = performance.now();
      await bash(sh.create);
      const bc = performance.now() - t0;
      t0 = performance.now();
      await bash(sh.destroy);
      const bd = performance.now() - t0;
      if (i === 0) continue; // warm-up
      ours.create.push(created);
      ours.destroy.push(destroyed);
      bare.create.push(bc);
      bare.destroy.push(bd);
    }
  } finally {
    await conn.close();
    rmSync(bareBase, { recursive: true, force: true });
  }
  const out: BenchResult[] = [];
  for (const what of ['create', 'destroy'] as const) {
    const o = [...ours[what]].sort((a, b) => a - b);
    const b = [...bare[what]].sort((a, b) => a - b);
    const p50 = percentile(o, 50);
    const b50 = percentile(b, 50);
    out.push({
      name: what === 'create' ? 'provision: request → receipt, Linux unit (p50)' : 'teardown: request → destruction receipt, Linux unit (p50)',
      value: round(p50, 1),
      unit: 'ms',
      baseline: { name: `bare shell sequence: ${what} the same isolation (p50)`, value: round(b50, 1), unit: 'ms' },
      goal: '≤ 1.5 × the bare sequence',
      goal_met: p50 <= 1.5 * b50,
      meta: { p99_ms: round(percentile(o, 99), 1), bare_p99_ms: round(percentile(b, 99), 1), ratio_p50: round(p50 / b50, 2), samples: o.length },
    });
  }
  return out;
}

export default async function provisionBench(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0) throw new Error('provision: needs root (the Linux adapter)');
  const tmp = mkdtempSync('/tmp/holonet-bench-provision-');
  const results: BenchResult[] = [];
  try {
    // One machine stands in for a fleet: noop units reserve nothing real, so placement may fill it 500 times over.
    const noop = await startUp(join(tmp, 'noop'), { isolation: 'noop', overcommit: 500 });
    try {
      results.push(...(await throughput(noop)));
    } finally {
      await stopUp(noop);
    }
    const linux = await startUp(join(tmp, 'linux'), { isolation: 'linux' });
    try {
      results.push(...(await latency(linux)));
    } finally {
      await stopUp(linux);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}
