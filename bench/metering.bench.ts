/**
 * Metering (DESIGN §7, issue goals), each next to its baseline in the same run:
 *
 *   ingest on the cell, unit-samples/s on one core    vs  raw JetStream consumption of the same batches
 *     (decode, seal check, per-sample checks, accounts)     (an ordered consumer, bytes counted only)
 *   agent CPU of sampling 100 units once (% of a core   vs  a bare loop reading the same cgroup files
 *     at a 1 s interval): the meter through the Linux        with readFileSync
 *     adapter's cgroup reader, totals and the sealed batch
 *
 * Goals: ingest ≥ 100,000 unit-samples/s; sampling 100 units at 1 s ≤ 2 % of one core.
 * The 100 units are real cgroups (no processes) under `holonet-bench`, made and removed here: root only.
 */
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { connectBus } from '../adapters/nats/connect.js';
import { detectCgroupLayout, UnitCgroups } from '../adapters/isolation/linux/cgroups.js';
import { Meter } from '../agent/meter.js';
import { systemClock } from '../bus-schemas/clock.js';
import { convertId, encodeId } from '../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../bus-schemas/keys.js';
import { ZERO_USAGE } from '../bus-schemas/units/port.js';
import { MAX_BATCH_UNITS, ResourceMeteringBatchV1, type UnitMeterSampleV1 } from '../bus-schemas/v1/metering-batch.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import { MeteringService } from '../orchestrator/metering/metering-service.js';
import type { ProvisionRecord } from '../orchestrator/provisioning/provision-store.js';
import { startNatsServer } from '../test/harness/nats-server.js';
import { MemoryKeyStore } from '../test/agent/unit-fakes.js';
import { round, type BenchResult } from './measure.js';

const BATCHES = 400;
const UNITS = 100;
const PASSES = 50;

function fixture(): { bytes: Uint8Array[]; subject: string; service: MeteringService } {
  const machine = signerFromSeed(generateEd25519().seed);
  const machineId = encodeId('key', machine.publicKey);
  const holons = Array.from({ length: MAX_BATCH_UNITS }, () => encodeId('holon', generateEd25519().publicKey));
  const budget = { compute_cpu_seconds: 1e12, compute_gpu_seconds: 0, storage_bytes: 1e15, network_egress_bytes: 1e15, cost_usd_cents: 0, valid_until: timeAt(Date.now() + 86_400_000), on_exhaustion: 'TEARDOWN' as const };
  const recs = new Map(holons.map((h, i) => [h, { requestDigest: `sha256:${'0'.repeat(64)}`, state: 'RUNNING', machineId, unitName: `u-${i.toString(16).padStart(12, '0')}`, holonId: h, budget, exhaustion: null } as unknown as ProvisionRecord]));
  const bytes: Uint8Array[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const samples: UnitMeterSampleV1[] = holons.map((h, i) => ({ holon_id: h, unit_name: `u-${i.toString(16).padStart(12, '0')}`, cpu_usec: b * 1000 + i, gpu_ms: 0, egress_bytes: b * 4096, ingress_bytes: b * 512, storage_bytes: 1 << 20, memory_bytes: 8 << 20, memory_peak_bytes: 9 << 20, pids: 3, oom_kills: 0 }));
    bytes.push(ResourceMeteringBatchV1.encode(ResourceMeteringBatchV1.seal({ machine_id: machineId, sequence: b, sampled_at: timeAt(Date.now()), interval_ms: 1000, samples }, machine)));
  }
  const service = new MeteringService({
    holons: { byHolon: (h) => recs.get(h) },
    machines: { get: () => ({ state: 'ENROLLED' }) },
    onExhausted: () => Promise.resolve(),
    clock: systemClock,
    log: pino({ level: 'silent' }),
  });
  return { bytes, subject: `evt.${convertId(machineId, 'holon')}.metering`, service };
}

/** Consume the stream from the start with an ordered consumer, calling `each` per message; msgs/s. */
async function consumeAll(conn: Awaited<ReturnType<typeof connectBus>>, each: (subject: string, data: Uint8Array) => void): Promise<number> {
  const consumer = await conn.js.consumers.get('MBENCH', {});
  const start = performance.now();
  let n = 0;
  const iter = await consumer.consume({ max_messages: 256 });
  for await (const m of iter) {
    each(m.subject, m.data);
    n += 1;
    if (n >= BATCHES) break;
  }
  const rate = (n * 1000) / (performance.now() - start);
  await iter.close();
  return rate;
}

