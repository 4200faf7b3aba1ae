/**
 * External metering (DESIGN §7, OBJ-ARP-03): every interval the agent reads
 * each running unit's usage from the host side (the adapter's `usage()`:
 * cgroup / rctl counters, the host end of its link, its root on disk) and
 * publishes them as ONE machine-sealed ResourceMeteringBatchV1 on
 * `evt.<host holon>.metering`.
 *
 * Counters become monotonic totals here: the kernel's counters restart when
 * a cgroup, jail or link is re-made, and the agent itself restarts. The
 * meter keeps, per unit, the last raw reading and the total it stood for, in
 * `meter.json` (written before the batch is published). After a crash the
 * next reading continues from the saved pair, so the totals neither jump back
 * nor count a stretch twice; a raw value below the saved one is a reset and
 * counts from zero. The cell keeps the highest total it has seen, so a lost
 * or repeated batch changes nothing.
 */
import type { Logger } from 'pino';
import type { Clock } from '../bus-schemas/clock.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { Signer } from '../bus-schemas/keys.js';
import { LogBudget } from '../bus-schemas/log-budget.js';
import { NOOP_METRICS, type MetricsPort } from '../bus-schemas/metrics-port.js';
import { evtSubject } from '../bus-schemas/subjects.js';
import type { IsolationPort, UnitUsage } from '../bus-schemas/units/port.js';
import { MAX_BATCH_UNITS, ResourceMeteringBatchV1, type UnitMeterSampleV1 } from '../bus-schemas/v1/metering-batch.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import type { AgentBus } from './bus-port.js';
import type { KeyStore } from './key-store.js';

export const METER_FILE = 'meter.json';
export const DEFAULT_METER_INTERVAL_MS = 1000;

/** The counters that only grow; the rest of UnitUsage are gauges. */
const COUNTERS = ['cpuUsageUsec', 'gpuMs', 'egressBytes', 'ingressBytes', 'oomKills'] as const;
type Counter = (typeof COUNTERS)[number];
type Counters = Record<Counter, number>;

interface UnitMeterState {
  holon_id: HolonIdV1;
  /** the adapter's last reading of each counter */
  raw: Counters;
  /** the monotonic total that reading stood for */
  total: Counters;
  peak: number;
}

export interface MeterState {
  /** the next batch's sequence number */
  sequence: number;
  units: Record<string, UnitMeterState>;
}

const zeroCounters = (): Counters => ({ cpuUsageUsec: 0, gpuMs: 0, egressBytes: 0, ingressBytes: 0, oomKills: 0 });

/**
 * Advance one unit's totals by a new reading. Pure. A counter that went down
 * was reset (its cgroup, jail or link was re-made): what it reads now was
 * all used since the reset.
 */
export function advance(prev: UnitMeterState | undefined, holonId: HolonIdV1, usage: UnitUsage): UnitMeterState {
  const raw = zeroCounters();
  const total = zeroCounters();
  for (const c of COUNTERS) {
    const now = Math.max(0, Math.floor(usage[c]));
    raw[c] = now;
    if (prev === undefined) total[c] = now;
    else total[c] = prev.total[c] + (now >= prev.raw[c] ? now - prev.raw[c] : now);
  }
  return { holon_id: holonId, raw, total, peak: Math.max(prev?.peak ?? 0, usage.memoryPeakBytes, usage.memoryBytes) };
}

/** A unit the meter samples: what the agent's unit states say runs. */
export interface MeteredUnit {
  unitName: string;
  holonId: HolonIdV1;
}

export interface MeterDeps {
  isolation: Pick<IsolationPort, 'usage'>;
  /** the units to sample now (the agent's unit states in step DONE) */
  units(): Promise<MeteredUnit[]>;
  store: Pick<KeyStore, 'read' | 'replace'>;
  bus: Pick<AgentBus, 'publish'>;
  signer: Signer;
  machineId: PublicKeyIdV1;
  hostHolon: HolonIdV1;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  /** per-unit usage gauges and the metering lag (docs/metrics.md) */
  metrics?: MetricsPort;
}

export class Meter {
  readonly subject: string;
  readonly intervalMs: number;
  readonly #d: MeterDeps;
  readonly #logs = new LogBudget();
  #state: MeterState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** batches published by this process */
  published = 0;

  constructor(deps: MeterDeps) {
    this.#d = deps;
    this.intervalMs = deps.intervalMs ?? DEFAULT_METER_INTERVAL_MS;
    this.subject = evtSubject(deps.hostHolon, 'metering');
  }

