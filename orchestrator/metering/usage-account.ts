/**
 * A holon's usage against its budget, at the parent's enforcement point
 * (DESIGN §7, OBJ-ARP-03). Pure: the metering service feeds it the agents'
 * samples; tests feed it random streams.
 *
 * Samples carry monotonic totals (bus-schemas/v1/metering-batch.ts), so the
 * account keeps the highest total seen per counter: a lost batch is made up
 * by the next, a duplicated or reordered one changes nothing. Storage is a
 * gauge: the budget caps what the unit holds now.
 *
 * Budget units: cpu in seconds (compared in microseconds), gpu in seconds
 * (compared in milliseconds), bytes for egress and storage, US cents for
 * cost (compared in millionths of a cent). Cost is what the use so far costs
 * at the price row of the holon's machine (the principal's policy,
 * prices.ts): cpu, gpu and egress from their totals, storage as GB-months —
 * the storage held, integrated over the time between samples. Without a
 * price row, use costs nothing.
 */
import { type BudgetQuantity, type ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import type { UnitMeterSampleV1 } from '../../bus-schemas/v1/metering-batch.js';
import type { HolonUsageV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { Exhaustion } from '../provisioning/provision-store.js';

/** The budget quantities metering enforces, and how a sample's figure maps onto each. */
export const METERED: readonly { quantity: BudgetQuantity; figure: keyof UsageFigures; scale: number }[] = [
  { quantity: 'compute_cpu_seconds', figure: 'cpu_usec', scale: 1_000_000 },
  { quantity: 'compute_gpu_seconds', figure: 'gpu_ms', scale: 1000 },
  { quantity: 'network_egress_bytes', figure: 'egress_bytes', scale: 1 },
  { quantity: 'storage_bytes', figure: 'storage_bytes', scale: 1 },
  { quantity: 'cost_usd_cents', figure: 'cost_microcents', scale: 1_000_000 },
];

/** What a holon has used, in the units the agent measures. */
export interface UsageFigures {
  cpu_usec: number;
  gpu_ms: number;
  egress_bytes: number;
  ingress_bytes: number;
  /** what the unit holds now (a gauge) */
  storage_bytes: number;
  memory_peak_bytes: number;
  oom_kills: number;
  /** storage held × time, in byte-milliseconds (what GB-month prices apply to); in memory only, so a float */
  storage_byte_ms: number;
  /** what the use so far costs at the machine's prices, in millionths of a US cent */
  cost_microcents: number;
}

export const ZERO_FIGURES: Readonly<UsageFigures> = Object.freeze({ cpu_usec: 0, gpu_ms: 0, egress_bytes: 0, ingress_bytes: 0, storage_bytes: 0, memory_peak_bytes: 0, oom_kills: 0, storage_byte_ms: 0, cost_microcents: 0 });

/** Prices in millionths of a cent (PriceRowV1's fields). */
export interface Prices {
  cpu_second_microcents: number;
  gpu_second_microcents: number;
  storage_gb_month_microcents: number;
  egress_gb_microcents: number;
}

const GB = 1e9;
/** A month of 30 days, in ms: the GB-month of storage prices. */
const MONTH_MS = 30 * 86_400_000;

/** What `f` costs at `prices`, in millionths of a cent, rounded down (a fraction of a millionth is not charged). */
export function costMicrocents(f: Pick<UsageFigures, 'cpu_usec' | 'gpu_ms' | 'egress_bytes' | 'storage_byte_ms'>, prices: Prices | undefined): number {
  if (prices === undefined) return 0;
  const micro =
    (f.cpu_usec / 1e6) * prices.cpu_second_microcents +
    (f.gpu_ms / 1e3) * prices.gpu_second_microcents +
    (f.egress_bytes / GB) * prices.egress_gb_microcents +
    (f.storage_byte_ms / (GB * MONTH_MS)) * prices.storage_gb_month_microcents;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.floor(micro));
}

export interface UsageAccount {
  holonId: string;
  machineId: string;
  consumed: UsageFigures;
  /** the sample time and batch sequence of the latest figures (0/−1: never sampled) */
  sampledAt: number;
  sequence: number;
  /** how long the agent's sampling interval is: the overshoot a budget can suffer */
  intervalMs: number;
}

export function newAccount(holonId: string, machineId: string): UsageAccount {
  return { holonId, machineId, consumed: { ...ZERO_FIGURES }, sampledAt: 0, sequence: -1, intervalMs: 0 };
}

/**
 * The account after one sample. Counters take the highest total seen; the storage gauge follows the newest
 * sample only (an older batch arriving late does not roll it back). Pure.
 */
export function observe(acc: UsageAccount, s: UnitMeterSampleV1, sampledAt: number, sequence: number, intervalMs: number, prices?: Prices): UsageAccount {
  const newer = sampledAt >= acc.sampledAt;
  const c = acc.consumed;
  // Storage is held over time: the bytes of the previous sample, for the time until this one (a repeat adds 0).
  const held = newer && acc.sequence >= 0 ? c.storage_bytes * (sampledAt - acc.sampledAt) : 0;
  const next = {
    cpu_usec: Math.max(c.cpu_usec, s.cpu_usec),
    gpu_ms: Math.max(c.gpu_ms, s.gpu_ms),
    egress_bytes: Math.max(c.egress_bytes, s.egress_bytes),
    ingress_bytes: Math.max(c.ingress_bytes, s.ingress_bytes),
    storage_bytes: newer ? s.storage_bytes : c.storage_bytes,
    memory_peak_bytes: Math.max(c.memory_peak_bytes, s.memory_peak_bytes),
    oom_kills: Math.max(c.oom_kills, s.oom_kills),
    storage_byte_ms: c.storage_byte_ms + held,
  };
  return {
    ...acc,
    consumed: { ...next, cost_microcents: Math.max(c.cost_microcents, costMicrocents(next, prices)) },
    sampledAt: newer ? sampledAt : acc.sampledAt,
    sequence: newer ? sequence : acc.sequence,
    intervalMs: newer ? intervalMs : acc.intervalMs,
  };
}

/** What can run out: a metered quantity, or the budget's time. */
export type Exhausted = BudgetQuantity | 'valid_until';

export interface QuantityStanding {
  quantity: BudgetQuantity;
  /** in the budget's unit (seconds, bytes), rounded up: a started second counts */
  consumed: number;
  limit: number;
  /** limit − consumed, never below 0 */
  remaining: number;
  /** consumed − limit where it went past, else 0: charged to the holon and reported */
  overshoot: number;
}

/** Where each metered quantity stands against `budget`. */
export function standing(consumed: UsageFigures, budget: ResourceBudgetV1): QuantityStanding[] {
  return METERED.map(({ quantity, figure, scale }) => {
    const used = Math.ceil(consumed[figure] / scale);
    const limit = budget[quantity];
    return { quantity, consumed: used, limit, remaining: Math.max(0, limit - used), overshoot: Math.max(0, used - limit) };
  });
}

/**
 * What has run out: a quantity whose use reached its limit (a 0 limit is exhausted by any use), or the budget's
 * `valid_until`. Exhaustion at equality: remaining 0 means nothing more may be used; nothing used exhausts nothing.
 */
export function exhausted(consumed: UsageFigures, budget: ResourceBudgetV1, now: number): Exhausted[] {
  const out: Exhausted[] = [];
  for (const { quantity, figure, scale } of METERED) {
    const limitUnits = budget[quantity] * scale;
    if (consumed[figure] > 0 && consumed[figure] >= limitUnits) out.push(quantity);
  }
  if (now >= budget.valid_until.unix_ms) out.push('valid_until');
  return out;
}

/** The budget `budget` with `consumed` taken out (remaining per quantity, clamped at 0), as a ResourceBudgetV1. */
export function remainingBudget(consumed: UsageFigures, budget: ResourceBudgetV1): ResourceBudgetV1 {
  const out = { ...budget };
  for (const s of standing(consumed, budget)) out[s.quantity] = s.remaining;
  return out;
}

/** `consumed` in the budget's units, as a ResourceBudgetV1 (the RFC's ResourceMeteringEventV1.consumed). */
export function consumedBudget(consumed: UsageFigures, budget: ResourceBudgetV1): ResourceBudgetV1 {
  const out = { ...budget };
  for (const s of standing(consumed, budget)) out[s.quantity] = s.consumed;
  return out;
}

/**
 * What `holonctl usage` and `show` print for a holon: its account's figures against its budget, or — with
 * no sample since the cell started — what the ledger recorded at exhaustion, marked as not metered.
 */
export function holonUsage(budget: ResourceBudgetV1, acc: UsageAccount | undefined, exhaustion: Exhaustion | null | undefined): HolonUsageV1 {
  const figures = acc?.consumed ?? ZERO_FIGURES;
  const over = { ...budget };
  for (const s of standing(figures, budget)) over[s.quantity] = s.overshoot;
  const known = acc !== undefined && acc.sequence >= 0;
  return {
    metered: known,
    consumed: known || exhaustion == null ? consumedBudget(figures, budget) : exhaustion.consumed,
    remaining: known || exhaustion == null ? remainingBudget(figures, budget) : { ...budget, ...Object.fromEntries(METERED.map((m) => [m.quantity, Math.max(0, budget[m.quantity] - exhaustion.consumed[m.quantity])])) },
    overshoot: known || exhaustion == null ? over : exhaustion.overshoot,
    cpu_usec: figures.cpu_usec,
    ingress_bytes: figures.ingress_bytes,
    memory_peak_bytes: figures.memory_peak_bytes,
    ...(known ? { sampled_at: { unix_ms: acc.sampledAt, source: 'SYSTEM' as const }, batch_sequence: acc.sequence, interval_ms: acc.intervalMs } : {}),
    ...(exhaustion != null ? { exhausted: exhaustion.exhausted, exhaustion_policy: exhaustion.policy } : {}),
  };
}