async function ingestBench(): Promise<BenchResult[]> {
  const { bytes, subject, service } = fixture();
  // On one core, no bus: the cell's cost per sample alone.
  const t0 = performance.now();
  for (const b of bytes) service.ingest(subject, b);
  const pure = (BATCHES * MAX_BATCH_UNITS * 1000) / (performance.now() - t0);
  if (service.counts.refused > 0 || service.counts.dropped > 0) throw new Error('bench batches were refused; numbers would be meaningless');

  const server = await startNatsServer();
  const conn = await connectBus({ servers: server.url, name: 'bench', logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    await conn.jsm.streams.add({ name: 'MBENCH', subjects: ['evt.>'], storage: 'file' });
    await Promise.all(bytes.map((b) => conn.js.publish(subject, b)));
    const raws: number[] = [];
    const ingests: number[] = [];
    for (let i = 0; i < 3; i++) {
      raws.push(await consumeAll(conn, () => undefined));
      const fresh = fixture().service;
      ingests.push(await consumeAll(conn, (s, d) => void fresh.ingest(s, d)));
    }
    const raw = Math.max(...raws) * MAX_BATCH_UNITS;
    const ingest = Math.max(...ingests) * MAX_BATCH_UNITS;
    return [
      {
        name: 'metering_ingest_from_jetstream',
        value: round(ingest, 0),
        unit: 'unit-samples/s',
        baseline: { name: 'raw ordered-consumer consumption of the same batches', value: round(raw, 0), unit: 'unit-samples/s' },
        goal: '≥ 100,000 unit-samples/s',
        goal_met: ingest >= 100_000,
        meta: { batches: BATCHES, units_per_batch: MAX_BATCH_UNITS, best_of: 3, ratio_to_raw: round(ingest / raw, 3) },
      },
      { name: 'metering_ingest_in_process', value: round(pure, 0), unit: 'unit-samples/s', goal: '≥ 100,000 unit-samples/s', goal_met: pure >= 100_000, meta: { note: 'decode + seal check + accounts, no bus' } },
    ];
  } finally {
    await conn.close();
    await server.stop();
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function samplingBench(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0) return [{ name: 'agent_sampling_100_units', value: Number.NaN, unit: '% of one core at 1 s', meta: { skipped: 'needs root to make cgroups' } }];
  const layout = detectCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  const cgroups = new UnitCgroups(layout, 'holonet-bench');
  const names = Array.from({ length: UNITS }, (_, i) => `u-bench${String(i).padStart(5, '0')}`);
  const dirs = names.flatMap((n) => (layout.version === 'v2' ? [cgroups.dir(n)] : (['cpu', 'cpuacct', 'memory', 'pids'] as const).map((c) => cgroups.dir(n, c))));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  try {
    const files = names.flatMap((n) =>
      layout.version === 'v2'
        ? ['cpu.stat', 'memory.current', 'memory.peak', 'pids.current', 'memory.events'].map((f) => join(cgroups.dir(n), f))
        : [join(cgroups.dir(n, 'cpuacct'), 'cpuacct.usage'), ...['memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.oom_control'].map((f) => join(cgroups.dir(n, 'memory'), f)), join(cgroups.dir(n, 'pids'), 'pids.current')],
    );
    const machine = signerFromSeed(generateEd25519().seed);
    const machineId = encodeId('key', machine.publicKey);
    const units = names.map((n) => ({ unitName: n, holonId: encodeId('holon', generateEd25519().publicKey) }));
    const meter = new Meter({
      isolation: { usage: async (n) => ({ ...ZERO_USAGE, ...(await cgroups.usage(n)) }) },
      units: () => Promise.resolve(units),
      store: new MemoryKeyStore(),
      bus: { publish: () => undefined },
      signer: machine,
      machineId,
      hostHolon: convertId(machineId, 'holon'),
      clock: systemClock,
      log: pino({ level: 'silent' }),
    });
    await meter.sampleOnce(); // warm
    let c0 = cpuSeconds();
    for (let i = 0; i < PASSES; i++) await meter.sampleOnce();
    const meterPass = (cpuSeconds() - c0) / PASSES;
    let sink = 0;
    c0 = cpuSeconds();
    for (let i = 0; i < PASSES; i++) for (const f of files) sink += readFileSync(f, 'utf8').length;
    const barePass = (cpuSeconds() - c0) / PASSES;
    const pct = meterPass * 100; // CPU seconds per pass, one pass per second
    return [
      {
        name: 'agent_sampling_100_units',
        value: round(pct, 3),
        unit: '% of one core at 1 s',
        baseline: { name: 'bare loop reading the same cgroup files (readFileSync)', value: round(barePass * 100, 3), unit: '% of one core at 1 s' },
        goal: '≤ 2 % of one core',
        goal_met: pct <= 2,
        meta: { units: UNITS, passes: PASSES, cgroup: layout.version, files_per_pass: files.length, sink: sink > 0, note: 'storage walk excluded (no unit roots); link counters absent (no veths)' },
      },
    ];
  } finally {
    for (const d of dirs.reverse()) rmdirSync(d);
    for (const c of layout.version === 'v2' ? [undefined] : (['cpu', 'cpuacct', 'memory', 'pids'] as const)) {
      try {
        rmdirSync(join(c === undefined ? cgroups.dir('x') : cgroups.dir('x', c), '..'));
      } catch {
        // the parent may hold other cgroups
      }
    }
  }
}

export default async function meteringBench(): Promise<BenchResult[]> {
  return [...(await ingestBench()), ...(await samplingBench())];
}
