/**
 * The cell's side of metering (DESIGN §7): it takes the agents'
 * ResourceMeteringBatchV1 from `evt.<host holon>.metering`, keeps each
 * holon's usage account (usage-account.ts), and when a budget runs out hands
 * the holon to the provisioning service, which applies its exhaustion policy
 * as a ledger entry (BUDGET_EXHAUSTED).
 *
 * Accounts live in memory: a sample carries totals since the unit was
 * created, so after a restart the next batch restores every account — no
 * usage is lost or counted twice by a crash of the cell or the agent. What
 * must survive (an exhaustion and its action) is in the ledger.
 *
 * Every batch is checked before it counts: the seal of the machine it names,
 * a machine this cell enrolled, the subject of that machine, and for each
 * sample a holon that runs on that machine in that unit. A sample that fails
 * is dropped and counted; the batch's other samples still count.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../bus-schemas/clock.js';
import { HolonError } from '../../bus-schemas/errors.js';
import { convertId, type HolonIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { LogBudget } from '../../bus-schemas/log-budget.js';
import { NOOP_METRICS, type MetricsPort } from '../../bus-schemas/metrics-port.js';
import { parseEvtSubject } from '../../bus-schemas/subjects.js';
import { ResourceMeteringBatchV1 } from '../../bus-schemas/v1/metering-batch.js';
import type { ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import type { ProvisionRecord } from '../provisioning/provision-store.js';
import { consumedBudget, exhausted, newAccount, observe, standing, type Exhausted, type Prices, type UsageAccount } from './usage-account.js';

export interface MeteringDeps {
  /** the provisioning projection, read-only */
  holons: { byHolon(holonId: HolonIdV1): ProvisionRecord | undefined };
  machines: { get(id: PublicKeyIdV1): { state: string } | undefined };
  /** the provisioning service's exhaustion step */
  onExhausted(
    holonId: HolonIdV1,
    ex: { exhausted: Exhausted[]; consumed: ResourceBudgetV1; overshoot: ResourceBudgetV1; machine_id: PublicKeyIdV1; sequence: number; sampled_at: number; interval_ms: number },
  ): Promise<unknown>;
  clock: Clock;
  log: Logger;
  metrics?: MetricsPort;
  /** the price row of a machine (the principal's policy; prices.ts); absent: use costs nothing */
  pricesOf?: (machineId: PublicKeyIdV1) => Prices | undefined;
}

export interface BatchOutcome {
  /** the machine that sealed the batch (verified) */
  machineId: PublicKeyIdV1;
  accepted: number;
  dropped: { holon: string; reason: string }[];
}

export class MeteringError extends HolonError {
  static readonly CODE = 'HOLON_E_METERING';
  constructor(message: string) {
    super(MeteringError.CODE, `metering: ${message}`);
  }
}

export class MeteringService {
  readonly #d: MeteringDeps;
  readonly #accounts = new Map<string, UsageAccount>();
  readonly #handling = new Set<string>();
  readonly #logs = new LogBudget();
  readonly #metrics: MetricsPort;
  /** batches taken and refused, samples dropped (for tests, logs and metrics) */
  readonly counts = { batches: 0, refused: 0, dropped: 0 };

  constructor(deps: MeteringDeps) {
    this.#d = deps;
    this.#metrics = deps.metrics ?? NOOP_METRICS;
  }

  /** The account of `holonId`, if the cell has seen a sample of it since it started. */
  account(holonId: string): UsageAccount | undefined {
    return this.#accounts.get(holonId);
  }

  /** A batch as it came off the bus; refusals are logged within a budget, never thrown. */
  ingest(subject: string, bytes: Uint8Array): BatchOutcome | undefined {
    try {
      return this.take(subject, ResourceMeteringBatchV1.decode(bytes));
    } catch (e) {
      this.counts.refused += 1;
      const r = this.#logs.note(e instanceof HolonError ? e.code : 'internal', this.#d.clock.now());
      if (r.log) this.#d.log.warn({ subject, err: e instanceof HolonError ? e.toJSON() : String(e) }, 'metering batch refused');
      return undefined;
    }
  }