  async #load(): Promise<MeterState> {
    if (this.#state !== undefined) return this.#state;
    const f = await this.#d.store.read(METER_FILE);
    let state: MeterState = { sequence: 0, units: {} };
    if (f !== undefined) {
      try {
        const parsed = JSON.parse(new TextDecoder().decode(f.bytes)) as MeterState;
        if (Number.isSafeInteger(parsed.sequence) && typeof parsed.units === 'object' && parsed.units !== null) state = parsed;
      } catch {
        // A torn file cannot happen (replace is atomic); a hand-edited one restarts the counters' baseline.
        this.#d.log.warn({ file: METER_FILE }, 'metering state unreadable; starting from the current readings');
      }
    }
    this.#state = state;
    return state;
  }

  /**
   * Sample every unit once and publish the batch(es). Returns the samples. The state with the new totals is
   * saved before anything is published, so a crash in between repeats the same totals, never skips them.
   */
  async sampleOnce(): Promise<UnitMeterSampleV1[]> {
    const { isolation, log, clock } = this.#d;
    const state = await this.#load();
    const units = await this.#d.units();
    const next: Record<string, UnitMeterState> = {};
    const samples: UnitMeterSampleV1[] = [];
    for (const u of units) {
      let usage: UnitUsage;
      try {
        usage = await isolation.usage(u.unitName);
      } catch (e) {
        const r = this.#logs.note('usage', clock.now());
        if (r.log) log.warn({ unit: u.unitName, err: (e as Error).message }, 'metering: unit not sampled');
        const kept = state.units[u.unitName];
        if (kept !== undefined) next[u.unitName] = kept;
        continue;
      }
      const prev = state.units[u.unitName];
      const s = advance(prev?.holon_id === u.holonId ? prev : undefined, u.holonId, usage);
      next[u.unitName] = s;
      samples.push({
        holon_id: u.holonId,
        unit_name: u.unitName,
        cpu_usec: s.total.cpuUsageUsec,
        gpu_ms: s.total.gpuMs,
        egress_bytes: s.total.egressBytes,
        ingress_bytes: s.total.ingressBytes,
        oom_kills: s.total.oomKills,
        storage_bytes: Math.max(0, Math.floor(usage.storageBytes)),
        memory_bytes: Math.max(0, Math.floor(usage.memoryBytes)),
        memory_peak_bytes: s.peak,
        pids: Math.max(0, Math.floor(usage.pids)),
        ...(usage.gpuMs === 0 && usage.gpuNote !== undefined ? { gpu_note: usage.gpuNote.slice(0, 120) } : {}),
      });
    }
    const metrics = this.#d.metrics ?? NOOP_METRICS;
    for (const s of samples) metrics.unitUsage(s.holon_id, { cpu_seconds: s.cpu_usec / 1e6, memory_bytes: s.memory_bytes, egress_bytes: s.egress_bytes, storage_bytes: s.storage_bytes });
    for (const [unit, gone] of Object.entries(state.units)) if (next[unit] === undefined) metrics.unitGone(gone.holon_id);
    const batches = Math.ceil(samples.length / MAX_BATCH_UNITS);
    const first = state.sequence;
    this.#state = { sequence: first + batches, units: next };
    await this.#d.store.replace(METER_FILE, new TextEncoder().encode(JSON.stringify(this.#state)), 0o600);
    const at = timeAt(clock.now());
    for (let i = 0; i < batches; i++) {
      const batch = ResourceMeteringBatchV1.seal(
        { machine_id: this.#d.machineId, sequence: first + i, sampled_at: at, interval_ms: this.intervalMs, samples: samples.slice(i * MAX_BATCH_UNITS, (i + 1) * MAX_BATCH_UNITS) },
        this.#d.signer,
      );
      try {
        this.#d.bus.publish(this.subject, ResourceMeteringBatchV1.encode(batch));
        this.published += 1;
      } catch (e) {
        // The next batch carries the totals again: nothing is lost but the moment.
        const r = this.#logs.note('publish', clock.now());
        if (r.log) log.warn({ err: (e as Error).message, subject: this.subject }, 'metering batch not published');
      }
    }
    return samples;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const tick = (): void => {
      this.#running = this.sampleOnce()
        .then(() => undefined)
        .catch((e: unknown) => {
          const r = this.#logs.note('tick', this.#d.clock.now());
          if (r.log) this.#d.log.error({ err: (e as Error).message }, 'metering tick failed');
        })
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.#timer = setTimeout(tick, 0);
    this.#d.log.info({ subject: this.subject, interval_ms: this.intervalMs }, 'metering started');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