  /** A decoded batch: verify it, count its samples, act on what ran out. */
  take(subject: string, batch: ResourceMeteringBatchV1): BatchOutcome {
    ResourceMeteringBatchV1.verify(batch, batch.machine_id);
    const host = convertId(batch.machine_id, 'holon');
    if (parseEvtSubject(subject).holon !== host) throw new MeteringError(`batch of ${batch.machine_id} on ${subject}, not on its own subject`);
    if (this.#d.machines.get(batch.machine_id)?.state !== 'ENROLLED') throw new MeteringError(`${batch.machine_id} is not a machine enrolled in this cell`);
    const now = this.#d.clock.now();
    this.#metrics.meteringLag(Math.max(0, now - batch.sampled_at.unix_ms) / 1000);
    const out: BatchOutcome = { machineId: batch.machine_id, accepted: 0, dropped: [] };
    for (const s of batch.samples) {
      const rec = this.#d.holons.byHolon(s.holon_id);
      const why =
        rec === undefined
          ? 'no such holon in this cell'
          : rec.machineId !== batch.machine_id
            ? 'runs on another machine'
            : rec.unitName !== s.unit_name
              ? `its unit is ${rec.unitName ?? 'none'}`
              : rec.state !== 'RUNNING' && rec.state !== 'TEARDOWN'
                ? `it is ${rec.state}`
                : undefined;
      if (why !== undefined || rec === undefined) {
        out.dropped.push({ holon: s.holon_id, reason: why ?? 'unknown' });
        continue;
      }
      const acc = observe(this.#accounts.get(s.holon_id) ?? newAccount(s.holon_id, batch.machine_id), s, batch.sampled_at.unix_ms, batch.sequence, batch.interval_ms, this.#d.pricesOf?.(batch.machine_id));
      this.#accounts.set(s.holon_id, acc);
      out.accepted += 1;
      this.#metrics.unitUsage(s.holon_id, { cpu_seconds: acc.consumed.cpu_usec / 1e6, memory_bytes: s.memory_bytes, egress_bytes: acc.consumed.egress_bytes, storage_bytes: acc.consumed.storage_bytes });
      if (rec.state === 'RUNNING' && (rec.exhaustion ?? null) === null) this.#check(rec, acc, now);
    }
    this.counts.batches += 1;
    this.counts.dropped += out.dropped.length;
    if (out.dropped.length > 0) {
      const r = this.#logs.note('dropped', now);
      if (r.log) this.#d.log.warn({ machine_id: batch.machine_id, sequence: batch.sequence, dropped: out.dropped.slice(0, 5) }, 'metering samples dropped');
    }
    return out;
  }

  /** Expiry needs no sample: the cell checks `valid_until` of every account it holds on its own clock. */
  sweep(): void {
    const now = this.#d.clock.now();
    for (const acc of this.#accounts.values()) {
      const rec = this.#d.holons.byHolon(acc.holonId as HolonIdV1);
      if (rec === undefined || rec.state === 'DESTROYED') {
        this.#accounts.delete(acc.holonId);
        this.#metrics.unitGone(acc.holonId);
        continue;
      }
      if (rec.state === 'RUNNING' && (rec.exhaustion ?? null) === null) this.#check(rec, acc, now);
    }
  }

  #check(rec: ProvisionRecord, acc: UsageAccount, now: number): void {
    const out = exhausted(acc.consumed, rec.budget, now);
    for (const s of standing(acc.consumed, rec.budget)) this.#metrics.budgetRemaining(acc.holonId, s.quantity, s.remaining);
    if (out.length === 0 || this.#handling.has(acc.holonId)) return;
    this.#handling.add(acc.holonId);
    const overshoot = { ...rec.budget };
    for (const s of standing(acc.consumed, rec.budget)) overshoot[s.quantity] = s.overshoot;
    this.#d
      .onExhausted(acc.holonId as HolonIdV1, {
        exhausted: out,
        consumed: consumedBudget(acc.consumed, rec.budget),
        overshoot,
        machine_id: acc.machineId as PublicKeyIdV1,
        sequence: acc.sequence,
        sampled_at: acc.sampledAt,
        interval_ms: acc.intervalMs,
      })
      .catch((e: unknown) => this.#d.log.error({ holon_id: acc.holonId, err: e instanceof HolonError ? e.toJSON() : String(e) }, 'exhaustion not applied; the next sample tries again'))
      .finally(() => this.#handling.delete(acc.holonId));
  }
}
